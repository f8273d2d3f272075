"""Specifications of the Gaussian RBM simulation (`sgd_dyson.models.gaussian_rbm`).

Model (Aarts, Lucini & Park 2025): ``E = ½ μ² φᵀφ + hᵀh/(2σ_h²) − hᵀWφ``, so ``p(φ)`` is Gaussian
with kernel ``K = μ² − σ_h² WᵀW``; persistent block-Gibbs chains estimate
``K⁻¹`` and ``W ← W + α σ_h² W (C_data − Ĉ_model)`` learns the lattice field
``K*``. The exact tests check the two halves of that statement separately (the
update is the log-likelihood gradient here, the chains sample ``K⁻¹`` with either
Gibbs sampler in test_gibbs_samplers.py); the learning tests check that the whole
reaches the targets ``x* = μ² − κ``.

Every statistical tolerance is 4 standard errors (two-sided false-failure
probability ~6e-5), with the standard error estimated from replica-level means
(replicas are independent, snapshots of one replica need not be), or from
independent chains.
"""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from model_runs import GAUSSIAN_RBM as BASE
from model_runs import simulated

from sgd_dyson.gibbs_chains import GIBBS_SAMPLERS, update_normals_shape
from sgd_dyson.models import gaussian_rbm
from sgd_dyson.models.gaussian_rbm import (
    GaussianRBMRun,
    _ascent_step,
    initial_weights,
    lattice_kernel,
    model_kernel,
    simulate,
    target_gram_eigenvalues,
)
from sgd_dyson.seeding import REPLICA_BLOCK
from sgd_dyson.simulation import Snapshots
from sgd_dyson.spectra import degenerate_clusters, gram_eigenvalues

from tolerances import bonferroni_z

SIZE = BASE.size


def settings(**changes) -> GaussianRBMRun:
    return replace(BASE, **changes)


def random_weights(size: int, mass: float, hidden_std: float, seed: int) -> np.ndarray:
    """A non-symmetric ``W`` with ``σ_h² WᵀW`` eigenvalues up to ``0.7 μ²`` (``K`` safely PD)."""
    weights = np.random.default_rng(seed).standard_normal((size, size))
    largest = np.linalg.eigvalsh(weights.T @ weights)[-1]
    return weights * np.sqrt(0.7 * mass**2 / (hidden_std**2 * largest))


# --- The target -----------------------------------------------------------------------


def test_lattice_kernel_is_the_periodic_discrete_laplacian_plus_mass_squared():
    kernel = lattice_kernel(SIZE, 2.0)
    expected = np.zeros((SIZE, SIZE))
    for i in range(SIZE):
        expected[i, i] = 2.0 + 2.0**2
        expected[i, (i + 1) % SIZE] = expected[i, (i - 1) % SIZE] = -1.0
    np.testing.assert_array_equal(kernel, expected)


def test_lattice_kernel_eigenvalues_are_4_8_and_four_degenerate_pairs():
    # κ_k = m² + 2 − 2 cos(2πk/10), m = 2: κ_0 = 4, κ_5 = 8, κ_k = κ_{10−k} otherwise.
    kappa = np.linalg.eigvalsh(lattice_kernel(SIZE, 2.0))
    pairs = [4 + 2 - 2 * np.cos(2 * np.pi * k / SIZE) for k in (1, 2, 3, 4)]
    expected = [4.0, *np.repeat(pairs, 2), 8.0]
    np.testing.assert_allclose(kappa, expected, rtol=1e-12)


@pytest.mark.parametrize("hidden_std", [1.0, 0.8])
def test_targets_are_the_gram_eigenvalues_that_reproduce_the_lattice_kernel(hidden_std):
    # x* = (μ² − κ)/σ_h²: μ² − σ_h² X with eig(X) = x* has the eigenvalues κ of K*.
    targets = target_gram_eigenvalues(SIZE, 3.0, 2.0, hidden_std)
    kappa = np.linalg.eigvalsh(lattice_kernel(SIZE, 2.0))
    np.testing.assert_allclose(targets, np.sort((9.0 - kappa) / hidden_std**2), rtol=1e-12)
    assert np.all(np.diff(targets) >= 0)
    if hidden_std == 1.0:
        pairs = [3 + 2 * np.cos(2 * np.pi * k / SIZE) for k in (4, 3, 2, 1)]
        np.testing.assert_allclose(targets, [1.0, *np.repeat(pairs, 2), 5.0], rtol=1e-12)


