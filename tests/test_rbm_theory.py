"""Specifications of the leading-order theory of the Gaussian RBM (`sgd_dyson.rbm_theory`).

Each claim is checked against a simulation that does not use the theory: the persistent
chains' AR(1) law against chains sampled from the RBM's conditionals, the first-order
covariance against the linearised recursion driven by sampled chains, the mean shift
against the RBM's own update on a small lattice; and one case, a single level, worked by
hand. Every statistical tolerance is 4 standard errors split over the comparisons of a
test (`tolerances.bonferroni_z`), the errors from independent chains or replicas.
"""

import numpy as np
import pytest
from scipy import optimize

from sgd_dyson import gram_closure, rbm_theory
from sgd_dyson.models import MODELS
from sgd_dyson.rbm_theory import PersistentCD

from tolerances import bonferroni_z

# A small spectrum with a degenerate pair, not the paper's: μ = 2, σ_h = 1.1.
LEVELS = np.array([0.8, 1.5, 1.5, 2.6])
CLUSTERS = np.array([0, 1, 1, 2])
MASS, HIDDEN_STD = 2.0, 1.1


def gibbs_sweeps(
    chains: np.ndarray, weights: np.ndarray, training: PersistentCD, generator
) -> np.ndarray:
    """``training.gibbs_steps`` block-Gibbs sweeps on ``(..., chains, n)`` rows.

    ``h | v ~ N(σ_h² W v, σ_h² I)``, ``v | h ~ N(Wᵀh/μ², I/μ²)``, written out here
    independently of the model's simulation; ``weights`` broadcasts as ``(..., n, n)``.
    """
    mass, hidden_std = training.mass, training.hidden_std
    for _ in range(training.gibbs_steps):
        hidden = hidden_std**2 * chains @ np.swapaxes(weights, -1, -2)
        hidden += hidden_std * generator.standard_normal(chains.shape)
        chains = hidden @ weights / mass**2 + generator.standard_normal(chains.shape) / mass
    return chains


# --- The chains ------------------------------------------------------------------------


