"""Specifications of the maximum-likelihood fits in `sgd_dyson.fits`.

Samples come from small Gaussian ensembles whose level statistics are known
exactly (Aarts, Lucini & Park 2025): the 2×2 GOE spacing *is* the β = 1 Wigner surmise and the
2×2 GUE spacing the β = 2 one. Every tolerance is 4 standard errors, with the
standard error derived in the test (two-sided false-failure probability ~6e-5).
"""

import numpy as np
import pytest
from scipy import integrate, stats

from sgd_dyson.distributions import surmise_cdf, surmise_log_pdf, surmise_pdf
from sgd_dyson.fits import (
    coulomb_gas_width,
    neighbour_spacings,
    surmise_beta,
    surmise_chi2_test,
    surmise_quantiles,
)

from tolerances import FOUR_SIGMA_TAIL


def goe_matrices(rng: np.random.Generator, samples: int, dim: int, sigma: float) -> np.ndarray:
    """Real symmetric matrices with diagonal variance σ² and off-diagonal variance σ²/2.

    Their density is ∝ exp(−tr H²/(2σ²)), so the eigenvalues follow the β = 1
    Coulomb gas ∝ Π|x_i − x_j| exp(−Σ x_i²/(2σ²)) of width σ.
    """
    matrices = rng.standard_normal((samples, dim, dim)) * sigma / np.sqrt(2)
    matrices = matrices + np.swapaxes(matrices, -1, -2)  # off-diagonal var σ², diagonal 2σ²
    return matrices / np.sqrt(2)  # off-diagonal σ²/2, diagonal σ²


def gue_2x2_spacings(rng: np.random.Generator, samples: int, sigma: float) -> np.ndarray:
    """Level spacings of 2×2 complex Hermitian matrices (GUE of width σ).

    Diagonal N(0, σ²), real and imaginary off-diagonal parts N(0, σ²/2):
    ``S² = (h11 − h22)² + 4|h12|² = 2σ² χ²₃``, i.e. ``P(S) ∝ S² e^{−S²/(4σ²)}``, the
    β = 2 surmise.
    """
    diagonal = sigma * rng.standard_normal((samples, 2))
    off_diagonal = sigma / np.sqrt(2) * rng.standard_normal((samples, 2))
    matrices = np.zeros((samples, 2, 2), dtype=complex)
    matrices[:, 0, 0], matrices[:, 1, 1] = diagonal[:, 0], diagonal[:, 1]
    matrices[:, 0, 1] = off_diagonal[:, 0] + 1j * off_diagonal[:, 1]
    matrices[:, 1, 0] = np.conj(matrices[:, 0, 1])
    return np.diff(np.linalg.eigvalsh(matrices), axis=1)[:, 0]


def surmise_fisher_information(beta: float) -> float:
    """Fisher information per spacing of β in the surmise family: ``−E[∂²_β log P_β(s)]``.

    The second derivative is a central difference of `surmise_log_pdf` (step 1e-3,
    relative error ~1e-6, irrelevant for a standard error).
    """
    step = 1e-3

    def curvature(s):
        return (
            surmise_log_pdf(s, beta + step)
            - 2 * surmise_log_pdf(s, beta)
            + surmise_log_pdf(s, beta - step)
        ) / step**2

    expectation, _ = integrate.quad(lambda s: surmise_pdf(s, beta) * curvature(s), 0, np.inf)
    return -expectation


# --- Coulomb-gas width --------------------------------------------------------------


@pytest.mark.parametrize(("dim", "seed"), [(2, 11), (3, 12)])
def test_coulomb_gas_width_recovers_centre_and_sigma_of_goe_eigenvalues(dim, seed):
    center, sigma, samples = 2.0, 0.15, 20_000
    rng = np.random.default_rng(seed)
    levels = center + np.linalg.eigvalsh(goe_matrices(rng, samples, dim, sigma))
    fitted_center, fitted_sigma = coulomb_gas_width(levels, beta=1.0)
    # Σ_i (x_i − x0)² = tr H² = σ² χ² with n + βn(n−1)/2 degrees per sample (n diagonal
    # entries, each σ²χ²₁, and n(n−1)/2 off-diagonal pairs, each 2·(σ²/2)χ²₁): 3 for n = 2,
    # 6 for n = 3. So σ̂² = σ² χ²_{dof·samples}/(dof·samples), whose relative standard error is
    # sqrt(2/(dof·samples)), and σ̂'s is half that.
    degrees = dim + dim * (dim - 1) / 2
    sigma_error = sigma / np.sqrt(2 * degrees * samples)
    # The centre is mean(x) = mean(tr H)/n with var(tr H) = n σ²: error σ/sqrt(n·samples).
    center_error = sigma / np.sqrt(dim * samples)
    # 4σ: false-failure probability ~6e-5 each.
    assert abs(fitted_sigma - sigma) < 4 * sigma_error
    assert abs(fitted_center - center) < 4 * center_error


