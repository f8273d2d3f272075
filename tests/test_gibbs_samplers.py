"""The Gaussian RBM's two Gibbs samplers: k sweeps one by one, and the k-sweep transition.

In the scaled variables ``u = μ v`` of `gibbs_chains.gibbs_sweeps` one block-Gibbs
sweep is ``u ← B u + η`` with ``B = s² WᵀW`` (``s = σ_h/μ``) and ``Cov η = I + B``;
``k`` sweeps compose to the Gaussian transition ``u ← Bᵏ u + ζ`` with ``Cov ζ =
Σ_{j<k} Bʲ (I + B) Bʲ`` (`gibbs_chains.k_sweep_transition`), whose stationary
covariance is ``μ² (μ² − σ_h² WᵀW)⁻¹``. The exact tests read the affine map of the
sweep-by-sweep code off the code itself (unit inputs) and compare the transition's
with it to round-off; the statistical tests compare chains and whole training runs.

Every statistical tolerance is 4 standard errors, Bonferroni-corrected over the
comparisons of its test (`tolerances.bonferroni_z`: false-failure probability ~6e-5
per test), with standard errors from independent chains or from replica-level means
(replicas are independent, snapshots of one replica are not).
"""

from dataclasses import replace

import numpy as np
import pytest
from model_runs import GAUSSIAN_RBM as BASE
from test_gaussian_rbm import pair_levels, random_weights

from sgd_dyson.gibbs_chains import (
    CHOLESKY_SAFETY,
    GIBBS_SAMPLERS,
    gibbs_sweeps,
    k_sweep_transition,
    transition_step,
)
from sgd_dyson.models.gaussian_rbm import model_kernel, simulate
from sgd_dyson.spectra import gram_eigenvalues

from tolerances import bonferroni_z

MASS, HIDDEN_STD = 3.0, 1.3
COUPLING = HIDDEN_STD / MASS