def test_persistent_chains_are_ar1_with_variance_s_and_coefficient_p_in_the_frame_of_x():
    generator = np.random.default_rng(11)
    size, chains, sweeps = 4, 40000, 2
    frame = np.linalg.qr(generator.standard_normal((size, size)))[0]
    singular = np.sqrt(LEVELS)
    weights = np.linalg.qr(generator.standard_normal((size, size)))[0] * singular @ frame.T
    burn_in = PersistentCD(MASS, HIDDEN_STD, 30, 0.0, 1)
    state = gibbs_sweeps(np.zeros((chains, size)), weights, burn_in, generator)
    after = gibbs_sweeps(state, weights, PersistentCD(MASS, HIDDEN_STD, sweeps, 0.0, 1), generator)
    before, after = state @ frame, after @ frame  # coordinates in the eigenframe of X
    variances = rbm_theory.chain_variances(LEVELS, MASS, HIDDEN_STD)
    lags = rbm_theory.chain_lag_coefficients(LEVELS, MASS, HIDDEN_STD, sweeps)
    covariance = before.T @ before / chains
    lagged = np.einsum("ci,ci->i", before, after) / chains
    # Standard errors of independent Gaussian chains: Var(v_i v_j) = s_i s_j (1 + δ_ij),
    # Var(v_i v_i') = s_i² (1 + p_i²).
    covariance_error = np.sqrt(np.outer(variances, variances) * (1 + np.eye(size)) / chains)
    lag_error = variances * np.sqrt((1 + lags**2) / chains)
    z = bonferroni_z(size * (size + 1) // 2 + size)
    upper = np.triu_indices(size)
    expected = np.diag(variances)
    assert np.all(np.abs(covariance - expected)[upper] < z * covariance_error[upper])
    assert np.all(np.abs(lagged - lags * variances) < z * lag_error)
    assert np.all(lags * variances > 10 * lag_error)  # the lag is resolved, not zero


# --- First order -----------------------------------------------------------------------


def simulate_linear_recursion(training: PersistentCD, replicas: int, generator) -> np.ndarray:
    """``Y_ij ← a Y_ij + g N_ij`` driven by the sample covariance of sampled AR(1) chains.

    The chains' coordinates ``v_i ← p_i v_i + sqrt(s_i (1 − p_i²)) ξ`` (stationary start),
    ``N = mean_b v vᵀ − diag(s)``; returns ``(snapshots, replicas, n, n)`` of ``Y``.
    """
    recursion = rbm_theory.linear_recursion(LEVELS, training)
    variances = rbm_theory.chain_variances(LEVELS, MASS, HIDDEN_STD)
    lags = rbm_theory.chain_lag_coefficients(LEVELS, MASS, HIDDEN_STD, training.gibbs_steps)
    shape = (replicas, training.batch_size, LEVELS.size)
    chains = generator.standard_normal(shape) * np.sqrt(variances)
    innovation = np.sqrt(variances * (1 - lags**2))
    gain = np.sqrt(recursion.drive / recursion.noise)  # |g|; the sign does not matter
    deviations = np.zeros((replicas, LEVELS.size, LEVELS.size))
    slowest = (1 - recursion.coefficient).min()
    burn_in, spacing = int(12 / slowest), int(2 / slowest)
    snapshots = []
    for step in range(burn_in + 20 * spacing):
        chains = lags * chains + innovation * generator.standard_normal(shape)
        noise = np.swapaxes(chains, -1, -2) @ chains / training.batch_size - np.diag(variances)
        deviations = recursion.coefficient * deviations - gain * noise
        if step >= burn_in and (step - burn_in) % spacing == 0:
            snapshots.append(deviations.copy())
    return np.array(snapshots)


def test_first_order_covariance_matches_the_simulated_linearised_recursion():
    training = PersistentCD(MASS, HIDDEN_STD, 1, 0.08, 4)  # one sweep: ρ up to 0.62
    samples = simulate_linear_recursion(training, 2000, np.random.default_rng(5))
    per_replica = np.mean(samples**2, axis=0)  # replicas are independent, snapshots need not be
    measured = per_replica.mean(axis=0)
    error = per_replica.std(axis=0, ddof=1) / np.sqrt(per_replica.shape[0])
    predicted = rbm_theory.first_order_covariance(LEVELS, training)
    upper = np.triu_indices(LEVELS.size)
    z = bonferroni_z(upper[0].size)
    assert np.all(np.abs(measured - predicted)[upper] < z * error[upper])
    # The chains' lag correlation matters: without it (white noise, c/(1 − a²)) the
    # slowest chains' entry is off by many errors.
    recursion = rbm_theory.linear_recursion(LEVELS, training)
    white = recursion.drive / (1 - recursion.coefficient**2)
    assert abs(measured[3, 3] - white[3, 3]) > 3 * z * error[3, 3]


def test_continuum_covariance_is_the_small_rate_limit_of_the_first_order_covariance():
    slow = PersistentCD(MASS, HIDDEN_STD, 2, 1e-6, 4)
    np.testing.assert_allclose(
        rbm_theory.first_order_covariance(LEVELS, slow),
        rbm_theory.continuum_covariance(LEVELS, slow),
        rtol=1e-5,
    )


def test_a_pair_of_forgetful_chains_has_continuum_slope_sqrt_two_pi():
    forgetful = PersistentCD(MASS, HIDDEN_STD, 400, 0.01, 16)  # p = (σ_h² x/μ²)^400 ≈ 0
    (slope,) = rbm_theory.continuum_pair_slopes(LEVELS, CLUSTERS, forgetful)
    assert slope == pytest.approx(np.sqrt(2 * np.pi), rel=1e-12)
    persistent = PersistentCD(MASS, HIDDEN_STD, 1, 0.01, 16)
    (slope,) = rbm_theory.continuum_pair_slopes(LEVELS, CLUSTERS, persistent)
    rho = (HIDDEN_STD**2 * 1.5 / MASS**2) ** 2
    assert slope == pytest.approx(np.sqrt(2 * np.pi * (1 + rho) / (1 - rho)), rel=1e-12)
    # The sampled continuum law of the pair has that ⟨S⟩: a GOE block of variance v.
    levels = rbm_theory.stationary_gram_levels(
        LEVELS, CLUSTERS, persistent, 40000, np.random.default_rng(3), exact=False
    )
    spacing = np.diff(levels[:, 1:3], axis=1)[:, 0]
    scale = np.sqrt(0.01 / 16 * 1.5)
    error = spacing.std(ddof=1) / np.sqrt(spacing.size) / scale
    assert abs(spacing.mean() / scale - slope) < 4 * error


# --- Second order ----------------------------------------------------------------------


def simulate_rbm_updates(
    levels: np.ndarray, training: PersistentCD, replicas: int, steps: int, generator
) -> np.ndarray:
    """The RBM's update in ``X*``'s eigenframe (``W = diag(sqrt(x*))`` at the start, data
    covariance ``diag(s*)``) with persistent block-Gibbs chains, written out here;
    returns the diagonal of ``X − X*`` ``(snapshots, replicas, n)`` every 100 updates after
    400."""
    size = levels.size
    weights = np.broadcast_to(np.diag(np.sqrt(levels)), (replicas, size, size)).copy()
    data = np.diag(rbm_theory.chain_variances(levels, training.mass, training.hidden_std))
    chains = np.zeros((replicas, training.batch_size, size))
    rate = training.learning_rate * training.hidden_std**2
    snapshots = []
    for step in range(steps):
        chains = gibbs_sweeps(chains, weights, training, generator)
        moment = np.swapaxes(chains, -1, -2) @ chains / training.batch_size
        weights = weights + rate * weights @ (data - moment)
        if step >= 400 and step % 100 == 0:
            gram = np.swapaxes(weights, -1, -2) @ weights
            snapshots.append(np.einsum("rii->ri", gram) - levels)
    return np.array(snapshots)


def test_mean_shift_matches_a_long_simulation_at_small_ratio():
    # Levels that relax within ~100 updates (μ = 3, x* of a 4-site lattice of mass 1.5),
    # α/|B| = 0.1/16, four sweeps: the top level's chains keep p = 0.32 between updates,
    # and without their lag behind the weights (`chain_bias`) its predicted shift would be
    # off by ~7 errors.
    levels = np.array([2.75, 4.75, 4.75, 6.75])
    training = PersistentCD(3.0, 1.0, 4, 0.1, 16)
    shifts = simulate_rbm_updates(levels, training, 256, 2000, np.random.default_rng(2024))
    predicted = rbm_theory.stationary_mean_shift(
        levels, CLUSTERS, training, 2000, np.random.default_rng(0)
    )
    per_replica = shifts.mean(axis=0)
    measured = per_replica.mean(axis=0)
    error = per_replica.std(axis=0, ddof=1) / np.sqrt(per_replica.shape[0])
    z = bonferroni_z(levels.size)
    assert np.all(np.abs(measured - predicted) < z * error)
    assert np.all(-predicted > 2 * z * error)  # the shift is resolved: below the targets


def test_mean_shift_of_a_single_level_is_the_root_of_the_hand_worked_condition():
    # One level x, μ, σ_h, k sweeps, α, |B|, at its mean x̄ = x + m:
    # s̄ = 1/(μ² − σ_h² x̄), p̄ = (σ_h² x̄/μ²)^k, r = 2 σ_h⁴ s̄² x̄, a = 1 − α r, ρ = p̄²,
    # Var N = 2 s̄²/|B|, g = −2 α σ_h² x̄, c = g² Var N,
    # V = c (1 + aρ)/((1 − a²)(1 − aρ)), E[NY] = g Var N ρ/(1 − aρ),
    # E[N] = 2 p̄ (k p̄/x̄) g Var N/((1 − aρ)(1 − p̄²)), and the condition
    # E[2 (s* − S(x̄ + y))(x̄ + y)] − 2 x̄ E[N] − 2 E[NY] + α σ_h² x̄ Var N = 0, y ~ N(0, V).
    x, mass, hidden, sweeps, rate, batch = 1.5, 2.5, 1.2, 2, 0.05, 8
    training = PersistentCD(mass, hidden, sweeps, rate, batch)
    target = 1 / (mass**2 - hidden**2 * x)
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)  # E[f(y)], y ~ N(0, 1)
    weights = weights / weights.sum()

    def by_hand(centre: float) -> tuple[float, float, float, float]:
        s = 1 / (mass**2 - hidden**2 * centre)
        p = (hidden**2 * centre / mass**2) ** sweeps
        a = 1 - rate * 2 * hidden**4 * s**2 * centre
        rho = p**2
        noise = 2 * s**2 / batch
        g = -2 * rate * hidden**2 * centre
        variance = g**2 * noise * (1 + a * rho) / ((1 - a**2) * (1 - a * rho))
        correlation = g * noise * rho / (1 - a * rho)
        bias = 2 * p * (sweeps * p / centre) * g * noise / ((1 - a * rho) * (1 - p**2))
        return variance, correlation, bias, noise

    def condition(shift: float) -> float:
        centre = x + shift
        variance, correlation, bias, noise = by_hand(centre)
        value = centre + np.sqrt(variance) * nodes
        drift = np.sum(weights * 2 * (target - 1 / (mass**2 - hidden**2 * value)) * value)
        return drift - 2 * centre * bias - 2 * correlation + rate * hidden**2 * centre * noise

    expected = optimize.brentq(condition, -0.5, 0.5, xtol=1e-14)
    variance, correlation, bias, _ = by_hand(x + expected)
    levels = np.array([x])
    assert rbm_theory.first_order_covariance(levels + expected, training)[0, 0] == pytest.approx(
        variance, rel=1e-12
    )
    assert rbm_theory.chain_weight_covariances(levels + expected, training)[0, 0] == (
        pytest.approx(correlation, rel=1e-12)
    )
    assert rbm_theory.chain_bias(levels + expected, training)[0] == pytest.approx(bias, rel=1e-12)
    shift = rbm_theory.stationary_mean_shift(
        levels, np.array([0]), training, 20000, np.random.default_rng(1)
    )
    # The Monte-Carlo part is only the fourth-order remainder: ~1e-3 of the shift at most.
    assert shift[0] == pytest.approx(expected, rel=1e-3)
    sampled = rbm_theory.stationary_gram_levels(
        levels, np.array([0]), training, 100000, np.random.default_rng(2)
    )[:, 0]
    error = np.sqrt(variance / sampled.size)
    z = bonferroni_z(2)
    assert abs(sampled.mean() - (x + expected)) < z * error
    assert abs(sampled.var() - variance) < z * variance * np.sqrt(2 / sampled.size)