# --- Exact pieces: the update is the log-likelihood gradient --------------------------------


def gaussian_log_likelihood(weights, data_covariance, mass, hidden_std) -> float:
    """Mean log-likelihood of data with covariance C under ``N(0, K⁻¹)``, up to a constant."""
    kernel = model_kernel(weights, mass, hidden_std)
    return -0.5 * np.trace(kernel @ data_covariance) + 0.5 * np.linalg.slogdet(kernel)[1]


def test_update_with_exact_model_covariance_is_the_log_likelihood_gradient_step():
    # L(W) = −½ tr(K C) + ½ log det K, K = μ² − σ_h² WᵀW, has dL/dW = σ_h² W (C − K⁻¹):
    # dK = −σ_h² (dWᵀW + WᵀdW) gives d(−½ tr KC) = σ_h² tr(Wᵀ dW C) and
    # d(½ log det K) = −σ_h² tr(K⁻¹ Wᵀ dW). Chains whose mean vvᵀ is exactly K⁻¹
    # (v_b the rows of sqrt(n) Lᵀ, K⁻¹ = L Lᵀ) turn the RBM update into
    # W + α dL/dW; dL/dW is checked against central finite differences.
    size, mass, hidden_std, alpha = 4, 3.0, 1.3, 0.05
    weights = random_weights(size, mass, hidden_std, seed=1)
    data_covariance = np.linalg.inv(lattice_kernel(size, 2.0))
    model_covariance = np.linalg.inv(model_kernel(weights, mass, hidden_std))
    visible = np.sqrt(size) * np.linalg.cholesky(model_covariance).T  # (|B| = n, n)
    chains = (mass * visible)[None]  # stored as u = μ v
    updated = weights[None].copy()
    _ascent_step(
        updated,
        chains,
        1.0 / mass,
        data_covariance,
        alpha * hidden_std**2,
        np.empty_like(updated),
        np.empty_like(updated),
    )

    epsilon = 1e-6
    numerical = np.zeros_like(weights)
    for index in np.ndindex(weights.shape):
        step = np.zeros_like(weights)
        step[index] = epsilon
        up, down = (
            gaussian_log_likelihood(weights + sign * step, data_covariance, mass, hidden_std)
            for sign in (1, -1)
        )
        numerical[index] = (up - down) / (2 * epsilon)
    # Central differences: truncation O(ε²) ~ 1e-12, rounding ~ 1e-16/ε ~ 1e-10.
    np.testing.assert_allclose((updated[0] - weights) / alpha, numerical, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        numerical, hidden_std**2 * weights @ (data_covariance - model_covariance), rtol=1e-6
    )
    assert np.abs(numerical).max() > 1e-2  # not a trivial (stationary) point


# --- Reproducibility -------------------------------------------------------------------


def assert_same_snapshots(first: Snapshots, second: Snapshots) -> None:
    np.testing.assert_array_equal(first.steps, second.steps)
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.replica, second.replica)
    np.testing.assert_array_equal(first.draw, second.draw)
    assert first.diverged_replicas == second.diverged_replicas
    assert first.first_divergence_step == second.first_divergence_step


def test_simulate_is_bit_identical_for_identical_settings():
    assert_same_snapshots(simulate(BASE), simulate(BASE))


def test_simulate_differs_between_sweep_points():
    first = simulate(BASE)
    second = simulate(settings(point_seed=BASE.point_seed + 1))
    assert not np.array_equal(first.weights, second.weights)