def test_coulomb_gas_width_of_one_level_is_the_gaussian_maximum_likelihood():
    rng = np.random.default_rng(3)
    levels = rng.normal(5.0, 2.0, size=(1000, 1))
    center, sigma = coulomb_gas_width(levels)
    assert center == pytest.approx(levels.mean(), rel=1e-14)
    assert sigma == pytest.approx(levels.std(ddof=0), rel=1e-12)


def test_coulomb_gas_width_uses_the_repulsion_degrees_of_beta():
    # The likelihood normaliser scales as σ^{n + βn(n−1)/2}: at β = 2 the 3-level width is
    # smaller than at β = 1 by sqrt((3 + 3)/(3 + 6)), whatever the data.
    levels = np.random.default_rng(4).normal(size=(100, 3))
    _, sigma_goe = coulomb_gas_width(levels, beta=1.0)
    _, sigma_gue = coulomb_gas_width(levels, beta=2.0)
    assert sigma_gue / sigma_goe == pytest.approx(np.sqrt(6 / 9), rel=1e-14)


def test_neighbour_spacings_are_differences_of_sorted_levels():
    levels = np.array([[3.0, 1.0, 2.5], [0.0, -1.0, 4.0]])
    np.testing.assert_array_equal(neighbour_spacings(levels), [[1.5, 0.5], [1.0, 4.0]])


# --- Surmise β ----------------------------------------------------------------------


def test_surmise_beta_recovers_goe_beta_one_from_2x2_goe_spacings():
    samples, sigma = 20_000, 0.3
    rng = np.random.default_rng(21)
    levels = np.linalg.eigvalsh(goe_matrices(rng, samples, 2, sigma))
    # Unfolded with the exact mean spacing √π σ of the two-level gas.
    spacing = neighbour_spacings(levels)[:, 0] / (np.sqrt(np.pi) * sigma)
    beta = surmise_beta(spacing)
    # Asymptotic standard error of the maximum-likelihood β: 1/sqrt(samples · I(β)).
    standard_error = 1 / np.sqrt(samples * surmise_fisher_information(1.0))
    # 4σ: false-failure probability ~6e-5.
    assert abs(beta - 1.0) < 4 * standard_error


def test_surmise_beta_recovers_gue_beta_two_from_2x2_gue_spacings():
    samples, sigma = 20_000, 0.3
    rng = np.random.default_rng(22)
    # ⟨S⟩ = √2 σ ⟨χ₃⟩ = √2 σ · 2√2/√π = 4σ/√π.
    spacing = gue_2x2_spacings(rng, samples, sigma) / (4 * sigma / np.sqrt(np.pi))
    beta = surmise_beta(spacing)
    standard_error = 1 / np.sqrt(samples * surmise_fisher_information(2.0))
    # 4σ: false-failure probability ~6e-5.
    assert abs(beta - 2.0) < 4 * standard_error


def test_surmise_beta_ignores_zero_spacings():
    spacing = np.random.default_rng(5).rayleigh(np.sqrt(2 / np.pi), 1000)
    assert surmise_beta(np.concatenate([spacing, np.zeros(10)])) == surmise_beta(spacing)


# --- χ² test of the surmise ---------------------------------------------------------


def test_surmise_chi2_p_value_is_uniform_for_goe_spacings_with_fitted_beta():
    repetitions, samples, bins = 2000, 500, 20
    rng = np.random.default_rng(31)
    levels = np.linalg.eigvalsh(goe_matrices(rng, repetitions * samples, 2, 1.0))
    spacing = neighbour_spacings(levels)[:, 0].reshape(repetitions, samples) / np.sqrt(np.pi)
    p_values = np.array([surmise_chi2_test(s, surmise_beta(s), bins)[2] for s in spacing])
    # Under the null a uniform p-value is below 0.05 with probability 0.05: the count is
    # binomial, standard error sqrt(0.05·0.95/repetitions); and the mean p-value is 1/2 with
    # standard error sqrt(1/12/repetitions). 4σ: false-failure probability ~6e-5 each.
    rejected = np.mean(p_values < 0.05)
    assert abs(rejected - 0.05) < 4 * np.sqrt(0.05 * 0.95 / repetitions)
    assert abs(p_values.mean() - 0.5) < 4 * np.sqrt(1 / 12 / repetitions)


