"""Specifications of the random-matrix formulas in `sgd_dyson.distributions`.

Quadrature checks use tolerances of the quadrature's own accuracy (far below any
physics effect); Monte Carlo checks use tolerances derived from the sample size.
"""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import erf

from sgd_dyson.distributions import (
    coulomb_gas_log_normaliser,
    marchenko_pastur_cdf,
    marchenko_pastur_density,
    marchenko_pastur_edges,
    surmise_cdf,
    surmise_constants,
    surmise_log_pdf,
    surmise_pdf,
    two_level_density,
)

from tolerances import FOUR_SIGMA_TAIL

BETAS = [1.0, 2.0, 4.0]
QUADRATURE_TOLERANCE = 1e-9
"""Relative accuracy asked of (and delivered by) scipy's adaptive quadrature here."""


def goe_2x2_eigenvalues(
    rng: np.random.Generator, samples: int, center: float, sigma: float
) -> np.ndarray:
    """Eigenvalues ``(samples, 2)`` of real symmetric 2×2 matrices ``x0·I + H``.

    ``H`` has diagonal variance ``v_d = σ²`` and off-diagonal variance ``v_o = σ²/2``,
    so its density is ``∝ exp(−tr H²/(2σ²))`` and its eigenvalues have the joint
    density ``∝ |x1 − x2| exp(−Σ (x_i − x0)²/(2σ²))`` (Aarts, Lucini & Park 2025).
    """
    matrices = np.empty((samples, 2, 2))
    matrices[:, 0, 0] = center + sigma * rng.standard_normal(samples)
    matrices[:, 1, 1] = center + sigma * rng.standard_normal(samples)
    matrices[:, 0, 1] = matrices[:, 1, 0] = sigma / np.sqrt(2) * rng.standard_normal(samples)
    return np.linalg.eigvalsh(matrices)


def two_level_cdf(x: np.ndarray, center: float, sigma: float) -> np.ndarray:
    """Closed-form CDF of the one-level density of the two-level gas (integrated by hand).

    With ``u = (x − x0)/σ``: ``∫ e^{−u²}/(2√π) = (1 + erf u)/4`` and, by parts,
    ``∫ u e^{−u²/2} erf(u/√2)/(2√2) = (1 + erf u)/4 − e^{−u²/2} erf(u/√2)/(2√2)``.
    """
    u = (np.asarray(x, dtype=float) - center) / sigma
    return (1 + erf(u)) / 2 - np.exp(-(u**2) / 2) * erf(u / np.sqrt(2)) / (2 * np.sqrt(2))


# --- Wigner surmise ---------------------------------------------------------------


@pytest.mark.parametrize("beta", BETAS)
def test_surmise_pdf_integrates_to_one(beta):
    total, _ = integrate.quad(surmise_pdf, 0, np.inf, args=(beta,), epsabs=0, epsrel=1e-12)
    assert total == pytest.approx(1.0, rel=QUADRATURE_TOLERANCE)


@pytest.mark.parametrize("beta", BETAS)
def test_surmise_pdf_has_unit_mean_spacing(beta):
    mean, _ = integrate.quad(lambda s: s * surmise_pdf(s, beta), 0, np.inf, epsabs=0, epsrel=1e-12)
    assert mean == pytest.approx(1.0, rel=QUADRATURE_TOLERANCE)


def test_goe_surmise_is_half_pi_s_exp_minus_pi_s_squared_over_four():
    s = np.linspace(0, 4, 81)
    expected = np.pi / 2 * s * np.exp(-np.pi * s**2 / 4)
    np.testing.assert_allclose(surmise_pdf(s, 1.0), expected, rtol=1e-13, atol=0)


def test_surmise_default_beta_is_goe():
    s = np.linspace(0, 4, 17)
    np.testing.assert_array_equal(surmise_pdf(s), surmise_pdf(s, 1.0))
    np.testing.assert_array_equal(surmise_cdf(s), surmise_cdf(s, 1.0))


