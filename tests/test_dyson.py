"""Specifications of the Dyson null model (`sgd_dyson.models.dyson.simulate`).

The matrix Ornstein–Uhlenbeck process ``dH = −(H − H*) dt + sqrt(2T) dG`` has a
Gaussian transition law: given ``H(0)``, ``H(t) − H* − e^{−t}(H(0) − H*)`` is GOE
with diagonal variance ``T(1 − e^{−2t})`` and off-diagonal variance half that,
whatever the time step. Its stationary law is GOE with variances ``T`` and
``T/2``, whose degenerate pair has the Rayleigh spacing with ``⟨S⟩ = √π √T``.

Every statistical tolerance is 4 standard errors (two-sided false-failure
probability ~6e-5), Bonferroni-widened when one test makes several comparisons.
Stationary tests use replica-level means (replicas are independent, snapshots of
one replica need not be).
"""

from dataclasses import replace

import numpy as np
import pytest
from model_runs import DYSON as BASE
from model_runs import simulated
from scipy import stats

from sgd_dyson.models import dyson
from sgd_dyson.models.dyson import DysonRun, initial_matrices, simulate
from sgd_dyson.seeding import REPLICA_BLOCK
from sgd_dyson.simulation import Snapshots

from tolerances import FOUR_SIGMA_TAIL, bonferroni_z, replica_mean_and_error


def settings(**changes) -> DysonRun:
    return replace(BASE, **changes)


def stationary_run(target: tuple[float, ...]) -> DysonRun:
    """T = 0.01, 2000 replicas; burn-in to t = 20 (initial offset × e^{-20} ~ 2e-9), then
    snapshots every 5 time units (correlation e^{-5} ~ 7e-3), 7 stationary snapshots."""
    return settings(
        target=target,
        temperature=0.01,
        time_step=0.5,
        replicas=2000,
        steps=100,
        snapshot_every=10,
    )


def stationary(snapshots: Snapshots) -> np.ndarray:
    """``H`` at the snapshots with t ≥ 20 (``time_step`` 0.5): ``(snapshots, replicas, n, n)``."""
    return snapshots.weights[snapshots.steps >= 40]


