"""Specifications of the cluster statistics: spacing ratios and density-model fits.

Samples come from ensembles whose answers are known: Gaussian orthogonal matrices
(`sgd_dyson.sampling.goe_matrices`; with off-diagonal standard deviation ``scale`` their
eigenvalues are the β = 1 Coulomb gas of width ``σ = √2 · scale``), independent uniform
("Poisson") levels, and exact draws from the two-component pair density. Monte Carlo
tolerances are 4 standard errors (two-sided false-failure probability ~6e-5 each) unless a
comment says otherwise; quadrature checks use the quadrature's own accuracy.
"""

import numpy as np
import pytest
from scipy import integrate, stats

from sgd_dyson import fits
from sgd_dyson.distributions import (
    coulomb_gas_log_likelihood,
    gaussian_log_likelihood,
    semicircle_density,
    semicircle_log_likelihood,
    two_component_density,
    two_component_log_likelihood,
    two_level_density,
)
from sgd_dyson.fits import (
    coulomb_gas_fit,
    coulomb_gas_width,
    gaussian_fit,
    goe_spacing_ratio,
    information_criteria,
    likelihood_ratio_test,
    semicircle_fit,
    spacing_ratios,
    two_component_fit,
)
from sgd_dyson.sampling import goe_matrices

from tolerances import FOUR_SIGMA_TAIL

GOE_SURMISE_RATIO = 4 - 2 * np.sqrt(3)
"""⟨r⟩ of the 3×3 Wigner-like surmise, 0.5359 (Atas et al., PRL 110 (2013) 084101)."""

GOE_LARGE_N_RATIO, GOE_LARGE_N_RATIO_ERROR = 0.5307, 0.0001
"""Large-n GOE ⟨r⟩ and the error quoted with it (Atas et al. 2013)."""

POISSON_RATIO = 2 * np.log(2) - 1
"""⟨r⟩ of independent levels, 0.3863."""


def goe_levels(
    rng: np.random.Generator, samples: int, n: int, center: float, sigma: float
) -> np.ndarray:
    """Eigenvalues ``(samples, n)`` of ``x0·I + H``, ``H`` GOE of Coulomb-gas width σ."""
    return center + np.linalg.eigvalsh(goe_matrices(rng, (samples,), n, sigma / np.sqrt(2)))


def two_component_pairs(
    rng: np.random.Generator, samples: int, center: float, sigma1: float, sigma2: float
) -> np.ndarray:
    """Exact draws of sorted pairs from ``∝ |x1 − x2| φ1(x1) φ2(x2)`` (no rejection needed).

    For independent ``xk ~ N(x0, σk²)`` the difference ``d = x1 − x2 ~ N(0, s²)``,
    ``s² = σ1² + σ2²``, is independent of ``m = (σ2² x1 + σ1² x2)/s² ~ N(x0, σ1²σ2²/s²)``
    (their covariance ``(σ2²σ1² − σ1²σ2²)/s²`` vanishes). The weight ``|x1 − x2| = |d|``
    therefore only tilts ``d``: ``|d|`` becomes Rayleigh(s) with a random sign, and
    ``x1 = m + σ1² d/s²``, ``x2 = m − σ2² d/s²`` invert the change of variables.
    """
    total = np.hypot(sigma1, sigma2)
    difference = rng.rayleigh(total, samples) * rng.choice([-1.0, 1.0], samples)
    middle = center + sigma1 * sigma2 / total * rng.standard_normal(samples)
    pairs = np.stack(
        [middle + sigma1**2 / total**2 * difference, middle - sigma2**2 / total**2 * difference],
        axis=1,
    )
    return np.sort(pairs, axis=1)