def test_gue_surmise_constants_follow_the_gamma_formulas():
    # the surmise constants for β = 2: b = [Γ(2)/Γ(3/2)]² = (2/√π)² = 4/π and
    # a = 2 b^{3/2}/Γ(3/2) = 2 (8/π^{3/2}) / (√π/2) = 32/π².
    a, b = surmise_constants(2.0)
    assert b == pytest.approx(4 / np.pi, rel=1e-14)
    assert a == pytest.approx(32 / np.pi**2, rel=1e-14)


@pytest.mark.parametrize("beta", BETAS)
def test_surmise_log_pdf_is_the_log_of_the_pdf(beta):
    s = np.linspace(0.01, 4, 50)
    np.testing.assert_allclose(
        surmise_log_pdf(s, beta), np.log(surmise_pdf(s, beta)), rtol=1e-12, atol=1e-12
    )


def test_surmise_log_pdf_is_finite_where_the_pdf_underflows():
    # At s = 1e-200 the GOE pdf ~ (π/2)·1e-200 is representable but s^4 (β = 4) is not.
    s = np.array([1e-200])
    expected = np.log(surmise_constants(4.0)[0]) + 4 * np.log(1e-200)
    assert surmise_pdf(s, 4.0)[0] == 0.0
    np.testing.assert_allclose(surmise_log_pdf(s, 4.0), [expected], rtol=1e-14)


@pytest.mark.parametrize("beta", BETAS)
def test_surmise_cdf_is_the_integral_of_the_pdf(beta):
    s = np.array([0.0, 0.1, 0.5, 1.0, 1.7, 2.5, 4.0])
    integrals = [
        integrate.quad(surmise_pdf, 0, upper, args=(beta,), epsabs=1e-14, epsrel=1e-12)[0]
        for upper in s
    ]
    np.testing.assert_allclose(surmise_cdf(s, beta), integrals, rtol=0, atol=1e-12)


# --- Two degenerate levels ----------------------------------------------------------

TWO_LEVEL_CASES = [(0.0, 1.0), (2.0, 0.05), (-1.5, 3.0)]


@pytest.mark.parametrize(("center", "sigma"), TWO_LEVEL_CASES)
def test_two_level_density_integrates_to_one(center, sigma):
    total, _ = integrate.quad(
        two_level_density, -np.inf, np.inf, args=(center, sigma), epsabs=0, epsrel=1e-12
    )
    assert total == pytest.approx(1.0, rel=QUADRATURE_TOLERANCE)


@pytest.mark.parametrize(("center", "sigma"), TWO_LEVEL_CASES)
def test_two_level_density_is_symmetric_about_its_centre(center, sigma):
    offsets = sigma * np.linspace(0, 5, 41)
    np.testing.assert_allclose(
        two_level_density(center + offsets, center, sigma),
        two_level_density(center - offsets, center, sigma),
        rtol=1e-13,
        atol=0,
    )


@pytest.mark.parametrize(("center", "sigma"), [(0.0, 1.0), (2.0, 0.5)])
def test_two_level_density_is_the_marginal_of_the_two_level_coulomb_gas(center, sigma):
    # P(x1, x2) ∝ |x1 − x2| exp(−Σ (x_i − x0)²/(2σ²)), normalised by numeric 2-D
    # integration (split along the diagonal, where |x1 − x2| has its kink).
    def weight(x2, x1):
        return abs(x1 - x2) * np.exp(-((x1 - center) ** 2 + (x2 - center) ** 2) / (2 * sigma**2))

    lower, upper = center - 12 * sigma, center + 12 * sigma
    below, _ = integrate.dblquad(weight, lower, upper, lower, lambda x1: x1, epsabs=0, epsrel=1e-11)
    above, _ = integrate.dblquad(weight, lower, upper, lambda x1: x1, upper, epsabs=0, epsrel=1e-11)
    normaliser = below + above
    for x in center + sigma * np.array([-2.3, -0.7, 0.0, 0.4, 1.9]):
        marginal = sum(
            integrate.quad(weight, a, b, args=(x,), epsabs=0, epsrel=1e-12)[0]
            for a, b in [(lower, x), (x, upper)]
        )
        assert two_level_density(x, center, sigma) == pytest.approx(marginal / normaliser, rel=1e-8)