def test_the_gram_closure_has_the_mean_and_covariance_it_is_given():
    # An isotropic weight fluctuation of variance 0.02 mapped to X (first order).
    center = LEVELS + 0.05
    covariance = 0.02 * (center[:, None] + center[None, :]) * (1 + np.eye(LEVELS.size))
    weights, spread = gram_closure.gram_closure_weights(center, covariance)
    samples = 400000
    generator = np.random.default_rng(9)
    root = np.diag(np.sqrt(weights)) + generator.standard_normal((samples, 4, 4)) * np.sqrt(spread)
    gram = np.swapaxes(root, -1, -2) @ root
    mean, variance = gram.mean(axis=0), gram.var(axis=0)
    fourth = np.mean((gram - mean) ** 4, axis=0)
    mean_error = np.sqrt(variance / samples)
    variance_error = np.sqrt((fourth - variance**2) / samples)
    upper = np.triu_indices(LEVELS.size)
    z = bonferroni_z(2 * upper[0].size)
    assert np.all(np.abs(mean - np.diag(center))[upper] < z * mean_error[upper])
    assert np.all(np.abs(variance - covariance)[upper] < z * variance_error[upper])
    # The quadratic terms matter here: without them the variances are off by many errors.
    assert (
        np.max(
            (np.abs(spread * (weights[:, None] + weights) - covariance) / variance_error)[
                np.triu_indices(LEVELS.size, 1)
            ]
        )
        > 3 * z
    )


