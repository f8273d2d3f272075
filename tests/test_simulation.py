"""Specifications of the teacher–student SGD simulation (`sgd_dyson.models.teacher_student`).

Model (Aarts, Lucini & Park 2025): ``W ← W − α [(W − W*) Ĉ + additive]`` with ``Ĉ`` the mini-batch
second moment of ``x ~ N(0, I)``. Writing ``D = W − W*``, the stationary second
moments of ``D`` follow from the Wishart fourth moments
``E[Ĉ_ij Ĉ_kl] = δ_ij δ_kl + (δ_ik δ_jl + δ_il δ_jk)/|B|`` exactly (the Gaussian
fourth moments); the statistical tests compare with those exact values, or with
the continuum result.

Every statistical tolerance is 4 standard errors (two-sided false-failure
probability ~6e-5), with the standard error estimated from replica-level means:
replicas are independent, snapshots of one replica need not be.
"""

import logging
import re
import warnings
from dataclasses import replace

import numpy as np
import pytest
import yaml
from model_runs import TEACHER_STUDENT as BASE
from model_runs import simulated
from scipy import stats
from workflow_runs import TINY_CONFIG

from sgd_dyson import simulation, theory
from sgd_dyson.config import ConfigError, validate_config
from sgd_dyson.models import teacher_student
from sgd_dyson.models.teacher_student import (
    TeacherStudentRun,
    _BatchSource,
    initial_weights,
    simulate,
)
from sgd_dyson.sampling import haar_orthogonal
from sgd_dyson.seeding import REPLICA_BLOCK
from sgd_dyson.simulation import snapshot_steps
from sgd_dyson.spectra import singular_values

from tolerances import FOUR_SIGMA_TAIL, replica_mean_and_error

TEACHER = BASE.teacher
W_STAR = np.diag(TEACHER)
N = len(TEACHER)


def settings(**changes) -> TeacherStudentRun:
    return replace(BASE, **changes)


def stationary_deviation(snapshots, burn_in: int) -> np.ndarray:
    """``D = W − W*`` at the snapshots at or after ``burn_in``: ``(snapshots, replicas, N, N)``."""
    return snapshots.weights[snapshots.steps >= burn_in] - W_STAR


def injected_noise_moments(alpha: float, batch: int, noise: float) -> tuple[float, float, float]:
    """Exact stationary ``E[D_ij D_kl] = c1 δ_ik δ_jl + c2 δ_il δ_jk + c3 δ_ij δ_kl`` (GOE noise).

    The update ``D ← D(1 − αĈ) − αĀ`` with ``Ā`` GOE of scale ε/√|B|
    (``E[Ā_ij Ā_kl] = (ε²/|B|)(δ_ik δ_jl + δ_il δ_jk)``) and the Wishart fourth moments
    give, for ``M_ijkl = E[D_ij D_kl]`` at stationarity,
    ``(2 − α) M_ijkl − (α/|B|)(δ_jl Σ_m M_imkm + M_ilkj) = α E[Ā_ij Ā_kl]``;
    matching the three invariant tensors:
    ``(2 − α) c3 = (α/|B|) c2``, ``(2 − α) c2 − (α/|B|) c3 = αε²/|B|`` and
    ``[(2 − α) − (α/|B|)(N + 1)] c1 = αε²/|B| + (α/|B|)(c2 + c3)``.
    Dropping the multiplicative-noise terms (those with α/|B|) leaves c1 = c2 =
    αε²/(|B|(2 − α)), c3 = 0: the discrete-time GOE of width σ² = c1 + c2.
    """
    ratio = alpha / batch
    c2 = alpha * noise**2 / batch / ((2 - alpha) - ratio**2 / (2 - alpha))
    c3 = ratio * c2 / (2 - alpha)
    c1 = (alpha * noise**2 / batch + ratio * (c2 + c3)) / ((2 - alpha) - ratio * (N + 1))
    return c1, c2, c3


def label_noise_variance(alpha: float, batch: int, noise: float) -> float:
    """Exact stationary ``E[D_ij²] = αε²/(|B|(2 − α) − α(d + 1))``, ``d = N``."""
    return alpha * noise**2 / (batch * (2 - alpha) - alpha * (N + 1))