@pytest.mark.parametrize(("center", "sigma"), TWO_LEVEL_CASES)
def test_two_level_density_integrates_to_its_closed_form_cdf(center, sigma):
    points = center + sigma * np.array([-3.0, -1.0, -0.2, 0.0, 0.5, 1.5, 4.0])
    integrals = [
        integrate.quad(two_level_density, -np.inf, x, args=(center, sigma), epsrel=1e-12)[0]
        for x in points
    ]
    np.testing.assert_allclose(two_level_cdf(points, center, sigma), integrals, atol=1e-10)


def test_two_level_density_is_the_level_density_of_2x2_goe_matrices():
    center, sigma, samples = 1.5, 0.3, 20_000
    rng = np.random.default_rng(20240723)
    eigenvalues = goe_2x2_eigenvalues(rng, samples, center, sigma)
    # One level per matrix, picked at random, so the sample is independent.
    picked = eigenvalues[np.arange(samples), rng.integers(0, 2, samples)]
    result = stats.kstest(picked, lambda x: two_level_cdf(x, center, sigma))
    # Rejecting at the 4σ tail probability: false-failure probability ~6e-5.
    assert result.pvalue > FOUR_SIGMA_TAIL


def test_two_level_density_has_mean_spacing_sqrt_pi_sigma():
    center, sigma, samples = -0.4, 0.7, 50_000
    rng = np.random.default_rng(7)
    spacing = np.diff(goe_2x2_eigenvalues(rng, samples, center, sigma), axis=1)[:, 0]
    standard_error = spacing.std(ddof=1) / np.sqrt(samples)
    # 4σ: false-failure probability ~6e-5.
    tolerance = 4 * standard_error
    assert abs(spacing.mean() - np.sqrt(np.pi) * sigma) < tolerance


def test_two_level_mean_spacing_is_sqrt_pi_sigma_by_quadrature():
    # ⟨|x1 − x2|⟩ under P(x1, x2) with σ = 1, x0 = 0: with d = x1 − x2 ~ the weight
    # |d| e^{−d²/4} (the centre of mass integrates out), ⟨S⟩ = ∫d² e^{−d²/4} / ∫d e^{−d²/4}.
    numerator, _ = integrate.quad(lambda d: d**2 * np.exp(-(d**2) / 4), 0, np.inf, epsrel=1e-12)
    denominator, _ = integrate.quad(lambda d: d * np.exp(-(d**2) / 4), 0, np.inf, epsrel=1e-12)
    assert numerator / denominator == pytest.approx(np.sqrt(np.pi), rel=QUADRATURE_TOLERANCE)


# --- Coulomb-gas normaliser ---------------------------------------------------------


def test_two_level_goe_normaliser_is_four_sqrt_pi():
    assert coulomb_gas_log_normaliser(2, 1.0) == pytest.approx(
        np.log(4 * np.sqrt(np.pi)), rel=1e-14
    )


def test_single_level_normaliser_is_the_gaussian_integral():
    for beta in BETAS:
        assert coulomb_gas_log_normaliser(1, beta) == pytest.approx(
            0.5 * np.log(2 * np.pi), rel=1e-14
        )


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_two_level_normaliser_matches_numeric_integration(beta):
    # Ordered region y1 < y2 (twice it gives the full plane), cut at |y| = 14.
    def integrand(y2, y1):
        return (y2 - y1) ** beta * np.exp(-(y1**2 + y2**2) / 2)

    half, _ = integrate.dblquad(integrand, -14, 14, lambda y1: y1, 14, epsabs=0, epsrel=1e-11)
    assert coulomb_gas_log_normaliser(2, beta) == pytest.approx(np.log(2 * half), abs=1e-9)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_three_level_normaliser_matches_nested_quadrature(beta):
    # Ordered region y1 < y2 < y3, where the integrand is smooth; 3! orderings.
    def integrand(y3, y2, y1):
        repulsion = ((y2 - y1) * (y3 - y1) * (y3 - y2)) ** beta
        return repulsion * np.exp(-(y1**2 + y2**2 + y3**2) / 2)

    cut = 8.0
    ordered, _ = integrate.tplquad(
        integrand,
        -cut,
        cut,
        lambda y1: y1,
        cut,
        lambda y1, y2: y2,
        cut,
        epsabs=0,
        epsrel=1e-7,
    )
    # Relative accuracy 1e-7 asked of the quadrature (tolerance 10× that); the cut at
    # |y| = 8, far outside the gas (radius √(2βn) ≤ 3.5), drops a tail ~ e^{−32}.
    assert coulomb_gas_log_normaliser(3, beta) == pytest.approx(np.log(6 * ordered), abs=1e-6)