def composed_sweeps(weights: np.ndarray, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(M, C)`` of ``sweeps`` calls of `gibbs_sweeps`: ``u ← M u + noise``, ``Cov = C``.

    The sweeps are affine in the chain and the normals, so both are read off the
    code with unit inputs: chains ``e_i`` and no noise give the rows of ``Mᵀ``;
    zero chains, one per normal, each driven by that normal alone, give the rows
    ``a_c`` of the noise's response, ``C = Σ_c a_cᵀ a_c``. ``weights`` ``(n, n)``.
    """
    size = weights.shape[-1]

    def swept(chains: np.ndarray, normals: np.ndarray) -> np.ndarray:
        scratch = (np.empty_like(chains), np.empty((1, size, size)), np.empty((1, size, size)))
        gibbs_sweeps(chains, weights[None], COUPLING, normals, *scratch)
        return chains[0]

    mean_rows = swept(np.eye(size)[None], np.zeros((1, sweeps, 2, size, size)))
    inputs = 2 * sweeps * size
    unit_normals = np.eye(inputs).reshape(inputs, sweeps, 2, size)  # chain c: normal c is 1
    noise_rows = swept(np.zeros((1, inputs, size)), np.moveaxis(unit_normals, 0, 2)[None])
    return mean_rows.T, noise_rows.T @ noise_rows


def scaled_weights(largest_step_eigenvalue: float, seed: int) -> np.ndarray:
    """``W`` ``(4, 4)`` whose ``B = s² WᵀW`` has largest eigenvalue ``largest_step_eigenvalue``."""
    weights = random_weights(4, MASS, HIDDEN_STD, seed)
    largest = np.linalg.eigvalsh(COUPLING**2 * weights.T @ weights)[-1]
    return weights * np.sqrt(largest_step_eigenvalue / largest)


def noise_covariance(noise_factor: np.ndarray) -> np.ndarray:
    """``UᵀU`` of noise factors ``U`` ``(..., n, n)``: the row-form noise ``ζ U`` has it."""
    return np.swapaxes(noise_factor, -1, -2) @ noise_factor


def assert_equal_to_round_off(got: np.ndarray, want: np.ndarray) -> None:
    """Equal up to a few hundred ulps of the largest entry (n, k ≤ 5: short sums)."""
    assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max(), np.abs(got - want).max()


# --- Exact: the transition is k sweeps ------------------------------------------------------

CHOLESKY_BOUND = 1.0 / (CHOLESKY_SAFETY * 4**1.5 * np.finfo(float).eps / 2)

KERNELS = {
    # b_max = largest eigenvalue of B; the kernel μ² − σ_h² X is positive definite iff b < 1.
    "positive definite kernel": 0.7,
    "indefinite kernel": 1.6,
    "beyond the Cholesky bound": 1e5,  # tr C ≥ the bound for k ≥ 2: the spectral path
}


@pytest.mark.parametrize("sweeps", [1, 2, 3, 5])
@pytest.mark.parametrize("kernel", KERNELS)
def test_transition_mean_map_and_noise_covariance_are_those_of_k_sweeps(kernel, sweeps):
    weights = scaled_weights(KERNELS[kernel], seed=sweeps)
    mean_map, noise_factor = k_sweep_transition(weights[None], COUPLING, sweeps)
    swept_map, swept_covariance = composed_sweeps(weights, sweeps)
    assert_equal_to_round_off(mean_map[0], swept_map)
    assert_equal_to_round_off(noise_covariance(noise_factor[0]), swept_covariance)
    beyond = np.trace(swept_covariance) >= CHOLESKY_BOUND
    assert beyond == (kernel == "beyond the Cholesky bound" and sweeps > 1)
    if not beyond:  # the Cholesky factor: upper triangular
        np.testing.assert_array_equal(np.tril(noise_factor[0], -1), 0.0)


@pytest.mark.parametrize("sweeps", [1, 3])
def test_transition_noise_is_the_stationary_covariance_minus_its_propagated_part(sweeps):
    # With K = μ² − σ_h² X positive definite and S = μ² K⁻¹ (the stationary covariance of
    # u = μ v), C = S − Bᵏ S Bᵏ; for one sweep S − B S B = I + B, the sweep's own noise.
    weights = scaled_weights(0.7, seed=11)
    mean_map, noise_factor = k_sweep_transition(weights[None], COUPLING, sweeps)
    stationary = MASS**2 * np.linalg.inv(model_kernel(weights, MASS, HIDDEN_STD))
    step_map = COUPLING**2 * weights.T @ weights
    np.testing.assert_allclose(mean_map[0], np.linalg.matrix_power(step_map, sweeps), atol=1e-14)
    expected = stationary - mean_map[0] @ stationary @ mean_map[0]
    np.testing.assert_allclose(noise_covariance(noise_factor[0]), expected, rtol=1e-12)
    if sweeps == 1:
        np.testing.assert_allclose(expected, np.eye(4) + step_map, rtol=1e-12)


def test_transition_of_a_non_finite_replica_is_nan_and_leaves_the_others_exact():
    # One batch mixing the Cholesky path, the spectral path and a replica with NaN weights:
    # each replica gets its own transition; the NaN one NaN, which _diverged then finds.
    weights = np.stack([scaled_weights(0.7, 1), scaled_weights(1e5, 2), np.full((4, 4), np.nan)])
    mean_map, noise_factor = k_sweep_transition(weights, COUPLING, 3)
    for replica in range(2):
        alone = k_sweep_transition(weights[replica : replica + 1], COUPLING, 3)
        np.testing.assert_array_equal(mean_map[replica], alone[0][0])
        np.testing.assert_array_equal(noise_factor[replica], alone[1][0])
    assert np.isnan(mean_map[2]).all() and np.isnan(noise_factor[2]).all()


# --- Chains at a fixed W ------------------------------------------------------------------


def advanced_chains(sampler: str, weights: np.ndarray, updates: int, sweeps: int, seed: int):
    """Chains ``(chains, n)`` from ``v = 1`` after ``updates`` of ``sweeps`` sweeps each.

    ``sampler`` names the `GIBBS_SAMPLERS` entry; ``weights`` ``(n, n)``, ``|B| = 20 000``.
    """
    count, size = 20_000, weights.shape[-1]
    chains = np.full((1, count, size), MASS)  # u = μ v, v = 1
    generator = np.random.default_rng(seed)
    if sampler == "sweeps":
        normals = generator.standard_normal((1, updates * sweeps, 2, count, size))
        scratch = (np.empty_like(chains), np.empty((1, size, size)), np.empty((1, size, size)))
        gibbs_sweeps(chains, weights[None], COUPLING, normals, *scratch)
    else:
        mean_map, noise_factor = k_sweep_transition(weights[None], COUPLING, sweeps)
        for _ in range(updates):
            normals = generator.standard_normal(chains.shape)
            transition_step(chains, mean_map, noise_factor, normals, np.empty_like(chains))
    return chains[0]


@pytest.mark.parametrize("sampler", GIBBS_SAMPLERS)
def test_chains_of_either_sampler_sample_the_gaussian_with_covariance_inverse_kernel(sampler):
    # Independent chains at fixed W after 20 updates of 3 sweeps (the chain is the AR(1)
    # v' = (σ_h²/μ²) WᵀW v + noise per sweep, memory ≤ 0.7⁶⁰ ~ 5e-10) are N(0, K⁻¹)
    # samples. For N samples the entry C_ij of mean vvᵀ has variance (Σ_ij² + Σ_ii Σ_jj)/N.
    weights = random_weights(4, MASS, HIDDEN_STD, seed=2)
    visible = advanced_chains(sampler, weights, updates=20, sweeps=3, seed=3) / MASS
    count = len(visible)
    sample = visible.T @ visible / count
    covariance = np.linalg.inv(model_kernel(weights, MASS, HIDDEN_STD))
    error = np.sqrt((covariance**2 + np.outer(np.diag(covariance), np.diag(covariance))) / count)
    rows, cols = np.triu_indices(4)
    z = bonferroni_z(rows.size)
    assert (np.abs(sample - covariance)[rows, cols] / error[rows, cols]).max() < z
    # The check can tell W from Wᵀ (chains built on μ² − σ_h² WWᵀ would be far off).
    transposed = np.linalg.inv(model_kernel(weights.T, MASS, HIDDEN_STD))
    assert (np.abs(sample - transposed)[rows, cols] / error[rows, cols]).max() > 3 * z


# --- Training: the same statistics from either sampler ---------------------------------

TRAINING = replace(BASE, replicas=128, steps=2500, batch_size=8, snapshot_every=10)
"""α = 0.1, |B| = 8; snapshots every 10 updates, statistics from step 2000 on."""
TRAINING_BURN_IN = 2000


def replica_statistics(snapshots) -> dict[str, np.ndarray]:
    """Per replica ``(replicas, k)``, averaged over the snapshots from `TRAINING_BURN_IN` on.

    ``level means``: eigenvalues of X, ascending; ``pair centres`` and ``pair
    spacings``: of the four degenerate target pairs; ``level lag autocorrelation``:
    of each level's series between consecutive snapshots (10 updates apart), about
    the replica's own mean (the same bias in both samplers).
    """
    assert snapshots.diverged_replicas == 0
    levels = gram_eigenvalues(snapshots.weights[snapshots.steps >= TRAINING_BURN_IN])
    pairs = [levels[..., pair] for pair in pair_levels()]
    deviation = levels - levels.mean(axis=0)
    return {
        "level means": levels.mean(axis=0),
        "pair centres": np.stack([pair.mean(axis=-1) for pair in pairs], -1).mean(axis=0),
        "pair spacings": np.stack([np.diff(pair, axis=-1)[..., 0] for pair in pairs], -1).mean(0),
        "level lag autocorrelation": (deviation[1:] * deviation[:-1]).sum(axis=0)
        / (deviation**2).sum(axis=0),
    }


def z_scores(first: dict, second: dict) -> np.ndarray:
    """``(mean₁ − mean₂)/√(se₁² + se₂²)`` of every statistic, with replica-scatter errors."""

    def mean_and_error(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(values))

    scores = []
    for name in first:
        (mean_1, error_1), (mean_2, error_2) = map(mean_and_error, (first[name], second[name]))
        scores.append((mean_1 - mean_2) / np.hypot(error_1, error_2))
    return np.concatenate(scores)


def test_training_with_either_sampler_gives_the_same_statistics():
    # Both samplers are the same Markov chain in law: level means (10), pair centres and
    # spacings ⟨S⟩ (4 each) and the levels' lag autocorrelation (10) agree within 4σ,
    # Bonferroni over the 28 comparisons. The runs share the seeds, but the samplers draw
    # different numbers from them, so they are independent.
    statistics = {
        sampler: replica_statistics(simulate(replace(TRAINING, gibbs_sampler=sampler)))
        for sampler in GIBBS_SAMPLERS
    }
    scores = z_scores(statistics["transition"], statistics["sweeps"])
    limit = bonferroni_z(scores.size)
    assert scores.size == 28
    assert np.abs(scores).max() < limit, scores
    # The comparison can fail: one sweep per update is another chain (its chains
    # decorrelate less between updates, which widens the pairs), and it is told apart.
    one_sweep = replica_statistics(simulate(replace(TRAINING, gibbs_steps=1)))
    assert np.abs(z_scores(one_sweep, statistics["sweeps"])).max() > limit