def stationary_run(dataset: str, noise_kind: str) -> TeacherStudentRun:
    """α = 0.5 runs for the exact-covariance tests (|B| = 8 injected, 4 label noise, ε = 0.1).

    Online: snapshots every 50 steps ≫ the relaxation time 1/α = 2, used after a
    burn-in of 100 steps. Per-replica: a 100-batch dataset replayed twice;
    the final weights forget the previous epoch by (1 − α)^100 ~ 1e-30, so they are one
    stationary sample per replica (only the last snapshot is used).
    """
    online = dataset == "online"
    return settings(
        dataset=dataset,
        noise_kind=noise_kind,
        learning_rate=0.5,
        batch_size=8 if noise_kind == "injected" else 4,
        noise=0.1,
        replicas=2000,
        batches_per_epoch=100,
        steps=1000 if online else 200,
        snapshot_every=50 if online else 200,
    )


def stationary_burn_in(run: TeacherStudentRun) -> int:
    return 100 if run.dataset == "online" else run.steps


def spacing(weights: np.ndarray) -> np.ndarray:
    """Spacing of the two singular values of each ``2×2`` weight matrix."""
    return np.diff(singular_values(weights), axis=-1)[..., 0]


# --- Reproducibility ----------------------------------------------------------------

PROTOCOLS = [
    pytest.param({"dataset": "online"}, id="online-injected"),
    pytest.param({"dataset": "per_replica", "noise_kind": "label"}, id="per_replica-label"),
    pytest.param({"dataset": "paper", "dataset_draws": 3}, id="paper-injected"),
]


def assert_same_snapshots(first, second) -> None:
    np.testing.assert_array_equal(first.steps, second.steps)
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.replica, second.replica)
    np.testing.assert_array_equal(first.draw, second.draw)
    assert first.diverged_replicas == second.diverged_replicas
    assert first.first_divergence_step == second.first_divergence_step


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_simulate_is_bit_identical_for_identical_settings(protocol):
    run = settings(**protocol, steps=120, snapshot_every=40)
    assert_same_snapshots(simulate(run), simulate(run))


ROUNDING = 1e-12
"""Largest difference between two groupings of the same sums of ≤ 10⁴ terms of order 1
in double precision (measured: 2e-15 on weights of order 2)."""


def assert_same_up_to_rounding(first, second) -> None:
    np.testing.assert_allclose(first.weights, second.weights, rtol=0, atol=ROUNDING)
    assert_same_snapshots(replace(first, weights=None), replace(second, weights=None))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_simulate_does_not_depend_on_how_steps_are_chunked(protocol, monkeypatch):
    # Chunks of 3 steps (epochs of 50 do not divide into them) against the default.
    run = settings(**protocol, steps=120, snapshot_every=40)
    reference = simulate(run)
    moment_dim = N * (2 if run.noise_kind == "label" else 1)
    monkeypatch.setattr(teacher_student, "CHUNK_ELEMENTS", 3 * run.replicas * moment_dim**2)
    if run.dataset == "paper":
        # Each chunk is one composed map: the chunking regroups its sums. The chunks
        # are fixed by the settings, so the numbers still do not depend on the run.
        assert_same_up_to_rounding(simulate(run), reference)
    else:
        assert_same_snapshots(simulate(run), reference)


@pytest.mark.parametrize("hidden", [None, (1.5, 0.5)])
def test_composed_chunks_of_a_shared_dataset_are_the_steps_up_to_rounding(hidden, monkeypatch):
    run = settings(dataset="paper", dataset_draws=3, hidden=hidden, steps=120, snapshot_every=40)
    composed = simulate(run)
    monkeypatch.setattr(teacher_student, "COMPOSED_MAX_SIZE", 0)  # step by step
    assert_same_up_to_rounding(composed, simulate(run))


EXPANDING_DRAWS = settings(
    dataset="paper",
    dataset_draws=8,
    replicas=32,
    batches_per_epoch=4,
    batch_size=1,
    learning_rate=1.0,
    steps=400,
    snapshot_every=100,
    divergence_threshold=1e3,
)
"""Some of its draws' epoch maps expand, so their replicas diverge (the seed gives both kinds)."""


def test_composed_chunks_find_the_same_diverged_replicas(monkeypatch):
    run = EXPANDING_DRAWS
    composed = simulate(run)
    assert 0 < composed.diverged_replicas < run.replicas
    monkeypatch.setattr(teacher_student, "COMPOSED_MAX_SIZE", 0)
    assert_same_up_to_rounding(composed, simulate(run))


def test_a_running_simulation_logs_steps_done_rate_and_time_left(monkeypatch, caplog):
    run = settings(dataset="online", steps=120, snapshot_every=40)
    monkeypatch.setattr(simulation, "PROGRESS_SECONDS", 0.0)  # a line at every chunk's end
    monkeypatch.setattr(teacher_student, "CHUNK_ELEMENTS", 30 * run.replicas * N**2)
    with caplog.at_level(logging.INFO, logger="sgd_dyson.simulation"):
        simulate(run)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    # Chunks end every 30 steps and at the snapshots.
    steps = [30, 40, 60, 80, 90, 120]
    assert [line.split(",")[0] for line in lines] == [f"step {k}/120" for k in steps]
    assert all(re.fullmatch(r"step \d+/120, \d+ steps/s, about \d+ s left", line) for line in lines)