# --- Marchenko–Pastur law -----------------------------------------------------------

MARCHENKO_PASTUR_CASES = [(0.25, 1.0), (0.5, 2.5), (2.0, 1.0), (4.0, 0.3)]
"""``(ratio λ, scale σ²)``: λ below and above 1 (the latter with the atom at 0)."""


def marchenko_pastur_moment(power: int, ratio: float, scale: float) -> float:
    """``∫ x^power ρ(x) dx`` of the continuous part, by adaptive quadrature over the support."""
    lower, upper = marchenko_pastur_edges(ratio, scale)
    value, _ = integrate.quad(
        lambda x: x**power * marchenko_pastur_density(x, ratio, scale),
        lower,
        upper,
        epsabs=0,
        epsrel=1e-12,
        limit=200,
    )
    return value


def gaussian_gram_levels(
    rng: np.random.Generator, rows: int, columns: int, scale: float
) -> np.ndarray:
    """Eigenvalues of ``W Wᵀ``, ``W`` ``(rows, columns)`` with i.i.d. ``N(0, scale/columns)``."""
    weights = rng.normal(0.0, np.sqrt(scale / columns), size=(rows, columns))
    return np.linalg.eigvalsh(weights @ weights.T)


def ks_distance(levels: np.ndarray, cdf) -> float:
    """Kolmogorov–Smirnov distance ``sup |F_emp − F|`` of a sample against a CDF."""
    values = cdf(np.sort(levels))
    size = levels.size
    return float(
        max(np.max(np.arange(1, size + 1) / size - values), np.max(values - np.arange(size) / size))
    )


def test_marchenko_pastur_edges_are_scale_times_one_minus_and_plus_root_ratio_squared():
    lower, upper = marchenko_pastur_edges(0.25, 2.0)
    assert (lower, upper) == pytest.approx((2.0 * 0.5**2, 2.0 * 1.5**2), rel=1e-15)
    lower, upper = marchenko_pastur_edges(4.0, 1.0)
    assert (lower, upper) == pytest.approx((1.0, 9.0), rel=1e-15)


@pytest.mark.parametrize(("ratio", "scale"), MARCHENKO_PASTUR_CASES)
def test_marchenko_pastur_density_integrates_to_one_or_one_over_ratio(ratio, scale):
    # Above λ = 1 the missing 1 − 1/λ is the atom at 0 (the zero levels of W Wᵀ).
    assert marchenko_pastur_moment(0, ratio, scale) == pytest.approx(
        min(1.0, 1.0 / ratio), rel=QUADRATURE_TOLERANCE
    )


@pytest.mark.parametrize(("ratio", "scale"), MARCHENKO_PASTUR_CASES)
def test_marchenko_pastur_law_has_mean_scale_and_variance_scale_squared_times_ratio(ratio, scale):
    # The atom at 0 adds nothing to the moments; E x = σ², E x² = σ⁴ (1 + λ).
    mean = marchenko_pastur_moment(1, ratio, scale)
    variance = marchenko_pastur_moment(2, ratio, scale) - mean**2
    assert mean == pytest.approx(scale, rel=QUADRATURE_TOLERANCE)
    assert variance == pytest.approx(scale**2 * ratio, rel=QUADRATURE_TOLERANCE)


@pytest.mark.parametrize(("ratio", "scale"), MARCHENKO_PASTUR_CASES)
def test_marchenko_pastur_cdf_is_the_atom_plus_the_integral_of_the_density(ratio, scale):
    lower, upper = marchenko_pastur_edges(ratio, scale)
    points = lower + (upper - lower) * np.array([0.0, 0.001, 0.1, 0.37, 0.5, 0.8, 0.999, 1.0])
    atom = max(0.0, 1.0 - 1.0 / ratio)
    integrals = [
        atom
        + integrate.quad(
            marchenko_pastur_density, lower, x, args=(ratio, scale), epsabs=1e-14, epsrel=1e-12
        )[0]
        for x in points
    ]
    np.testing.assert_allclose(marchenko_pastur_cdf(points, ratio, scale), integrals, atol=1e-11)