def observed_information(function, point: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``−∂²f`` at ``point`` by central differences (steps small against the errors)."""
    size = point.size
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            shift_i, shift_j = np.eye(size)[i] * steps[i], np.eye(size)[j] * steps[j]
            hessian[i, j] = (
                function(point + shift_i + shift_j)
                - function(point + shift_i - shift_j)
                - function(point - shift_i + shift_j)
                + function(point - shift_i - shift_j)
            ) / (4 * steps[i] * steps[j])
    return -hessian


# --- Spacing ratios -----------------------------------------------------------------


def test_spacing_ratios_are_min_over_max_of_consecutive_sorted_spacings():
    levels = np.array([[3.0, 0.0, 3.5, 1.0], [0.0, 4.0, 1.0, 2.0]])
    # Sorted spacings (1, 2, 0.5) and (1, 1, 2).
    np.testing.assert_allclose(spacing_ratios(levels), [[0.5, 0.25], [1.0, 0.5]], rtol=1e-15)


def test_spacing_ratios_need_three_levels():
    with pytest.raises(ValueError, match="at least 3 levels"):
        spacing_ratios(np.zeros((4, 2)))


def test_three_by_three_surmise_mean_ratio_is_four_minus_two_sqrt_three():
    # P(r) = (27/8)(r + r²)/(1 + r + r²)^{5/2} on r ∈ [0, ∞) (β = 1), folded onto [0, 1].
    def surmise(r):
        return 27 / 8 * (r + r**2) / (1 + r + r**2) ** 2.5

    total, _ = integrate.quad(lambda r: 2 * surmise(r), 0, 1, epsabs=0, epsrel=1e-12)
    mean, _ = integrate.quad(lambda r: 2 * r * surmise(r), 0, 1, epsabs=0, epsrel=1e-12)
    assert total == pytest.approx(1.0, rel=1e-10)
    assert mean == pytest.approx(GOE_SURMISE_RATIO, rel=1e-10)
    assert mean == pytest.approx(0.5359, abs=5e-5)


def test_sampled_three_by_three_goe_ratio_matches_the_surmise_and_other_seeds():
    # The surmise is derived from the exact joint density of 3×3 Gaussian matrices
    # (Atas et al. 2013): it approximates large n, but at n = 3 it is exact, so sampled
    # 3×3 GOE matrices must reproduce 4 − 2√3 within their sampling error.
    samples = 200_000
    means, errors = [], []
    for seed in (301, 302):
        ratios = spacing_ratios(goe_levels(np.random.default_rng(seed), samples, 3, 0.0, 1.0))
        means.append(ratios.mean())
        errors.append(ratios.std(ddof=1) / np.sqrt(samples))  # one ratio per matrix
    # 4σ: false-failure probability ~6e-5 each.
    for mean, error in zip(means, errors, strict=True):
        assert abs(mean - GOE_SURMISE_RATIO) < 4 * error
    assert abs(means[0] - means[1]) < 4 * np.hypot(*errors)


def test_goe_spacing_ratio_is_the_mean_ratio_of_goe_samples_and_independent_of_batching(
    monkeypatch,
):
    n, samples, seed = 12, 300, 5
    ratios = spacing_ratios(
        np.linalg.eigvalsh(goe_matrices(np.random.default_rng(seed), (samples,), n, 1.0))
    )
    whole = goe_spacing_ratio(n, samples, np.random.default_rng(seed))
    monkeypatch.setattr(fits, "GOE_SPACING_RATIO_BATCH", 7 * n * n)  # 43 batches of 7
    batched = goe_spacing_ratio(n, samples, np.random.default_rng(seed))
    assert whole == pytest.approx(ratios.mean(), rel=1e-13)
    assert batched == pytest.approx(whole, rel=1e-13)


def test_large_n_goe_spacing_ratio_approaches_0_5307():
    n, samples, seed = 64, 2000, 303
    mean = goe_spacing_ratio(n, samples, np.random.default_rng(seed))
    # Error from the same matrices: ratios of one matrix are correlated, matrices are not,
    # so the standard error is the spread of per-matrix means over sqrt(samples).
    levels = np.linalg.eigvalsh(goe_matrices(np.random.default_rng(seed), (samples,), n, 1.0))
    per_matrix = spacing_ratios(levels).mean(axis=1)
    assert mean == pytest.approx(per_matrix.mean(), rel=1e-12)
    error = per_matrix.std(ddof=1) / np.sqrt(samples)
    # Finite-size allowance: averaged over all levels (edges included) ⟨r⟩ sits below
    # 0.5307 by about 0.02/n (measured while writing this test: −0.0018(2) at n = 10,
    # −0.0008(2) at n = 30, −0.0004(2) at n = 100, +0.0002(4) at n = 300); allow 0.1/n,
    # plus the reference's own error. 4σ: false-failure probability ~6e-5.
    allowance = 0.1 / n + GOE_LARGE_N_RATIO_ERROR
    assert abs(mean - GOE_LARGE_N_RATIO) < 4 * error + allowance
    # ... and that is far from the independent-level value 0.3863.
    assert mean - POISSON_RATIO > 0.1


def test_independent_uniform_levels_give_the_poisson_ratio():
    # For n independent uniform levels the spacings are exchangeable flat-Dirichlet, so
    # s_k/(s_k + s_{k−1}) is uniform and ⟨r⟩ = 2∫_0^{1/2} u/(1 − u) du = 2 ln 2 − 1 exactly,
    # for every n ≥ 3: no finite-size allowance.
    samples, n = 4000, 100
    levels = np.random.default_rng(304).uniform(size=(samples, n))
    per_sample = spacing_ratios(levels).mean(axis=1)
    error = per_sample.std(ddof=1) / np.sqrt(samples)
    # 4σ: false-failure probability ~6e-5.
    assert abs(per_sample.mean() - POISSON_RATIO) < 4 * error


# --- Equal-width Coulomb gas --------------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(2, 401), (3, 402), (5, 403)])
def test_coulomb_gas_log_likelihood_is_maximal_at_the_closed_form_width(n, seed):
    levels = goe_levels(np.random.default_rng(seed), 2000, n, 1.5, 0.2)
    fit = coulomb_gas_fit(levels)
    assert (fit.center, fit.sigma) == coulomb_gas_width(levels)
    assert fit.log_likelihood == coulomb_gas_log_likelihood(levels, fit.center, fit.sigma)
    assert fit.free_parameters == 2
    for center_shift, sigma_factor in [(1e-3, 1), (-1e-3, 1), (0, 1.01), (0, 0.99), (1e-3, 1.01)]:
        perturbed = coulomb_gas_log_likelihood(
            levels, fit.center + center_shift, fit.sigma * sigma_factor
        )
        assert perturbed < fit.log_likelihood


@pytest.mark.parametrize(("center", "sigma"), [(0.0, 1.0), (2.0, 0.3)])
def test_two_level_coulomb_gas_likelihood_is_a_normalised_density_of_sorted_pairs(center, sigma):
    def density(upper, lower):
        return np.exp(coulomb_gas_log_likelihood(np.array([[lower, upper]]), center, sigma))

    cut_low, cut_high = center - 12 * sigma, center + 12 * sigma
    total, _ = integrate.dblquad(
        density, cut_low, cut_high, lambda lower: lower, cut_high, epsabs=0, epsrel=1e-10
    )
    assert total == pytest.approx(1.0, rel=1e-8)
    # Explicitly: (b − a) e^{−Σ y²/(2σ²)} / (2√π σ³), half the full-plane normaliser 4√π σ³.
    lower, upper = center - 0.3 * sigma, center + 1.1 * sigma
    expected = (
        (upper - lower)
        * np.exp(-((lower - center) ** 2 + (upper - center) ** 2) / (2 * sigma**2))
        / (2 * np.sqrt(np.pi) * sigma**3)
    )
    assert density(upper, lower) == pytest.approx(expected, rel=1e-13)


def test_coulomb_gas_log_likelihood_ignores_the_order_of_levels_in_a_sample():
    levels = goe_levels(np.random.default_rng(404), 50, 4, 0.0, 1.0)
    shuffled = np.random.default_rng(405).permuted(levels, axis=1)
    assert coulomb_gas_log_likelihood(shuffled, 0.1, 0.9) == pytest.approx(
        coulomb_gas_log_likelihood(levels, 0.1, 0.9), rel=1e-13
    )


# --- Two-component pairs: densities -------------------------------------------------

TWO_COMPONENT_CASES = [(0.0, 1.0, 0.5), (2.0, 0.1, 0.3), (-1.0, 2.0, 2.0)]


@pytest.mark.parametrize(("center", "sigma1", "sigma2"), TWO_COMPONENT_CASES)
def test_two_component_pair_likelihood_is_normalised_over_sorted_pairs(center, sigma1, sigma2):
    def density(upper, lower):
        levels = np.array([[lower, upper]])
        return np.exp(two_component_log_likelihood(levels, center, sigma1, sigma2))

    width = max(sigma1, sigma2)
    cut_low, cut_high = center - 12 * width, center + 12 * width
    total, _ = integrate.dblquad(
        density, cut_low, cut_high, lambda lower: lower, cut_high, epsabs=0, epsrel=1e-10
    )
    assert total == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize(("center", "sigma"), [(0.0, 1.0), (1.5, 0.2)])
def test_two_component_likelihood_with_equal_widths_is_the_coulomb_gas(center, sigma):
    levels = goe_levels(np.random.default_rng(406), 500, 2, center, sigma)
    assert two_component_log_likelihood(levels, center, sigma, sigma) == pytest.approx(
        coulomb_gas_log_likelihood(levels, center, sigma), rel=1e-12
    )


def test_two_component_likelihood_is_symmetric_in_the_widths_and_the_level_order():
    levels = two_component_pairs(np.random.default_rng(407), 100, 0.0, 1.0, 0.4)
    reference = two_component_log_likelihood(levels, 0.1, 0.9, 0.5)
    assert two_component_log_likelihood(levels, 0.1, 0.5, 0.9) == pytest.approx(reference)
    assert two_component_log_likelihood(levels[:, ::-1], 0.1, 0.9, 0.5) == reference


@pytest.mark.parametrize(("center", "sigma1", "sigma2"), TWO_COMPONENT_CASES)
def test_two_component_density_integrates_to_one(center, sigma1, sigma2):
    total, _ = integrate.quad(
        two_component_density,
        -np.inf,
        np.inf,
        args=(center, sigma1, sigma2),
        epsabs=0,
        epsrel=1e-12,
    )
    assert total == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize(("center", "sigma"), [(0.0, 1.0), (2.0, 0.05), (-1.5, 3.0)])
def test_two_component_density_with_equal_widths_is_the_two_level_density(center, sigma):
    x = center + sigma * np.linspace(-6, 6, 121)
    np.testing.assert_allclose(
        two_component_density(x, center, sigma, sigma),
        two_level_density(x, center, sigma),
        rtol=1e-12,
        atol=0,
    )


@pytest.mark.parametrize(("center", "sigma1", "sigma2"), TWO_COMPONENT_CASES[:2])
def test_two_component_density_is_the_one_level_marginal_of_the_pair(center, sigma1, sigma2):
    # A level picked at random from a sorted pair (a, b): ρ(x) = ½[∫_{b > x} q(x, b) db +
    # ∫_{a < x} q(a, x) da], q the normalised pair density of the log-likelihood.
    def pair(lower, upper):
        levels = np.array([[lower, upper]])
        return np.exp(two_component_log_likelihood(levels, center, sigma1, sigma2))

    width = max(sigma1, sigma2)
    for x in center + width * np.array([-2.2, -0.5, 0.0, 0.3, 1.7]):
        as_lower, _ = integrate.quad(lambda b, x=x: pair(x, b), x, x + 14 * width, epsrel=1e-11)
        as_upper, _ = integrate.quad(lambda a, x=x: pair(a, x), x - 14 * width, x, epsrel=1e-11)
        marginal = 0.5 * (as_lower + as_upper)
        assert two_component_density(x, center, sigma1, sigma2) == pytest.approx(marginal, rel=1e-8)


def test_two_component_sampler_draws_levels_with_the_two_component_density():
    center, sigma1, sigma2, samples = 0.5, 0.3, 0.1, 20_000
    rng = np.random.default_rng(408)
    pairs = two_component_pairs(rng, samples, center, sigma1, sigma2)
    picked = pairs[np.arange(samples), rng.integers(0, 2, samples)]  # one level per pair
    # CDF of the density by cumulative Simpson on a fine grid (error ≪ the KS resolution).
    grid = center + np.linspace(-10, 10, 40_001) * sigma1
    cdf = integrate.cumulative_simpson(
        two_component_density(grid, center, sigma1, sigma2), x=grid, initial=0.0
    )
    result = stats.kstest(picked, lambda x: np.interp(x, grid, cdf))
    # Rejecting at the 4σ tail probability: false-failure probability ~6e-5.
    assert result.pvalue > FOUR_SIGMA_TAIL


# --- Two-component pairs: fit and likelihood-ratio test -----------------------------


def test_two_component_fit_recovers_unequal_widths_within_their_observed_information_errors():
    center, sigma1, sigma2, samples = 1.0, 0.3, 0.1, 4000
    levels = two_component_pairs(np.random.default_rng(409), samples, center, sigma1, sigma2)
    fit = two_component_fit(levels)
    assert fit.sigma1 >= fit.sigma2
    assert fit.free_parameters == 3
    estimate = np.array([fit.center, fit.sigma1, fit.sigma2])
    assert fit.log_likelihood == pytest.approx(two_component_log_likelihood(levels, *estimate))
    # Asymptotic covariance: the inverse observed information at the MLE (steps 1e-4 σ2,
    # far below the ~2e-3 errors, leave a relative Hessian error ~1e-6).
    information = observed_information(
        lambda theta: two_component_log_likelihood(levels, *theta), estimate, np.full(3, 1e-5)
    )
    errors = np.sqrt(np.diag(np.linalg.inv(information)))
    # 4σ: false-failure probability ~6e-5 each.
    np.testing.assert_array_less(np.abs(estimate - [center, sigma1, sigma2]), 4 * errors)
    # The split is resolved: σ1 − σ2 is many errors from zero.
    assert fit.sigma1 - fit.sigma2 > 10 * np.hypot(errors[1], errors[2])


def test_two_component_fit_needs_pairs():
    with pytest.raises(ValueError, match="pairs"):
        two_component_fit(np.zeros((10, 3)))


def test_likelihood_ratio_strongly_prefers_the_two_component_density_for_unequal_widths():
    levels = two_component_pairs(np.random.default_rng(410), 500, 0.0, 0.3, 0.1)
    restricted, full = coulomb_gas_fit(levels), two_component_fit(levels)
    statistic, p_value = likelihood_ratio_test(
        restricted.log_likelihood, full.log_likelihood, 1, boundary=True
    )
    # Expected statistic ≈ 500 × KL ≈ 300 (χ² noncentrality), standard deviation ≈ 35;
    # even its 4σ-low end (~160) has p ~ 1e-36, so rejection at the 4σ level cannot
    # fail by chance.
    assert statistic > 0
    assert p_value < FOUR_SIGMA_TAIL
    aic_restricted, bic_restricted = information_criteria(
        restricted.log_likelihood, restricted.free_parameters, levels.shape[0]
    )
    aic_full, bic_full = information_criteria(
        full.log_likelihood, full.free_parameters, levels.shape[0]
    )
    assert aic_full < aic_restricted
    assert bic_full < bic_restricted


def test_likelihood_ratio_test_of_equal_width_pairs_has_the_chernoff_null_distribution():
    # Under σ1 = σ2 (2×2 GOE eigenvalues) the labels are not observed, so the likelihood is
    # even in log(σ1/σ2): only ψ = log²(σ1/σ2) ≥ 0 is identified and the null ψ = 0 is on
    # its boundary. The statistic is then ½χ²_0 + ½χ²_1 (Chernoff 1954): half the fits
    # return equal widths, and the boundary-corrected p-value is uniform on (0, ½), while
    # the plain χ²_1 p-value rejects only half as often as its nominal level.
    repetitions, samples = 1500, 200
    levels = goe_levels(np.random.default_rng(411), repetitions * samples, 2, 2.0, 0.1)
    statistics = np.array(
        [
            2 * (two_component_fit(block).log_likelihood - coulomb_gas_fit(block).log_likelihood)
            for block in levels.reshape(repetitions, samples, 2)
        ]
    )
    assert statistics.min() > -1e-8  # the full fit is never worse than the restricted one
    corrected = np.array(
        [likelihood_ratio_test(0.0, s / 2, 1, boundary=True)[1] for s in statistics]
    )
    plain = np.array([likelihood_ratio_test(0.0, s / 2, 1)[1] for s in statistics])
    # Finite-sample allowance: the ψ score is skewed, so at N pairs the equal-width fits
    # exceed ½ by δ ≈ 0.57/√N (measured while writing this test: 0.079, 0.041, 0.018 at
    # N = 50, 200, 1000, exactly where the curvature in log(σ1/σ2) at the equal-width MLE
    # is negative, so not an optimiser failure), and every rejection rate α is lowered to
    # ≈ α(1 − 2δ). Allow δ = 0.6/√N.
    excess = 0.6 / np.sqrt(samples)

    def binomial_error(probability):
        return np.sqrt(probability * (1 - probability) / repetitions)

    # Binomial counts; 4σ: false-failure probability ~6e-5 each.
    assert abs(np.mean(statistics < 1e-6) - 0.5) < 4 * binomial_error(0.5) + excess
    for level in (0.05, 0.2):
        rejected = np.mean(corrected < level)
        assert abs(rejected - level) < 4 * binomial_error(level) + 2 * level * excess
    assert abs(np.mean(plain < 0.05) - 0.025) < 4 * binomial_error(0.025) + 0.05 * excess


def test_likelihood_ratio_test_statistic_and_p_values():
    statistic, p_value = likelihood_ratio_test(-110.0, -104.0, 2)
    assert statistic == 12.0
    assert p_value == pytest.approx(np.exp(-6.0), rel=1e-12)  # χ²_2 survival is e^{−x/2}
    _, corrected = likelihood_ratio_test(-110.0, -104.0, 2, boundary=True)
    assert corrected == pytest.approx(0.5 * (stats.chi2.sf(12, 1) + np.exp(-6.0)), rel=1e-12)
    _, corrected_one = likelihood_ratio_test(-110.0, -108.0, 1, boundary=True)
    assert corrected_one == pytest.approx(0.5 * stats.chi2.sf(4.0, 1), rel=1e-12)
    assert likelihood_ratio_test(-5.0, -5.0, 1, boundary=True) == (0.0, 1.0)
    assert likelihood_ratio_test(-5.0, -5.1, 1)[1] == 1.0


# --- Semicircle ---------------------------------------------------------------------


@pytest.mark.parametrize(("center", "radius"), [(0.0, 1.0), (3.0, 0.2)])
def test_semicircle_density_integrates_to_one_and_vanishes_outside(center, radius):
    total, _ = integrate.quad(
        semicircle_density, center - radius, center + radius, args=(center, radius), epsrel=1e-12
    )
    assert total == pytest.approx(1.0, rel=1e-10)
    outside = center + radius * np.array([-1.5, -1.0, 1.0, 2.0])
    assert np.all(semicircle_density(outside, center, radius) == 0)


def test_semicircle_log_likelihood_sums_log_densities_of_sorted_levels():
    levels = np.array([[0.1, -0.5, 0.7], [0.0, 0.2, -0.9]])
    expected = 2 * np.log(6) + np.sum(np.log(semicircle_density(levels, 0.05, 1.0)))
    assert semicircle_log_likelihood(levels, 0.05, 1.0) == pytest.approx(expected, rel=1e-13)
    assert semicircle_log_likelihood(levels, 0.05, 0.9) == -np.inf  # −0.9 outside


def test_semicircle_fit_recovers_the_radius_of_large_goe_matrices():
    # R = σ sqrt(2βn) for the β = 1 gas of width σ. The fitted R is pinned by the extreme
    # levels (the log-likelihood falls to −∞ at the edge), which fluctuate on the
    # Tracy–Widom scale, relative n^{-2/3}: not a Gaussian error one can derive, so it is
    # measured as the spread of independent single-matrix fits. Finite-n corrections to
    # the level density are O(1/n) (measured while writing this test: the mean of R̂/R − 1
    # is ≈ −0.5/n for n = 100…1000); allowance 2/n.
    n, matrices, center, sigma = 300, 24, 4.0, 0.05
    radius = sigma * np.sqrt(2 * n)
    rng = np.random.default_rng(412)
    relative, shifts = [], []
    for _ in range(matrices):
        fit = semicircle_fit(goe_levels(rng, 1, n, center, sigma))
        relative.append(fit.radius / radius - 1)
        shifts.append((fit.center - center) / radius)
    relative, shifts = np.array(relative), np.array(shifts)
    # The tolerance uses the estimated spread: Student t with matrices − 1 = 23 degrees of
    # freedom, two-sided P(|t| > 5) ≈ 5e-5.
    t_bound = 5.0
    assert 2 * stats.t.sf(t_bound, matrices - 1) < 1e-4
    standard_error = relative.std(ddof=1) / np.sqrt(matrices)
    assert abs(relative.mean()) < t_bound * standard_error + 2 / n
    assert abs(shifts.mean()) < t_bound * shifts.std(ddof=1) / np.sqrt(matrices)
    # And each single fit is within the edge scale: the spread is a fraction of n^{-2/3}.
    assert relative.std(ddof=1) < n ** (-2 / 3)


def test_semicircle_fit_is_a_maximum_inside_the_support():
    levels = goe_levels(np.random.default_rng(413), 5, 50, -1.0, 0.3)
    fit = semicircle_fit(levels)
    assert fit.free_parameters == 2
    assert np.max(np.abs(levels - fit.center)) < fit.radius
    assert fit.log_likelihood == semicircle_log_likelihood(levels, fit.center, fit.radius)
    step = 1e-4 * fit.radius
    for center_shift, radius_shift in [(step, 0), (-step, 0), (0, step), (0, -step), (step, step)]:
        perturbed = semicircle_log_likelihood(
            levels, fit.center + center_shift, fit.radius + radius_shift
        )
        assert perturbed < fit.log_likelihood


# --- Gaussian and information criteria ----------------------------------------------


def test_gaussian_fit_of_single_levels_is_the_normal_maximum_likelihood():
    levels = np.random.default_rng(414).normal(2.0, 0.5, size=(1000, 1))
    fit = gaussian_fit(levels)
    assert fit.center == pytest.approx(levels.mean(), rel=1e-14)
    assert fit.sigma == pytest.approx(levels.std(ddof=0), rel=1e-12)
    expected = np.sum(stats.norm.logpdf(levels, fit.center, fit.sigma))
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-12)
    assert fit.free_parameters == 2
    # For one level the Coulomb gas is this Gaussian.
    coulomb = coulomb_gas_fit(levels)
    assert coulomb.sigma == pytest.approx(fit.sigma, rel=1e-12)
    assert coulomb.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-12)
    assert gaussian_log_likelihood(levels, 2.1, 0.6) < fit.log_likelihood


def test_information_criteria_are_two_k_and_k_log_n_minus_twice_the_log_likelihood():
    aic, bic = information_criteria(-10.0, 3, 100)
    assert aic == 26.0
    assert bic == pytest.approx(3 * np.log(100) + 20.0, rel=1e-15)