@pytest.mark.parametrize("sampler", GIBBS_SAMPLERS)
def test_simulate_does_not_depend_on_how_steps_are_chunked(monkeypatch, sampler):
    # Chunks of 7 steps (snapshots every 20 do not divide into them) against one chunk
    # per snapshot interval.
    run = settings(steps=65, gibbs_sampler=sampler)
    reference = simulate(run)
    per_update = update_normals_shape(sampler, run.gibbs_steps, run.batch_size, run.size)
    monkeypatch.setattr(gaussian_rbm, "CHUNK_ELEMENTS", 7 * run.replicas * np.prod(per_update))
    assert_same_snapshots(simulate(run), reference)


def test_adding_replicas_beyond_a_block_leaves_the_first_block_unchanged():
    few = simulate(settings(replicas=REPLICA_BLOCK + 20, steps=20))
    many = simulate(settings(replicas=3 * REPLICA_BLOCK, steps=20))
    assert few.diverged_replicas == many.diverged_replicas == 0
    np.testing.assert_array_equal(few.weights[:, :REPLICA_BLOCK], many.weights[:, :REPLICA_BLOCK])


def test_initial_weights_have_independent_entries_of_variance_init_scale_squared():
    run = settings(replicas=5000, init_scale=0.3)
    weights = initial_weights(run)
    assert weights.shape == (5000, SIZE, SIZE)
    # Mean 0, so var = mean(w²); standard error var·sqrt(2/n) for n normal entries.
    # 4σ: false-failure probability ~6e-5.
    variance = run.init_scale**2
    assert abs(np.mean(weights**2) - variance) < 4 * variance * np.sqrt(2 / weights.size)


def test_snapshots_are_every_snapshot_every_steps_and_always_the_last():
    snapshots = simulate(settings(steps=50))
    np.testing.assert_array_equal(snapshots.steps, [20, 40, 50])
    assert snapshots.weights.shape == (3, BASE.replicas, SIZE, SIZE)
    np.testing.assert_array_equal(snapshots.replica, np.arange(BASE.replicas))
    np.testing.assert_array_equal(snapshots.draw, np.zeros(BASE.replicas))
    assert snapshots.diverged_replicas == 0
    assert snapshots.first_divergence_step is None


# --- Learning ----------------------------------------------------------------------------


LEARNING_STEPS = 5000
LEARNING_BURN_IN = 4000


def learning_run(batch_size: int, replicas: int) -> GaussianRBMRun:
    """α = 0.1 runs from the standard start, snapshots every 500 steps.

    Near ``X ≈ 0`` a level of ``X`` with target ``x* = μ² − κ`` grows at rate
    ``2α(1/κ − 1/μ²)`` per step and near its target relaxes at ``2αx*/κ²``. For the
    slowest pair (x* ≈ 1.38, κ ≈ 7.6) these are α/25 and α/21: from an initial
    ~0.005 it takes ~6 e-folds (~1400 steps at α = 0.1) to grow, then ~200 steps per
    e-fold to settle; in these runs the pair centres stop drifting by step ~2500,
    well before the burn-in of 4000 steps. (The single level x* = 1 grows at α/36
    from the smallest initial level, which can be tiny; it still lags in some
    replicas, so only the pairs are compared closely.)
    """
    return settings(
        learning_rate=0.1,
        batch_size=batch_size,
        replicas=replicas,
        steps=LEARNING_STEPS,
        snapshot_every=500,
    )


SMALL_T = learning_run(batch_size=64, replicas=32)  # α/|B| = 1.6e-3
LARGE_T = learning_run(batch_size=16, replicas=64)  # α/|B| = 6.25e-3


def targets() -> np.ndarray:
    return target_gram_eigenvalues(BASE.size, BASE.mass, BASE.field_mass, BASE.hidden_std)


def pair_levels() -> list[np.ndarray]:
    """Indices (into ascending eigenvalues) of the four doubly-degenerate target levels."""
    labels = degenerate_clusters(targets(), 1e-9)
    clusters = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    pairs = [cluster for cluster in clusters if cluster.size == 2]
    assert len(pairs) == 4
    return pairs