@pytest.mark.parametrize(("ratio", "scale"), MARCHENKO_PASTUR_CASES)
def test_marchenko_pastur_cdf_is_zero_below_zero_and_one_above_the_support(ratio, scale):
    lower, upper = marchenko_pastur_edges(ratio, scale)
    atom = max(0.0, 1.0 - 1.0 / ratio)
    np.testing.assert_allclose(
        marchenko_pastur_cdf(np.array([-1.0, 0.0, lower / 2, upper, 2 * upper]), ratio, scale),
        [0.0, atom, atom, 1.0, 1.0],
        atol=1e-14,
    )


def test_marchenko_pastur_at_ratio_one_reaches_down_to_zero():
    # λ = 1: support [0, 4σ²], density ~ 1/(π σ √x) near 0, still normalised.
    assert marchenko_pastur_edges(1.0, 1.5) == pytest.approx((0.0, 6.0), abs=1e-15)
    values = marchenko_pastur_cdf(np.array([0.0, 1e-12, 6.0]), 1.0, 1.5)
    np.testing.assert_allclose(values, [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(
        marchenko_pastur_cdf(np.array([1.5]), 1.0, 1.5),
        integrate.quad(marchenko_pastur_density, 0, 1.5, args=(1.0, 1.5), epsrel=1e-12)[0],
        rtol=1e-10,
    )


@pytest.mark.parametrize(("ratio", "scale"), [(2.0, 1.0), (4.0, 0.3)])
def test_marchenko_pastur_above_ratio_one_is_the_atom_plus_the_law_of_the_transpose(ratio, scale):
    # The non-zero levels of W Wᵀ are those of WᵀW: ratio 1/λ and scale σ² λ.
    lower, upper = marchenko_pastur_edges(ratio, scale)
    points = np.linspace(lower, upper, 9)
    np.testing.assert_allclose(
        marchenko_pastur_cdf(points, ratio, scale),
        1 - 1 / ratio + marchenko_pastur_cdf(points, 1 / ratio, scale * ratio) / ratio,
        atol=1e-13,
    )


MARCHENKO_PASTUR_KS_BOUND = 0.025
"""KS distance allowed between the 200 levels of one 200 × 400 Gaussian W Wᵀ and the law.

The levels are rigid (they repel), so the empirical CDF sits much closer to the law than
an i.i.d. sample's would (typical distance ~0.06 for 200 i.i.d. draws): over 400 seeds the
distance had mean 0.0134 and standard deviation 0.0019, at most 0.0223; the bound is
6 standard deviations above the mean. The same matrix against ratio 0.6 or scale 1.1
sits at ~0.05.
"""


def test_levels_of_a_gaussian_gram_matrix_follow_marchenko_pastur():
    rows, columns, scale = 200, 400, 1.0
    levels = gaussian_gram_levels(np.random.default_rng(20250901), rows, columns, scale)
    distance = ks_distance(levels, lambda x: marchenko_pastur_cdf(x, rows / columns, scale))
    assert distance < MARCHENKO_PASTUR_KS_BOUND
    # The bound tells neighbouring laws apart.
    wrong_ratio = ks_distance(levels, lambda x: marchenko_pastur_cdf(x, 0.6, scale))
    wrong_scale = ks_distance(levels, lambda x: marchenko_pastur_cdf(x, rows / columns, 1.1))
    assert min(wrong_ratio, wrong_scale) > MARCHENKO_PASTUR_KS_BOUND


@pytest.mark.parametrize(
    ("ratio", "scale", "message"), [(0.0, 1.0, "ratio=0.0"), (0.5, -1.0, "scale=-1.0")]
)
def test_marchenko_pastur_rejects_non_positive_ratio_or_scale(ratio, scale, message):
    for call in (
        lambda: marchenko_pastur_edges(ratio, scale),
        lambda: marchenko_pastur_density(np.ones(2), ratio, scale),
        lambda: marchenko_pastur_cdf(np.ones(2), ratio, scale),
    ):
        with pytest.raises(ValueError, match=message):
            call()