def test_simulate_differs_between_sweep_points():
    first = simulate(settings(steps=50))
    second = simulate(settings(steps=50, point_seed=BASE.point_seed + 1))
    assert not np.array_equal(first.weights, second.weights)


@pytest.mark.parametrize(
    ("dataset", "draws"),
    [("online", 1), ("per_replica", 1), ("paper", 1), ("paper", 2)],
    ids=["online", "per_replica", "paper", "paper-2-draws"],
)
def test_adding_replicas_beyond_a_block_leaves_each_draws_first_block_unchanged(dataset, draws):
    few = simulate(
        settings(dataset=dataset, dataset_draws=draws, replicas=draws * (REPLICA_BLOCK + 20))
    )
    many = simulate(
        settings(dataset=dataset, dataset_draws=draws, replicas=draws * 3 * REPLICA_BLOCK)
    )
    for draw in range(draws):
        np.testing.assert_array_equal(
            few.weights[:, few.draw == draw][:, :REPLICA_BLOCK],
            many.weights[:, many.draw == draw][:, :REPLICA_BLOCK],
        )


def test_initial_weights_of_the_first_block_do_not_depend_on_the_replica_count():
    few = initial_weights(settings(replicas=REPLICA_BLOCK + 1))
    many = initial_weights(settings(replicas=2 * REPLICA_BLOCK))
    np.testing.assert_array_equal(few[:REPLICA_BLOCK], many[:REPLICA_BLOCK])


def test_initial_weights_have_independent_entries_of_variance_init_scale_squared():
    run = settings(replicas=5000, init_scale=0.3)
    weights = initial_weights(run)
    assert weights.shape == (5000, N, N)
    # Mean 0, so var = mean(w²); standard error var·sqrt(2/n) for n normal entries.
    # 4σ: false-failure probability ~6e-5.
    variance = run.init_scale**2
    assert abs(np.mean(weights**2) - variance) < 4 * variance * np.sqrt(2 / weights.size)


def test_snapshots_are_every_snapshot_every_steps_and_always_the_last():
    np.testing.assert_array_equal(snapshot_steps(200, 50), [50, 100, 150, 200])
    np.testing.assert_array_equal(snapshot_steps(210, 50), [50, 100, 150, 200, 210])
    np.testing.assert_array_equal(snapshot_steps(30, 50), [30])
    snapshots = simulate(settings(steps=130, snapshot_every=50))
    np.testing.assert_array_equal(snapshots.steps, [50, 100, 130])
    assert snapshots.weights.shape == (3, BASE.replicas, N, N)


# --- Finite datasets replay their batches every epoch --------------------------------