def stationary_eigenvalues(run: GaussianRBMRun) -> np.ndarray:
    """Eigenvalues of X at the snapshots after the burn-in: ``(snapshots, replicas, n)``."""
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    return gram_eigenvalues(snapshots.weights[snapshots.steps >= LEARNING_BURN_IN])


def pair_centres_below_target(run: GaussianRBMRun) -> np.ndarray:
    """``x* − (x_a + x_b)/2`` per replica and pair, averaged over snapshots: ``(replicas, 4)``."""
    eigenvalues = stationary_eigenvalues(run)
    x_star = targets()
    return np.stack(
        [x_star[pair[0]] - eigenvalues[..., pair].mean(axis=-1) for pair in pair_levels()],
        axis=-1,
    ).mean(axis=0)


def pair_spacings(run: GaussianRBMRun) -> np.ndarray:
    """Spacings ``S = x_b − x_a`` of the four pairs: ``(snapshots, replicas, 4)``."""
    eigenvalues = stationary_eigenvalues(run)
    return np.stack(
        [np.diff(eigenvalues[..., pair], axis=-1)[..., 0] for pair in pair_levels()], -1
    )


def mean_and_error(per_replica: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over replicas (axis 0) and its standard error."""
    return per_replica.mean(axis=0), per_replica.std(axis=0, ddof=1) / np.sqrt(len(per_replica))


def test_every_learned_eigenvalue_is_nearest_its_own_target():
    # Each eigenvalue's mean over replicas lies within half the gap to the nearest other
    # target level (the closest levels, x* = 1 and 1.382, are 0.38 apart): X has learned
    # the target spectrum level by level.
    x_star = targets()
    distinct = np.unique(np.round(x_star, 9))
    mean = stationary_eigenvalues(SMALL_T).mean(axis=(0, 1))
    for level, target in enumerate(x_star):
        others = distinct[np.abs(distinct - target) > 1e-9]
        assert abs(mean[level] - target) < np.abs(others - target).min() / 2, level


def test_pair_centres_approach_the_targets_at_small_learning_rate_over_batch_size():
    # Aarts, Lucini & Park 2025: pair centres sit slightly *below* x*, by an amount that
    # grows with α/|B|.
    # The offset comes from the fluctuations at second order (∝ α/|B|), while the pair's
    # spread ⟨S⟩ is first order (∝ sqrt(α/|B|)); at α/|B| = 1.6e-3 the centre is below
    # x* by less than half the mean spacing (measured: about a quarter), and not above it.
    below, error = mean_and_error(pair_centres_below_target(SMALL_T))
    spacing = pair_spacings(SMALL_T).mean(axis=(0, 1))
    # Bonferroni over the four pairs: false-failure probability ~6e-5 per bound.
    z = bonferroni_z(len(below))
    assert np.all(below > -z * error), (below, error)
    assert np.all(below - z * error < spacing / 2), (below, error, spacing)


def test_pair_centres_sit_further_below_the_targets_at_larger_learning_rate_over_batch_size():
    # The offset of the centres averaged over the four pairs, at α/|B| = 6.25e-3 and 1.6e-3
    # (independent runs): below x* at the larger α/|B|, and by more than at the smaller.
    small_below, small_error = mean_and_error(pair_centres_below_target(SMALL_T).mean(axis=1))
    large_below, large_error = mean_and_error(pair_centres_below_target(LARGE_T).mean(axis=1))
    # 4σ: false-failure probability ~6e-5 (one-sided, ~3e-5).
    assert large_below > 4 * large_error
    assert large_below - small_below > 4 * np.hypot(large_error, small_error)


def jackknife(per_replica: np.ndarray, statistic) -> tuple[float, float]:
    """``statistic`` of replica-level values ``(replicas, ...)`` and its jackknife error."""
    count = len(per_replica)
    value = statistic(per_replica)
    leave_one_out = np.array([statistic(np.delete(per_replica, i, axis=0)) for i in range(count)])
    spread = leave_one_out - leave_one_out.mean()
    return value, np.sqrt((count - 1) / count * np.sum(spread**2))


def test_learned_pairs_are_degenerate_with_goe_level_repulsion():
    # A degenerate pair in the Coulomb gas is a 2×2 GOE block: its spacing is Rayleigh
    # (Wigner surmise, β = 1) with ⟨S²⟩/⟨S⟩² = 4/π. The lattice translations rotate the
    # traceless part of each pair's block (by 4πk/10, not a multiple of π), which makes it
    # isotropic, so this holds pair by pair. A split Δ ≫ σ would give → 1, two levels
    # without repulsion π/2. Statistic: the mean over the four pairs of ⟨S²⟩/⟨S⟩², from
    # replica-level means of S and S², with a jackknife error over replicas.
    spacings = pair_spacings(SMALL_T)
    per_replica = np.stack([spacings.mean(axis=0), (spacings**2).mean(axis=0)], axis=1)

    def ratio(values: np.ndarray) -> float:
        mean = values.mean(axis=0)  # (2, 4)
        return float(np.mean(mean[1] / mean[0] ** 2))

    value, error = jackknife(per_replica, ratio)
    # 4σ: false-failure probability ~6e-5.
    assert abs(value - 4 / np.pi) < 4 * error, (value, error)
    assert 4 * error < (4 / np.pi - 1) / 2  # precise enough to reject a split pair


# --- Divergence --------------------------------------------------------------------------


def assert_no_weights(snapshots: Snapshots, run: GaussianRBMRun) -> None:
    assert snapshots.diverged_replicas == run.replicas
    assert snapshots.weights.shape == (len(snapshots.steps), 0, run.size, run.size)
    assert snapshots.replica.size == 0
    assert snapshots.draw.size == 0


def test_start_without_a_normalisable_model_reports_every_replica_diverged():
    # init_scale 2: σ_h² WᵀW has eigenvalues up to ~ 4·(2√10)² ≈ 160 ≫ μ² = 9, so
    # μ² − σ_h² WᵀW is indefinite from the start and the chains grow without bound.
    run = settings(init_scale=2.0, steps=200, snapshot_every=50)
    assert (np.linalg.eigvalsh(model_kernel(initial_weights(run), run.mass, 1.0))[:, 0] < 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no floating-point warnings escape
        snapshots = simulate(run)
    assert_no_weights(snapshots, run)
    assert snapshots.first_divergence_step == 50


def test_huge_learning_rate_reports_every_replica_diverged_and_never_nan():
    # α = 100: the first update multiplies W by I + α(C − Ĉ) with |C − Ĉ| ~ 0.1, so W grows
    # ~10× per step until the kernel is indefinite and the numbers overflow.
    run = settings(learning_rate=100.0, steps=400, snapshot_every=400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snapshots = simulate(run)
    assert_no_weights(snapshots, run)
    assert snapshots.first_divergence_step == 400


def test_replicas_diverge_exactly_when_their_kernel_is_not_positive_definite():
    # At α = 0 the weights never move, so a replica diverges if and only if its initial
    # kernel μ² − σ_h² WᵀW is indefinite; the others keep their initial weights exactly.
    run = settings(learning_rate=0.0, init_scale=0.5, replicas=64, steps=100, snapshot_every=50)
    start = initial_weights(run)
    indefinite = np.linalg.eigvalsh(model_kernel(start, run.mass, run.hidden_std))[:, 0] <= 0
    assert 0 < indefinite.sum() < run.replicas  # the seed gives both kinds of replica
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snapshots = simulate(run)
    assert snapshots.diverged_replicas == indefinite.sum()
    assert snapshots.first_divergence_step == 50
    np.testing.assert_array_equal(snapshots.replica, np.flatnonzero(~indefinite))
    np.testing.assert_array_equal(
        snapshots.weights, np.broadcast_to(start[~indefinite], snapshots.weights.shape)
    )