def test_surmise_chi2_p_value_is_uniform_when_the_mean_spacing_is_estimated_too():
    repetitions, samples, bins = 2000, 500, 20
    rng = np.random.default_rng(34)
    levels = np.linalg.eigvalsh(goe_matrices(rng, repetitions * samples, 2, 1.0))
    spacing = neighbour_spacings(levels)[:, 0].reshape(repetitions, samples)
    unfolded = spacing / spacing.mean(axis=1, keepdims=True)
    p_values = np.array(
        [surmise_chi2_test(s, surmise_beta(s), bins, estimated_parameters=2)[2] for s in unfolded]
    )
    # As above: binomial and uniform-mean standard errors, 4σ each.
    rejected = np.mean(p_values < 0.05)
    assert abs(rejected - 0.05) < 4 * np.sqrt(0.05 * 0.95 / repetitions)
    assert abs(p_values.mean() - 0.5) < 4 * np.sqrt(1 / 12 / repetitions)


def test_surmise_chi2_uses_equiprobable_bins_and_bins_minus_two_degrees():
    bins = 10
    # One spacing at the centre of each equiprobable bin, repeated: a perfect fit.
    centres = surmise_quantiles((np.arange(bins) + 0.5) / bins, 1.0)
    chi2, dof, p_value = surmise_chi2_test(np.repeat(centres, 7), 1.0, bins)
    assert (chi2, dof, p_value) == (0.0, bins - 2, 1.0)


def test_surmise_chi2_statistic_of_poisson_spacings_matches_its_noncentral_expectation():
    samples, bins = 2000, 20
    spacing = np.random.default_rng(32).exponential(1.0, samples)
    chi2, dof, p_value = surmise_chi2_test(spacing, 1.0, bins)
    # Bin probabilities of the exponential law in the GOE-equiprobable bins give the
    # noncentrality λ = samples Σ (p_i − 1/bins)²·bins; the statistic is then ≈ noncentral
    # χ²(bins − 1, λ) with mean bins − 1 + λ and variance 2(bins − 1 + 2λ).
    edges = surmise_quantiles(np.linspace(0, 1, bins + 1), 1.0)
    probability = np.diff(stats.expon.cdf(edges))
    noncentrality = samples * bins * np.sum((probability - 1 / bins) ** 2)
    mean, std = bins - 1 + noncentrality, np.sqrt(2 * (bins - 1 + 2 * noncentrality))
    # 4σ: false-failure probability ~6e-5.
    assert abs(chi2 - mean) < 4 * std
    assert p_value == stats.chi2.sf(chi2, dof)
    # Even at the 4σ-low end of χ² (λ ≈ 1900) the p-value underflows, so rejection at the
    # 4σ level (the level of the null test) cannot fail by chance.
    assert p_value < FOUR_SIGMA_TAIL


def test_surmise_chi2_rejects_poisson_spacings_even_with_fitted_beta():
    spacing = np.random.default_rng(33).exponential(1.0, 2000)
    unfolded = spacing / spacing.mean()
    # The best surmise for exponential spacings still misses them by a χ² ~ 200 for 18
    # degrees of freedom; rejection at the 4σ level (same level as the null test).
    _, _, p_value = surmise_chi2_test(unfolded, surmise_beta(unfolded), 20)
    assert p_value < FOUR_SIGMA_TAIL


# --- Quantiles ----------------------------------------------------------------------


@pytest.mark.parametrize("beta", [1.0, 2.0, 4.0, 0.5])
def test_surmise_quantiles_invert_the_surmise_cdf(beta):
    probability = np.linspace(0.001, 0.999, 99)
    np.testing.assert_allclose(
        surmise_cdf(surmise_quantiles(probability, beta), beta), probability, rtol=1e-10
    )
    spacing = np.linspace(0.05, 3.0, 60)
    np.testing.assert_allclose(
        surmise_quantiles(surmise_cdf(spacing, beta), beta), spacing, rtol=1e-9
    )


def test_surmise_quantiles_span_zero_to_infinity():
    assert surmise_quantiles(np.array([0.0, 1.0]), 1.0).tolist() == [0.0, np.inf]