def upper_triangle(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal entries and strictly upper off-diagonal entries of ``(..., n, n)`` matrices."""
    n = matrices.shape[-1]
    rows, cols = np.triu_indices(n, k=1)
    return np.diagonal(matrices, axis1=-2, axis2=-1), matrices[..., rows, cols]


# --- The transition law is exact -------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "time_step"), [(1, 0.5), (10, 0.05)], ids=["one-step", "ten-steps"]
)
def test_transition_over_time_t_has_the_exact_mean_and_variance_for_any_time_step(steps, time_step):
    # One step of 0.5 and ten of 0.05 must both give the exact law at t = 0.5:
    # residual R = H(t) − H* − e^{−t}(H(0) − H*) GOE with variances T(1 − e^{−2t}) (diagonal)
    # and half that (off-diagonal), independent entries. Standardised residuals are i.i.d.
    # N(0, 1): mean 0 (standard error 1/√n) and mean square 1 (standard error √(2/n)).
    # An Euler step would be off: at Δ = 0.5 its mean square is ~2 (drift error
    # (e^{−0.5} − 0.5)|H(0) − H*| ≈ 0.1 × 2 against a noise std ≈ 0.16, and variance 2TΔ
    # instead of T(1 − e^{−1})), at Δ = 0.05 by ~1.03 (0.3 × 10 standard errors).
    run = settings(steps=steps, time_step=time_step, replicas=5000, snapshot_every=steps)
    elapsed = steps * time_step
    target = np.diag(run.target)
    start = initial_matrices(run)
    end = simulate(run).weights[-1]
    residual = end - target - np.exp(-elapsed) * (start - target)
    variance = run.temperature * -np.expm1(-2 * elapsed)
    diagonal, off_diagonal = upper_triangle(residual)
    standardised = {
        "diagonal": diagonal / np.sqrt(variance),
        "off-diagonal": off_diagonal / np.sqrt(variance / 2),
    }
    z = bonferroni_z(2 * len(standardised))
    for name, values in standardised.items():
        n = values.size
        assert abs(values.mean()) < z / np.sqrt(n), f"{name} mean"
        assert abs(np.mean(values**2) - 1) < z * np.sqrt(2 / n), f"{name} variance"


def test_zero_temperature_relaxes_exactly_as_e_to_the_minus_t():
    run = settings(temperature=0.0, steps=7, snapshot_every=7, time_step=0.3)
    target = np.diag(run.target)
    expected = target + np.exp(-7 * 0.3) * (initial_matrices(run) - target)
    np.testing.assert_allclose(simulate(run).weights[-1], expected, rtol=1e-13, atol=1e-15)


def test_initial_matrices_are_goe_of_scale_init_scale_centred_at_zero():
    run = settings(replicas=5000, init_scale=0.7)
    start = initial_matrices(run)
    assert start.shape == (5000, 3, 3)
    np.testing.assert_array_equal(start, np.swapaxes(start, -1, -2))
    diagonal, off_diagonal = upper_triangle(start)
    # Mean 0; variances init_scale² (diagonal) and init_scale²/2 (off-diagonal); the mean
    # square of n normal values of variance v has standard error v √(2/n).
    checks = {
        "diagonal": (diagonal, run.init_scale**2),
        "off-diagonal": (off_diagonal, run.init_scale**2 / 2),
    }
    z = bonferroni_z(2 * len(checks))
    for name, (values, variance) in checks.items():
        assert abs(values.mean()) < z * np.sqrt(variance / values.size), f"{name} mean"
        assert abs(np.mean(values**2) - variance) < z * variance * np.sqrt(2 / values.size), name


# --- Stationary law: the GOE Coulomb gas -----------------------------------------------


def test_stationary_deviation_is_goe_with_diagonal_variance_t_and_off_diagonal_t_over_2():
    run = stationary_run((1.0, 1.0, 3.0))
    deviation = stationary(simulated(run)) - np.diag(run.target)
    diagonal, off_diagonal = upper_triangle(deviation)
    checks = {
        "diagonal mean": (diagonal, 0.0),
        "off-diagonal mean": (off_diagonal, 0.0),
        "diagonal variance": (diagonal**2, run.temperature),
        "off-diagonal variance": (off_diagonal**2, run.temperature / 2),
    }
    z = bonferroni_z(len(checks))
    for name, (values, expected) in checks.items():
        mean, standard_error = replica_mean_and_error(values)
        assert abs(mean - expected) < z * standard_error, name


def test_degenerate_pair_mean_spacing_is_sqrt_pi_sqrt_t():
    run = stationary_run((2.0, 2.0))
    levels = np.linalg.eigvalsh(stationary(simulated(run)))
    spacing = levels[..., 1] - levels[..., 0]
    mean, standard_error = replica_mean_and_error(spacing)
    # 4σ: false-failure probability ~6e-5.
    assert abs(mean - np.sqrt(np.pi) * np.sqrt(run.temperature)) < 4 * standard_error


def test_degenerate_pair_spacing_follows_the_wigner_surmise():
    # The exact pair spacing is Rayleigh: S/⟨S⟩ has the CDF 1 − exp(−π s²/4). One
    # snapshot per replica (the last) keeps the sample independent for the KS test.
    run = stationary_run((2.0, 2.0))
    levels = np.linalg.eigvalsh(simulated(run).weights[-1])
    normalised = (levels[:, 1] - levels[:, 0]) / (np.sqrt(np.pi) * np.sqrt(run.temperature))
    result = stats.kstest(normalised, lambda s: -np.expm1(-np.pi * s**2 / 4))
    assert result.pvalue > FOUR_SIGMA_TAIL


def test_cluster_centres_sit_at_the_targets_shifted_by_the_repulsion_of_the_other_clusters():
    # Target (1, 1, 3, 3, 3), T = 0.01. The mean of a cluster's eigenvalues is, to second order
    # in the off-diagonal coupling, x* + (T/2) Σ_{a in, b out} 1/(x*_a − x*_b) / n_cluster:
    # −3T/4 = −0.0075 for the pair, +T/2 = +0.005 for the triple, 12 and 8 standard errors
    # (~6e-4): the test sees the repulsion. The next order, O(T²/gap³) ~ 1e-5 here, is far
    # below the standard error.
    target = (1.0, 1.0, 3.0, 3.0, 3.0)
    run = stationary_run(target)
    levels = np.linalg.eigvalsh(stationary(simulated(run)))
    clusters = [slice(0, 2), slice(2, 5)]
    values = np.asarray(target)
    z = bonferroni_z(len(clusters))
    for cluster in clusters:
        inside = values[cluster]
        outside = np.delete(values, np.arange(len(values))[cluster])
        shift = run.temperature / 2 * np.sum(1 / (inside[:, None] - outside[None, :]))
        expected = inside.mean() + shift / inside.size
        mean, standard_error = replica_mean_and_error(levels[..., cluster])
        assert abs(mean - expected) < z * standard_error, cluster
        assert abs(shift / inside.size) > 6 * standard_error  # the correction is resolved


def test_all_snapshots_are_finite_symmetric_and_nothing_diverges():
    snapshots = simulated(stationary_run((1.0, 1.0, 3.0)))
    assert snapshots.diverged_replicas == 0
    assert snapshots.first_divergence_step is None
    assert np.isfinite(snapshots.weights).all()
    np.testing.assert_array_equal(snapshots.weights, np.swapaxes(snapshots.weights, -1, -2))
    np.testing.assert_array_equal(snapshots.replica, np.arange(2000))
    np.testing.assert_array_equal(snapshots.draw, np.zeros(2000))
    np.testing.assert_array_equal(snapshots.steps, np.arange(10, 101, 10))


# --- Reproducibility ---------------------------------------------------------------------


def assert_same_snapshots(first: Snapshots, second: Snapshots) -> None:
    np.testing.assert_array_equal(first.steps, second.steps)
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.replica, second.replica)
    np.testing.assert_array_equal(first.draw, second.draw)
    assert first.diverged_replicas == second.diverged_replicas


def test_simulate_is_bit_identical_for_identical_settings():
    assert_same_snapshots(simulate(BASE), simulate(BASE))


def test_simulate_does_not_depend_on_how_steps_are_chunked(monkeypatch):
    # Chunks of 3 steps (snapshots every 10 do not divide into them) against one chunk.
    reference = simulate(BASE)
    monkeypatch.setattr(dyson, "CHUNK_ELEMENTS", 3 * BASE.replicas * BASE.size**2)
    assert_same_snapshots(simulate(BASE), reference)


def test_simulate_differs_between_sweep_points():
    first = simulate(BASE)
    second = simulate(settings(point_seed=BASE.point_seed + 1))
    assert not np.array_equal(first.weights, second.weights)


def test_adding_replicas_beyond_a_block_leaves_the_first_block_unchanged():
    few = simulate(settings(replicas=REPLICA_BLOCK + 20))
    many = simulate(settings(replicas=3 * REPLICA_BLOCK))
    np.testing.assert_array_equal(few.weights[:, :REPLICA_BLOCK], many.weights[:, :REPLICA_BLOCK])


def test_temperature_changes_the_noise_amplitude_but_not_the_random_numbers():
    # The same streams at every temperature: at two temperatures the noise parts
    # H − (H* + e^{−t}(H(0) − H*)) are exactly proportional, by sqrt(T2/T1).
    low, high = settings(temperature=0.01), settings(temperature=0.09)
    target = np.diag(BASE.target)
    drift = target + np.exp(-BASE.steps * BASE.time_step) * (initial_matrices(BASE) - target)
    noise_low = simulate(low).weights[-1] - drift
    noise_high = simulate(high).weights[-1] - drift
    np.testing.assert_allclose(noise_high, 3 * noise_low, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "changes",
    [
        {"target": (2.0, 1.0)},
        {"target": ()},
        {"temperature": -0.1},
        {"time_step": 0.0},
        {"steps": 0},
    ],
    ids=["descending-target", "empty-target", "negative-temperature", "zero-step", "no-steps"],
)
def test_run_settings_outside_the_model_are_rejected(changes):
    with pytest.raises(ValueError):
        settings(**changes)