# --- The model's hooks -----------------------------------------------------------------


def test_the_rbm_predicts_singular_values_as_the_roots_of_its_gram_eigenvalues():
    model = MODELS["gaussian_rbm"]
    settings = {
        "size": 6,
        "mass": 3.0,
        "field_mass": 2.0,
        "hidden_std": 1.0,
        "gibbs_steps": 3,
        "learning_rate": 0.1,
        "batch_size": 16,
        "cluster_tolerance": 1e-6,
        "samples": 500,
    }
    gram = model.predicted_levels(
        {**settings, "observable": "gram_eigenvalues"}, True, np.random.default_rng(4)
    )
    singular = model.predicted_levels(
        {**settings, "observable": "singular_values"}, True, np.random.default_rng(4)
    )
    np.testing.assert_allclose(singular, np.sqrt(gram), rtol=1e-12)
    assert gram.shape == (500, 6) and np.all(np.diff(gram, axis=1) >= 0)


def test_a_kernel_without_a_stationary_chain_has_no_prediction():
    with pytest.raises(rbm_theory.NoStationaryStateError, match="kernel"):
        rbm_theory.chain_variances(np.array([1.0, 5.0]), 2.0, 1.0)
    with pytest.raises(ValueError, match="does not relax"):
        rbm_theory.first_order_covariance(LEVELS, PersistentCD(MASS, HIDDEN_STD, 1, 40.0, 4))