def epoch_map(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``M`` with ``after = before @ M`` per replica (noise-free SGD is linear in D)."""
    return np.linalg.solve(before, after)


def epoch_runs(**changes):
    """Noise-free runs with snapshots at the end of every epoch, and their initial ``D``."""
    epoch = 10
    run = settings(
        noise=0.0,
        batches_per_epoch=epoch,
        steps=3 * epoch,
        snapshot_every=epoch,
        batch_size=4,
        replicas=24,
        **changes,
    )
    return run, simulate(run), initial_weights(run) - W_STAR


@pytest.mark.parametrize("dataset", ["paper", "per_replica"])
def test_finite_dataset_replays_the_same_batches_every_epoch(dataset):
    # Without noise D ← D(1 − αĈ_t) is linear, so one epoch maps D to D M with M the
    # product of the epoch's (1 − αĈ_t). Replayed batches give the same M every epoch:
    # D_2E = D_E M with M = D_0⁻¹ D_E; a redrawn dataset would give D_2E = D_E M' ≠ D_E M.
    _, snapshots, start = epoch_runs(dataset=dataset, dataset_draws=2)
    first, second, third = snapshots.weights - W_STAR
    one_epoch = epoch_map(start, first)
    np.testing.assert_allclose(second, first @ one_epoch, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(third, second @ one_epoch, rtol=1e-10, atol=1e-13)


def test_online_dataset_draws_new_batches_every_epoch():
    # The same check as for finite datasets must fail for fresh samples at every step:
    # the epoch maps differ by O(α sqrt(epoch/|B|)) ~ 0.15, far above rounding.
    _, snapshots, start = epoch_runs(dataset="online")
    first, second, _ = snapshots.weights - W_STAR
    replay = first @ epoch_map(start, first)
    assert np.all(np.abs(second - replay).max(axis=(1, 2)) > 1e-6)


def test_paper_dataset_is_shared_by_the_replicas_of_a_draw_and_redrawn_between_draws():
    run, snapshots, start = epoch_runs(dataset="paper", dataset_draws=3)
    maps = epoch_map(start, snapshots.weights[0] - W_STAR)
    for draw in range(run.dataset_draws):
        in_draw = maps[snapshots.draw == draw]
        np.testing.assert_allclose(in_draw, np.broadcast_to(in_draw[0], in_draw.shape), rtol=1e-9)
    first_of_draw = [maps[snapshots.draw == draw][0] for draw in range(run.dataset_draws)]
    assert not np.allclose(first_of_draw[0], first_of_draw[1], rtol=1e-3)
    assert not np.allclose(first_of_draw[1], first_of_draw[2], rtol=1e-3)


def test_per_replica_datasets_differ_between_replicas():
    _, snapshots, start = epoch_runs(dataset="per_replica")
    maps = epoch_map(start, snapshots.weights[0] - W_STAR)
    assert not np.allclose(maps[0], maps[1], rtol=1e-3)


def test_paper_protocol_replays_each_replicas_injected_noise_every_epoch():
    # With the fixed per-sample a_b the epoch map is affine, D ← D M + c, with the same
    # M and c every epoch: D_3E − D_2E = (D_2E − D_E) M with M = (D_E − D_0)⁻¹(D_2E − D_E).
    # The dataset (hence M) is the noise-free run's: noise must not reseed the data.
    run, noise_free, start = epoch_runs(dataset="paper", dataset_draws=2)
    noisy = simulate(replace(run, noise=0.1))
    first, second, third = noisy.weights - W_STAR
    one_epoch = epoch_map(first - start, second - first)
    np.testing.assert_allclose(third - second, (second - first) @ one_epoch, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(
        one_epoch, epoch_map(start, noise_free.weights[0] - W_STAR), rtol=1e-8, atol=1e-12
    )


def test_paper_batch_source_repeats_its_moments_and_noise_every_epoch(monkeypatch):
    run = settings(dataset="paper", batches_per_epoch=10, replicas=5)
    source = _BatchSource(run)
    assert source.keeps_epoch_noise  # drawn once per run
    moments, noise = source.chunk(0, 10)
    next_moments, next_noise = source.chunk(10, 10)
    np.testing.assert_array_equal(next_moments, moments)  # same batches, fixed order
    np.testing.assert_array_equal(next_noise, noise)  # same per-sample noise
    # Without room to keep an epoch, the stream is rewound every epoch instead.
    monkeypatch.setattr(teacher_student, "EPOCH_NOISE_BYTES", 0)
    source = _BatchSource(run)
    assert not source.keeps_epoch_noise
    _, redrawn = source.chunk(0, 10)
    _, moved_on = source.chunk(10, 10)
    assert not np.array_equal(moved_on, redrawn)  # the noise stream moves on ...
    source.start_epoch()
    _, replayed_noise = source.chunk(20, 10)
    np.testing.assert_array_equal(replayed_noise, noise)  # ... until the epoch restarts
    np.testing.assert_array_equal(redrawn, noise)


def test_keeping_an_epoch_of_noise_gives_the_numbers_of_redrawing_it(monkeypatch):
    run = settings(dataset="paper", batches_per_epoch=7, steps=40, snapshot_every=10)
    kept = simulate(run)
    monkeypatch.setattr(teacher_student, "EPOCH_NOISE_BYTES", 0)
    assert_same_snapshots(simulate(run), kept)


# --- Divergence ---------------------------------------------------------------------


def test_diverging_run_reports_every_replica_and_returns_no_weights():
    # α = 2.5: |1 − αλ| ≈ 1.5 for the eigenvalues λ ≈ 1 of Ĉ, so D grows ~1.5× per step and
    # overflows (inf, then inf − inf = NaN) long before the single chunk ends at step 2000.
    run = settings(learning_rate=2.5, divergence_threshold=10.0, steps=2000, snapshot_every=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no floating-point warnings escape
        snapshots = simulate(run)
    assert snapshots.diverged_replicas == run.replicas
    assert snapshots.first_divergence_step == 2000
    assert snapshots.weights.shape == (1, 0, N, N)
    assert snapshots.replica.size == 0
    assert snapshots.draw.size == 0


def test_replicas_diverge_exactly_in_the_dataset_draws_whose_epoch_map_expands():
    # Noise-free SGD on a shared 4-batch dataset: after k epochs D = D_0 M^k, so a draw's
    # replicas diverge if and only if the spectral radius of its epoch map M exceeds 1.
    run = replace(EXPANDING_DRAWS, noise=0.0)
    source = _BatchSource(run)
    moments, _ = source.chunk(0, run.batches_per_epoch)
    epoch = np.eye(N)
    for moment in moments:
        epoch = epoch @ (np.eye(N) - run.learning_rate * moment)
    radius = np.abs(np.linalg.eigvals(epoch)).max(axis=1)  # per replica
    expanding = radius > 1
    assert 0 < expanding.sum() < run.replicas  # the seed gives both kinds of draw
    snapshots = simulate(run)
    assert snapshots.diverged_replicas == expanding.sum()
    np.testing.assert_array_equal(snapshots.replica, np.flatnonzero(~expanding))
    np.testing.assert_array_equal(snapshots.draw, source.draw_of_replica[~expanding])
    assert np.isfinite(snapshots.weights).all()
    assert np.abs(snapshots.weights).max() <= run.divergence_threshold


# --- Stationary spectra -------------------------------------------------------------


def test_online_injected_noise_mean_spacing_is_sqrt_pi_times_the_discrete_time_width():
    # Continuum Coulomb gas with the leading discrete-time factor (Aarts, Lucini & Park 2025):
    # ⟨S⟩ = √π sqrt(αε²/|B|) (1 − α/2)^{-1/2}. The multiplicative mini-batch noise changes
    # the second moments by a relative O((α/|B|)(N + 1)/(2 − α)) ≲ 5e-4 at α = 0.02,
    # |B| = 64 (see `injected_noise_moments`), so ⟨S⟩ by ≲ 3e-4, far below the ~2%
    # tolerance (4 standard errors of 0.5% from 2000 replicas × 5 snapshots).
    # Relaxation time 1/α = 50 steps: burn-in 1000 steps (initial offset × e^{-20}) and
    # snapshots 500 steps apart (correlation e^{-10}).
    alpha, batch, noise = 0.02, 64, 0.1
    run = settings(
        learning_rate=alpha,
        batch_size=batch,
        noise=noise,
        replicas=2000,
        steps=3000,
        snapshot_every=500,
    )
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    mean, standard_error = replica_mean_and_error(
        spacing(snapshots.weights[snapshots.steps >= 1000])
    )
    expected = np.sqrt(np.pi) * np.sqrt(alpha * noise**2 / batch) / np.sqrt(1 - alpha / 2)
    # 4σ: false-failure probability ~6e-5.
    assert abs(mean - expected) < 4 * standard_error


@pytest.mark.parametrize("dataset", ["online", "per_replica"])
def test_injected_noise_mean_square_spacing_matches_the_exact_stationary_covariance(dataset):
    # For D = S + A (symmetric + antisymmetric) the singular-value spacing of W* + D is
    # the eigenvalue spacing of S up to O(|A|²) ≈ 1e-4 relative; with the moments of
    # `injected_noise_moments`, ⟨S²⟩ = E[(S11 − S22)² + 4 S12²] = 4 (c1 + c2) exactly,
    # Gaussian or not. At α = 0.5, |B| = 8 the multiplicative noise raises it by ~10%
    # over the additive-only 4σ² = 8αε²/(|B|(2 − α)).
    run = stationary_run(dataset, "injected")
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    kept = snapshots.steps >= stationary_burn_in(run)
    mean, standard_error = replica_mean_and_error(spacing(snapshots.weights[kept]) ** 2)
    c1, c2, _ = injected_noise_moments(run.learning_rate, run.batch_size, run.noise)
    # 4σ: false-failure probability ~6e-5.
    assert abs(mean - 4 * (c1 + c2)) < 4 * standard_error


def test_injected_noise_weight_covariance_has_the_exact_stationary_components():
    run = stationary_run("online", "injected")
    deviation = stationary_deviation(simulated(run), stationary_burn_in(run))
    c1, c2, c3 = injected_noise_moments(run.learning_rate, run.batch_size, run.noise)
    products = {
        "D11²": (deviation[..., 0, 0] ** 2, c1 + c2 + c3),
        "D12²": (deviation[..., 0, 1] ** 2, c1),
        "D12 D21": (deviation[..., 0, 1] * deviation[..., 1, 0], c2),
        "D11 D22": (deviation[..., 0, 0] * deviation[..., 1, 1], c3),
        "D11 D12": (deviation[..., 0, 0] * deviation[..., 0, 1], 0.0),
    }
    # Bonferroni: z ≈ 4.4 per comparison keeps the whole test's false-failure
    # probability at that of one 4σ test, ~6e-5.
    z = stats.norm.isf(FOUR_SIGMA_TAIL / (2 * len(products)))
    for name, (values, expected) in products.items():
        mean, standard_error = replica_mean_and_error(values)
        assert abs(mean - expected) < z * standard_error, name


@pytest.mark.parametrize("dataset", ["online", "per_replica"])
def test_label_noise_weight_variance_matches_the_exact_linear_regression_formula(dataset):
    # Each row of W is an online linear regression with label noise ε (Aarts, Lucini & Park 2025):
    # E[D_ij²] = αε²/(|B|(2 − α) − α(N + 1)), 20% above the additive-only αε²/(|B|(2 − α))
    # at α = 0.5, |B| = 4.
    run = stationary_run(dataset, "label")
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    deviation = stationary_deviation(snapshots, stationary_burn_in(run))
    assert np.isfinite(deviation).all()
    mean, standard_error = replica_mean_and_error(deviation**2)
    expected = label_noise_variance(run.learning_rate, run.batch_size, run.noise)
    # 4σ: false-failure probability ~6e-5.
    assert abs(mean - expected) < 4 * standard_error
    # The weights stay near the teacher: the mean of D is 0 within 4 standard errors.
    offset, offset_error = replica_mean_and_error(deviation)
    assert abs(offset) < 4 * offset_error


# --- Hidden layer Z -------------------------------------------------------------------

HIDDEN = (1.5, 0.7)
"""Singular values of a non-trivial hidden layer for N = 2: ZᵀZ has eigenvalues 2.25 and 0.49."""


def test_exact_moment_solver_reduces_to_the_closed_forms_without_hidden_layer():
    eye = np.eye(N)
    moments = theory.stationary_second_moments(
        eye, 0.5, 8, theory.injected_noise_moments(N, 0.1, 8)
    )
    c1, c2, c3 = injected_noise_moments(0.5, 8, 0.1)
    np.testing.assert_allclose(
        [moments[0, 1, 0, 1], moments[0, 1, 1, 0], moments[0, 0, 1, 1], moments[0, 0, 0, 0]],
        [c1, c2, c3, c1 + c2 + c3],
        rtol=1e-12,
    )
    moments = theory.stationary_second_moments(eye, 0.5, 4, theory.label_noise_moments(eye, 0.1, 4))
    variance = label_noise_variance(0.5, 4, 0.1)
    np.testing.assert_allclose(
        [moments[0, 0, 0, 0], moments[0, 1, 0, 1], moments[0, 1, 1, 0]],
        [variance, variance, 0.0],
        rtol=1e-12,
        atol=1e-15,
    )


def test_hidden_matrix_has_the_requested_singular_values_and_is_reproducible():
    values = (3.0, 0.5, 1.2, 2.0)
    hidden = teacher_student.hidden_matrix(values, BASE.root_seed)
    np.testing.assert_allclose(np.linalg.svd(hidden, compute_uv=False), sorted(values)[::-1])
    np.testing.assert_array_equal(teacher_student.hidden_matrix(values, BASE.root_seed), hidden)
    other_seed = teacher_student.hidden_matrix(values, BASE.root_seed + 1)
    assert not np.allclose(other_seed, hidden)  # the frame comes from the root seed
    orthogonal = teacher_student.hidden_matrix((1.0,) * 4, BASE.root_seed)
    np.testing.assert_allclose(orthogonal.T @ orthogonal, np.eye(4), atol=1e-14)
    assert not np.allclose(orthogonal, np.eye(4))  # a random frame, not the identity


def test_hidden_layer_is_the_same_for_every_sweep_point():
    first = _BatchSource(settings(hidden=HIDDEN)).hidden
    second = _BatchSource(settings(hidden=HIDDEN, point_seed=BASE.point_seed + 1)).hidden
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, teacher_student.hidden_matrix(HIDDEN, BASE.root_seed))


def test_haar_orthogonal_frames_have_mean_zero_and_entry_variance_one_over_n():
    # Haar measure: every entry has mean 0 and E[Q_ij²] = 1/n. QR without the sign fix
    # fails this (LAPACK makes R_11 < 0 for a positive first entry, biasing Q_11 to ≈ −0.5
    # for n = 3). Standard error of the mean of Q_11: sqrt(1/(n·draws)) ≈ 0.009; of the
    # mean of Q_11², the sample std / sqrt(draws).
    generator = np.random.default_rng(20240723)
    dim, draws = 3, 4000
    frames = np.stack([haar_orthogonal(generator, dim) for _ in range(draws)])
    np.testing.assert_allclose(
        frames @ np.swapaxes(frames, -1, -2), np.broadcast_to(np.eye(dim), frames.shape), atol=1e-13
    )
    z = stats.norm.isf(FOUR_SIGMA_TAIL / 4)  # Bonferroni over 2 comparisons
    first = frames[:, 0, 0]
    assert abs(first.mean()) < z * first.std(ddof=1) / np.sqrt(draws)
    square = first**2
    assert abs(square.mean() - 1 / dim) < z * square.std(ddof=1) / np.sqrt(draws)


def test_hidden_layer_needs_one_singular_value_per_teacher_value():
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["experiments"]["paper"]["hidden"] = [1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match=r"experiments\.paper\.hidden has 3 values"):
        validate_config(config)


def reference_sgd_without_hidden_layer(run: TeacherStudentRun) -> np.ndarray:
    """Final weights by the update of the model without hidden layer, written out.

    ``W ← W − α [(W − W*) Ĉ + additive]`` with the same floating-point operations as
    `simulate` had before the hidden layer existed; online protocol only (no epochs).
    """
    teacher = np.diag(run.teacher)
    weights = initial_weights(run)
    moments, additive = _BatchSource(run).chunk(0, run.steps)
    for t in range(run.steps):
        gradient = (weights - teacher) @ moments[t]
        gradient += additive[t]
        gradient *= run.learning_rate
        weights -= gradient
    return weights


FINGERPRINTS = {
    "online-injected": (
        {"dataset": "online"},
        [1.9234587436918544, -0.010788232018864693, -0.015783481890340918, 1.904766240936076],
    ),
    "per_replica-label": (
        {"dataset": "per_replica", "noise_kind": "label"},
        [1.9200113220887505, 0.00471376288459458, -0.0027536977386346593, 1.9182989201528122],
    ),
    "paper-injected": (
        {"dataset": "paper", "dataset_draws": 2},
        [1.900601084657932, 0.01122531267080087, 0.003303933492044702, 1.9275126783933862],
    ),
}
"""Replica 0's final weights (4 replicas, 30 steps) computed before the hidden layer existed."""


@pytest.mark.parametrize("name", FINGERPRINTS)
def test_no_hidden_layer_reproduces_the_weights_of_the_model_before_the_hidden_layer(name):
    # The stored numbers pin the random streams and the update; rtol 1e-12 leaves room for
    # last-bit differences of BLAS kernels between machines, far below the O(1e-2) change
    # of a different update or stream.
    protocol, expected = FINGERPRINTS[name]
    run = settings(**protocol, replicas=4, steps=30, snapshot_every=30)
    assert run.hidden is None
    weights = simulate(run).weights[-1]
    np.testing.assert_allclose(weights[0].ravel(), expected, rtol=1e-12)


@pytest.mark.parametrize("noise_kind", ["injected", "label"])
def test_no_hidden_layer_is_bit_identical_to_the_update_without_hidden_layer(noise_kind):
    run = settings(noise_kind=noise_kind, replicas=8, steps=40, snapshot_every=40)
    np.testing.assert_array_equal(
        simulate(run).weights[-1], reference_sgd_without_hidden_layer(run)
    )


@pytest.mark.parametrize("noise_kind", ["injected", "label"])
def test_one_step_with_hidden_layer_is_w_minus_alpha_times_the_hidden_layer_gradient(noise_kind):
    # mean_b ∇_W ½|Z(W* − W)x + εξ|² = ZᵀZ (W − W*) Ĉ_xx − ε Zᵀ Ĉ_ξx + Ā. The hidden layer
    # leaves the random streams alone, so the run without it supplies Ĉ_xx, −ε Ĉ_ξx and Ā.
    run = settings(noise_kind=noise_kind, hidden=HIDDEN, steps=1, snapshot_every=1)
    plain = replace(run, hidden=None)
    hidden = teacher_student.hidden_matrix(HIDDEN, run.root_seed)
    moment, additive = (array[0] for array in _BatchSource(plain).chunk(0, 1))
    if noise_kind == "label":
        additive = hidden.T @ additive  # label noise passes through Z, injected noise does not
    start = initial_weights(run)
    gradient = hidden.T @ hidden @ (start - W_STAR) @ moment + additive
    expected = start - run.learning_rate * gradient
    np.testing.assert_allclose(simulate(run).weights[-1], expected, rtol=1e-12, atol=1e-15)
    assert not np.allclose(simulate(plain).weights[-1], expected, rtol=1e-6)


def hidden_stationary_run(noise_kind: str, hidden: tuple[float, ...]) -> TeacherStudentRun:
    """Online, α = 0.2, |B| = 8, ε = 0.1, 2000 replicas.

    Slowest mode (ZᵀZ eigenvalue 0.49) relaxes by 1 − αg = 0.902 per step: burn-in 200
    steps (initial offset × 1e-9), then 11 snapshots 100 steps apart (correlation 3e-5).
    """
    return settings(
        noise_kind=noise_kind,
        hidden=hidden,
        learning_rate=0.2,
        batch_size=8,
        noise=0.1,
        replicas=2000,
        steps=1200,
        snapshot_every=100,
    )


@pytest.mark.parametrize("noise_kind", ["injected", "label"])
def test_hidden_layer_stationary_covariance_matches_the_exact_discrete_solution(noise_kind):
    # In the eigenframe of G = ZᵀZ = V diag(g) Vᵀ, D̃ = Vᵀ D V follows the same update with
    # G → diag(g) (the online Ĉ and the GOE noise are rotation invariant), so D̃_ij moves at
    # rate α g_i. Injected GOE noise is isotropic, so the slow mode is wider: continuum
    # E[D̃_ii²] = αε²/(|B| g_i), widths differing by z_1/z_2 ≈ 2.1 (variance ratio 3.5 with
    # the discrete-time terms). Label noise enters as Zᵀ Ĉ_ξx, with covariance ∝ G: the
    # continuum widths are equal (αε²/(2|B|)), only the O(α g) terms separate them.
    # The weights stay centred at the teacher: E[D̃] = 0.
    run = hidden_stationary_run(noise_kind, HIDDEN)
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    hidden = teacher_student.hidden_matrix(HIDDEN, run.root_seed)
    rates, frame = np.linalg.eigh(hidden.T @ hidden)  # ascending: mode 0 is the slow one
    np.testing.assert_allclose(rates, np.square(sorted(HIDDEN)))
    rotated = frame.T @ stationary_deviation(snapshots, 200) @ frame
    if noise_kind == "injected":
        noise_moments = theory.injected_noise_moments(N, run.noise, run.batch_size)
    else:
        noise_moments = theory.label_noise_moments(np.diag(rates), run.noise, run.batch_size)
    moments = theory.stationary_second_moments(
        np.diag(rates), run.learning_rate, run.batch_size, noise_moments
    )
    checks = {f"D̃{(i, j)}": (rotated[..., i, j], 0.0) for i in range(N) for j in range(N)}
    pairs = [((0, 0), (0, 0)), ((1, 1), (1, 1)), ((0, 1), (0, 1)), ((1, 0), (1, 0))]
    pairs += [((0, 1), (1, 0)), ((0, 0), (1, 1))]
    for first, second in pairs:
        checks[f"D̃{first} D̃{second}"] = (
            rotated[..., first[0], first[1]] * rotated[..., second[0], second[1]],
            moments[(*first, *second)],
        )
    # Bonferroni: keeps the whole test's false-failure probability at that of one 4σ test.
    z = stats.norm.isf(FOUR_SIGMA_TAIL / (2 * len(checks)))
    for name, (values, expected) in checks.items():
        mean, standard_error = replica_mean_and_error(values)
        assert abs(mean - expected) < z * standard_error, name
    if noise_kind == "injected":  # the matched prediction has clearly different widths
        assert moments[0, 0, 0, 0] / moments[1, 1, 1, 1] > 3


@pytest.mark.parametrize("noise_kind", ["injected", "label"])
def test_orthogonal_hidden_layer_keeps_the_exact_formulas_of_the_model_without_one(noise_kind):
    # Unit singular values: Z = U Vᵀ is orthogonal, ZᵀZ = 1 and Zᵀξ ~ N(0, 1), so the law
    # is that of Z = 1 (the exact formulas hold) while the numbers differ.
    run = replace(stationary_run("online", noise_kind), hidden=(1.0, 1.0))
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    plain = simulated(replace(run, hidden=None))
    assert not np.array_equal(snapshots.weights, plain.weights)
    deviation = stationary_deviation(snapshots, stationary_burn_in(run))
    if noise_kind == "injected":
        c1, c2, c3 = injected_noise_moments(run.learning_rate, run.batch_size, run.noise)
        values, expected = deviation[..., 0, 0] ** 2, c1 + c2 + c3
    else:
        values = deviation**2
        expected = label_noise_variance(run.learning_rate, run.batch_size, run.noise)
    mean, standard_error = replica_mean_and_error(values)
    # 4σ: false-failure probability ~6e-5.
    assert abs(mean - expected) < 4 * standard_error
