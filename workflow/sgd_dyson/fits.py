"""Maximum-likelihood fits of the random-matrix predictions to sampled levels."""

from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.special import digamma, gammaincinv, polygamma

from .distributions import (
    coulomb_gas_log_likelihood,
    coulomb_gas_log_normaliser,
    gaussian_log_likelihood,
    semicircle_log_likelihood,
    surmise_constants,
    surmise_log_pdf,
    two_component_log_likelihood,
)
from .sampling import goe_matrices
from .spectra import neighbour_spacings

BETA_BOUNDS = (0.01, 20.0)
"""Search interval of the Dyson index in the surmise fit."""


def coulomb_gas_width(levels: np.ndarray, beta: float = 1.0) -> tuple[float, float]:
    """Maximum-likelihood centre and width of an ``n``-level Coulomb gas at fixed β.

    ``levels`` is ``(samples, n)``, each row one sample of the cluster, drawn from
    ``P ∝ Π_{i<j} |x_i − x_j|^β exp(−Σ_i (x_i − x0)² / 2σ²)``. The normaliser
    scales as ``σ^{n + βn(n−1)/2}`` (Mehta–Selberg), and the repulsion is
    translation invariant, so the likelihood equations solve in closed form:
    ``x0 = mean(x)`` and ``σ² = Σ (x − x0)² / (samples · (n + βn(n−1)/2))``.
    For ``n = 2``, β = 1 this is the two-level density with ``⟨S⟩ = √π σ``;
    for ``n = 1`` it is a Gaussian.
    """
    samples, n = levels.shape
    center = float(levels.mean())
    degrees = n + beta * n * (n - 1) / 2
    sigma = float(np.sqrt(np.sum((levels - center) ** 2) / (samples * degrees)))
    return center, sigma


SPACING_AND_WIDTH = ("mean_spacing", "center", "sigma")
"""The names of `spacing_and_width`'s estimates, in its order."""


def spacing_and_width(levels: np.ndarray) -> np.ndarray:
    """``[⟨S⟩, x0, σ]`` of a cluster's ``(samples, n)`` levels; ⟨S⟩ is NaN for a single level.

    ⟨S⟩ is the mean neighbour spacing, ``x0`` and σ the β = 1 Coulomb-gas
    maximum-likelihood centre and width (`coulomb_gas_width`): the estimates
    the fit stage reports and the theory stage predicts.
    """
    center, sigma = coulomb_gas_width(levels)
    spacing = neighbour_spacings(levels).mean() if levels.shape[1] >= 2 else np.nan
    return np.array([spacing, center, sigma])


def surmise_beta(spacing: np.ndarray) -> float:
    """Maximum-likelihood Dyson index β of the Wigner surmise ``P_β(s)``.

    ``spacing`` are spacings unfolded to mean 1 (``s = S/⟨S⟩``); the surmise
    has ``⟨s⟩ = 1`` for every β, so only its shape is fitted.
    """
    s = spacing[spacing > 0]
    result = minimize_scalar(
        lambda beta: -np.sum(surmise_log_pdf(s, beta)),
        bounds=BETA_BOUNDS,
        method="bounded",
    )
    return float(result.x)


def surmise_quantiles(probability: np.ndarray, beta: float) -> np.ndarray:
    """Inverse CDF of the Wigner surmise: ``s`` with ``F_β(s) = probability``."""
    _, b = surmise_constants(beta)
    return np.sqrt(gammaincinv((beta + 1) / 2, probability) / b)


def surmise_chi2_test(
    spacing: np.ndarray, beta: float, bins: int, estimated_parameters: int = 1
) -> tuple[float, int, float]:
    """Pearson χ² goodness of fit of unfolded spacings to ``P_β(s)``.

    Uses ``bins`` bins equiprobable under ``P_β`` (expected count ``n/bins``
    each). Degrees of freedom: ``bins − 1 − estimated_parameters``: one for
    the total, one per quantity estimated from the same spacings (the fitted
    β; also the mean spacing, when the spacings were unfolded by their own
    sample mean). Returns ``(chi2, dof, p_value)``. Assumes independent spacings.
    """
    edges = surmise_quantiles(np.linspace(0, 1, bins + 1)[1:-1], beta)
    observed = np.bincount(np.searchsorted(edges, spacing), minlength=bins)
    expected = spacing.size / bins
    chi2 = float(np.sum((observed - expected) ** 2) / expected)
    dof = bins - 1 - estimated_parameters
    return chi2, dof, float(stats.chi2.sf(chi2, dof))


# --- Spacing ratios -----------------------------------------------------------------

GOE_SPACING_RATIO_BATCH = 2**22
"""Matrix entries per batch of GOE matrices in `goe_spacing_ratio` (bounds its memory)."""


def spacing_ratios(levels: np.ndarray) -> np.ndarray:
    """Ratios of consecutive level spacings of each sample: ``(samples, n − 2)``.

    ``r_k = min(s_k, s_{k−1}) / max(s_k, s_{k−1})`` with ``s`` the `neighbour_spacings`
    of the sorted levels (Oganesyan & Huse 2007; Atas et al., PRL 110 (2013) 084101).
    Needs no unfolding; needs ``n ≥ 3``. Two zero spacings in a row give NaN.
    """
    levels = np.asarray(levels, dtype=float)
    if levels.shape[1] < 3:
        raise ValueError("spacing ratios need at least 3 levels per sample")
    spacing = neighbour_spacings(levels)
    pair = np.stack([spacing[:, 1:], spacing[:, :-1]])
    with np.errstate(invalid="ignore"):
        return pair.min(axis=0) / pair.max(axis=0)


def goe_spacing_ratio(n: int, samples: int, generator: np.random.Generator) -> float:
    """Mean spacing ratio ``⟨r⟩`` of ``n×n`` GOE matrices: the same-size reference.

    Averages `spacing_ratios` of the eigenvalues of ``samples`` matrices from
    `sgd_dyson.sampling.goe_matrices` (the ratio is scale free, so the scale is 1),
    drawn in batches that consume the generator exactly as one draw would. Small
    ``n`` differ from the large-``n`` 0.5307 (Atas et al. 2013); at ``n = 3`` the
    Wigner-like surmise ``4 − 2√3 ≈ 0.5359`` is exact. The statistical error is about
    ``0.25/sqrt(samples (n − 2))`` (the spread of one ratio is ≈ 0.25; neighbouring
    ratios are correlated: measured up to ~25% more at n = 100…200).
    """
    batch = max(1, GOE_SPACING_RATIO_BATCH // (n * n))
    total = 0.0
    for start in range(0, samples, batch):
        count = min(batch, samples - start)
        levels = np.linalg.eigvalsh(goe_matrices(generator, (count,), n, 1.0))
        total += float(np.sum(spacing_ratios(levels)))
    return total / (samples * (n - 2))


# --- Density models of a cluster: maximum likelihood --------------------------------
#
# Every fit returns its maximum-likelihood parameters, the maximised log-likelihood
# (total over samples; of the sorted levels, see `sgd_dyson.distributions`) and the
# number of free parameters, for `likelihood_ratio_test` and `information_criteria`.


class CoulombGasFit(NamedTuple):
    """Equal-width Coulomb gas at fixed β: centre, width, log-likelihood, parameter count."""

    center: float
    sigma: float
    log_likelihood: float
    free_parameters: int = 2


class TwoComponentFit(NamedTuple):
    """Two-component pair density: centre, widths ``σ1 ≥ σ2``, log-likelihood, count."""

    center: float
    sigma1: float
    sigma2: float
    log_likelihood: float
    free_parameters: int = 3


class SemicircleFit(NamedTuple):
    """Semicircle of independent levels: centre, radius, log-likelihood, parameter count."""

    center: float
    radius: float
    log_likelihood: float
    free_parameters: int = 2


class GaussianFit(NamedTuple):
    """Gaussian of independent levels: mean, standard deviation, log-likelihood, count."""

    center: float
    sigma: float
    log_likelihood: float
    free_parameters: int = 2


def coulomb_gas_fit(levels: np.ndarray, beta: float = 1.0) -> CoulombGasFit:
    """Maximum-likelihood equal-width Coulomb gas of ``(samples, n)`` cluster levels.

    Parameters from `coulomb_gas_width` (closed form), log-likelihood from
    `sgd_dyson.distributions.coulomb_gas_log_likelihood`. Free parameters: 2 (x0, σ).
    """
    center, sigma = coulomb_gas_width(levels, beta)
    return CoulombGasFit(center, sigma, coulomb_gas_log_likelihood(levels, center, sigma, beta))


class CoulombGasBetaFit(NamedTuple):
    """Coulomb gas with free Dyson index: ``(x0, σ, β)``, their standard errors,
    log-likelihood, parameter count."""

    center: float
    sigma: float
    beta: float
    center_err: float
    sigma_err: float
    beta_err: float
    log_likelihood: float
    free_parameters: int = 3


COULOMB_GAS_BETA_TOLERANCE = 1e-9
"""Absolute tolerance on β of the bounded Brent search in `coulomb_gas_beta_fit`."""


def _coulomb_gas_log_normaliser_derivatives(levels: int, beta: float) -> tuple[float, float]:
    """First and second β-derivatives of `coulomb_gas_log_normaliser` (digamma, trigamma).

    ``d/dβ log Z_n = Σ_{j=1}^{n} [(j/2) ψ(1 + jβ/2) − ½ ψ(1 + β/2)]`` and
    ``d²/dβ² log Z_n = Σ_{j=1}^{n} [(j²/4) ψ₁(1 + jβ/2) − ¼ ψ₁(1 + β/2)]``.
    """
    j = np.arange(1, levels + 1)
    first = np.sum(j / 2 * digamma(1 + j * beta / 2) - digamma(1 + beta / 2) / 2)
    second = np.sum(j**2 / 4 * polygamma(1, 1 + j * beta / 2) - polygamma(1, 1 + beta / 2) / 4)
    return float(first), float(second)


def coulomb_gas_beta_fit(levels: np.ndarray) -> CoulombGasBetaFit:
    """Joint maximum-likelihood ``(x0, σ, β)`` of the Coulomb gas of ``(samples, n)`` levels.

    Model (Aarts, Lucini & Park 2025): the labelled density
    ``P(x) = Π_{i<j} |x_i − x_j|^β exp(−Σ_i (x_i − x0)²/(2σ²)) / (Z_n(β) σ^D)``,
    ``D = n + βm``, ``m = n(n−1)/2``, ``Z_n(β) = (2π)^{n/2} Π_{j=1}^{n} Γ(1 + jβ/2)/Γ(1 + β/2)``
    the Mehta–Selberg integral (Mehta, *Random Matrices*, 3rd ed. 2004, ch. 17, with γ = β/2;
    `sgd_dyson.distributions.coulomb_gas_log_normaliser`). With ``N`` samples,
    ``R = Σ log|x_i − x_j|`` (all samples and pairs) and ``Q = Σ (x − x0)²``, the
    log-likelihood of the sorted levels is
    ``ℓ = βR − Q/(2σ²) − N [log Z_n(β) + D log σ − log n!]``
    (`sgd_dyson.distributions.coulomb_gas_log_likelihood`). At fixed β, ``x0`` and σ are
    profiled out in closed form (`coulomb_gas_width`: ``x0 = mean(x)``,
    ``σ² = Q/(N D)``), leaving
    ``ℓ_p(β) = βR − N D/2 − N [log Z_n(β) + (D/2) log(Q/(N D)) − log n!]``, which is
    maximised over β in `BETA_BOUNDS` by bounded Brent. The model is an exponential family
    in ``(β, −1/(2σ²), x0/σ²)``, so ℓ is jointly concave there and its profile ``ℓ_p`` is
    concave in β: the maximum is unique.

    Errors: square roots of the diagonal of the inverse observed information
    ``J = −∇²ℓ`` in ``(x0, σ, β)`` at the maximum, analytic. With
    ``V = d² log Z_n/dβ²`` (trigamma; `_coulomb_gas_log_normaliser_derivatives`), using
    ``Σ(x − x0) = 0`` and ``Q = N D σ²`` at the maximum:
    ``J = [[Nn/σ², 0, 0], [0, 2ND/σ², Nm/σ], [0, Nm/σ, NV]]``, hence
    ``var x0 = σ²/(Nn)``, ``var σ = σ² V/(N (2DV − m²))``, ``var β = 2D/(N (2DV − m²))``.
    ``J`` does not depend on the data beyond ``(σ, β)``, so it is also the expected
    (Fisher) information. σ and β are correlated (correlation ``−m/sqrt(2DV)``); only the
    marginal errors are reported. If β ends on a bound of `BETA_BOUNDS` (e.g. levels
    with no repulsion) the maximum is not interior and the errors are not meaningful.

    ``n ≥ 2`` (a single level carries no information on β). Free parameters: 3.
    """
    levels = np.asarray(levels, dtype=float)
    samples, n = levels.shape
    if n < 2:
        raise ValueError("the Dyson index needs at least 2 levels per sample")
    rows, cols = np.triu_indices(n, k=1)
    repulsion = float(np.sum(np.log(np.abs(levels[:, rows] - levels[:, cols]))))
    spread = float(np.sum((levels - levels.mean()) ** 2))
    pairs = n * (n - 1) / 2

    def negative_profile(beta: float) -> float:
        degrees = n + beta * pairs
        return -(
            beta * repulsion
            - samples * degrees / 2
            - samples
            * (
                coulomb_gas_log_normaliser(n, beta)
                + degrees / 2 * np.log(spread / (samples * degrees))
            )
        )

    result = minimize_scalar(
        negative_profile,
        bounds=BETA_BOUNDS,
        method="bounded",
        options={"xatol": COULOMB_GAS_BETA_TOLERANCE},
    )
    beta = float(result.x)
    center, sigma = coulomb_gas_width(levels, beta)
    degrees = n + beta * pairs
    _, curvature = _coulomb_gas_log_normaliser_derivatives(n, beta)
    determinant = 2 * degrees * curvature - pairs**2
    return CoulombGasBetaFit(
        center=center,
        sigma=sigma,
        beta=beta,
        center_err=float(sigma / np.sqrt(samples * n)),
        sigma_err=float(sigma * np.sqrt(curvature / (samples * determinant))),
        beta_err=float(np.sqrt(2 * degrees / (samples * determinant))),
        log_likelihood=coulomb_gas_log_likelihood(levels, center, sigma, beta),
    )


TWO_COMPONENT_STARTS = (0.5, 2.0)
"""Starting splits ``log(σ1/σ2)`` of the two-component fit around the equal-width MLE."""


def _two_component_objective(
    theta: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood per pair and its gradient in ``(x0, log σ1, log σ2)``.

    Standardised levels (see `two_component_fit`); the constant ``log(b − a)`` is dropped.
    With ``w`` the posterior probability that the lower level carries width σ1:
    ``∂/∂x0 = Σ_k ⟨(x_k − x0)/σ_k²⟩`` and
    ``∂/∂log σ_k = −σ_k²/(σ1² + σ2²) − 1 + ⟨(x_k − x0)²/σ_k²⟩``, averaged over ``w``.
    """
    center, log_sigma1, log_sigma2 = theta
    variance1, variance2 = np.exp(2 * log_sigma1), np.exp(2 * log_sigma2)
    y_lower, y_upper = lower - center, upper - center
    log_gauss = -log_sigma1 - log_sigma2
    lower_in_first = log_gauss - y_lower**2 / (2 * variance1) - y_upper**2 / (2 * variance2)
    upper_in_first = log_gauss - y_upper**2 / (2 * variance1) - y_lower**2 / (2 * variance2)
    mixture = np.logaddexp(lower_in_first, upper_in_first)
    weight = np.exp(lower_in_first - mixture)
    total_variance = variance1 + variance2
    value = -np.mean(mixture) + 0.5 * np.log(total_variance)
    first_squared = weight * y_lower**2 + (1 - weight) * y_upper**2
    second_squared = weight * y_upper**2 + (1 - weight) * y_lower**2
    first_mean = weight * y_lower + (1 - weight) * y_upper
    second_mean = weight * y_upper + (1 - weight) * y_lower
    gradient = np.array(
        [
            -np.mean(first_mean / variance1 + second_mean / variance2),
            variance1 / total_variance + 1 - np.mean(first_squared) / variance1,
            variance2 / total_variance + 1 - np.mean(second_squared) / variance2,
        ]
    )
    return float(value), gradient


def two_component_fit(levels: np.ndarray) -> TwoComponentFit:
    """Maximum-likelihood two-component density of ``(samples, 2)`` level pairs.

    Maximises `sgd_dyson.distributions.two_component_log_likelihood` over
    ``(x0, log σ1, log σ2)`` with BFGS and the analytic gradient, on levels standardised
    by the equal-width MLE ``(x0, σ)`` (`coulomb_gas_width`). The likelihood is even in
    ``log(σ1/σ2)`` (the labels are not observed), so the equal-width MLE is a stationary
    point in that direction and BFGS would not leave it; the fit therefore starts from
    it with the widths split by ``exp(±d/2)`` for each ``d`` in `TWO_COMPONENT_STARTS`,
    and keeps the best of those and the equal-width point itself (so the result is
    never below the equal-width log-likelihood). Reports ``σ1 ≥ σ2``. Free parameters: 3.
    """
    levels = np.sort(np.asarray(levels, dtype=float), axis=1)
    if levels.shape[1] != 2:
        raise ValueError("the two-component density is a density of level pairs (n = 2)")
    center, sigma = coulomb_gas_width(levels)
    lower, upper = (levels[:, 0] - center) / sigma, (levels[:, 1] - center) / sigma
    candidates = [np.zeros(3)]
    for split in TWO_COMPONENT_STARTS:
        start = np.array([0.0, split / 2, -split / 2])
        result = minimize(
            _two_component_objective, start, args=(lower, upper), jac=True, method="BFGS"
        )
        candidates.append(result.x)
    best = min(candidates, key=lambda theta: _two_component_objective(theta, lower, upper)[0])
    fitted_center = center + sigma * best[0]
    sigma1, sigma2 = sorted(sigma * np.exp(best[1:]), reverse=True)
    log_likelihood = two_component_log_likelihood(levels, fitted_center, sigma1, sigma2)
    return TwoComponentFit(float(fitted_center), float(sigma1), float(sigma2), log_likelihood)


def _semicircle_radius(offsets: np.ndarray) -> float:
    """Maximum-likelihood semicircle radius of levels at ``offsets`` from a fixed centre.

    ``∂/∂R`` of ``Σ log ρ`` vanishes where ``Σ y²/(R² − y²) = N`` (``N`` levels). The left
    side falls monotonically from ``+∞`` at ``R² = max y²`` to 0, so the root is unique and
    inside the support; with ``m = max y²`` it lies in
    ``m + [m/(2N), Σ y²/N]`` (the largest term alone exceeds ``N`` below; every term is at
    most ``y²/(R² − m)`` above), solved for ``R² − m`` to keep its precision.
    """
    squares = offsets.ravel() ** 2
    largest, count = squares.max(), squares.size

    def excess(gap: float) -> float:
        return float(np.sum(squares / (largest + gap - squares))) - count

    gap = brentq(excess, largest / (2 * count), squares.sum() / count, xtol=1e-300, rtol=1e-13)
    return float(np.sqrt(largest + gap))


def semicircle_fit(levels: np.ndarray) -> SemicircleFit:
    """Maximum-likelihood semicircle ``ρ(x) = 2/(πR²) sqrt(R² − (x − x0)²)`` of pooled levels.

    The ``(samples, n)`` levels are pooled and treated as independent draws from ρ
    (their correlations are ignored; the log-likelihood is that of
    `sgd_dyson.distributions.semicircle_log_likelihood`). The support constraint
    ``R > max|x − x0|`` never binds: the log-likelihood falls to ``−∞`` at the edge, and
    the radius is profiled out in closed form by a 1-D root (`_semicircle_radius`); the
    profile is maximised over ``x0`` between the smallest and largest level (bounded
    Brent). The maximum is set largely by the most extreme levels: for samples whose
    density has tails beyond a hard edge (finite-``n`` GOE, small clusters) ``R`` grows
    with the sample size. Free parameters: 2 (x0, R).
    """
    levels = np.asarray(levels, dtype=float)
    pooled = levels.ravel()
    low, high = float(pooled.min()), float(pooled.max())

    def negative_profile(center: float) -> float:
        radius = _semicircle_radius(pooled - center)
        return -semicircle_log_likelihood(levels, center, radius)

    width = high - low
    result = minimize_scalar(
        negative_profile,
        bounds=(low + 1e-9 * width, high - 1e-9 * width),
        method="bounded",
        options={"xatol": 1e-10 * width},
    )
    center = float(result.x)
    radius = _semicircle_radius(pooled - center)
    return SemicircleFit(center, radius, semicircle_log_likelihood(levels, center, radius))


def gaussian_fit(levels: np.ndarray) -> GaussianFit:
    """Maximum-likelihood Gaussian ``N(x0, σ²)`` of pooled levels, for single levels (n = 1).

    ``x0 = mean(x)``, ``σ² = mean((x − x0)²)`` (no Bessel correction: the MLE);
    log-likelihood from `sgd_dyson.distributions.gaussian_log_likelihood`. For ``n = 1``
    this is `coulomb_gas_fit`. Free parameters: 2.
    """
    levels = np.asarray(levels, dtype=float)
    center = float(levels.mean())
    sigma = float(np.sqrt(np.mean((levels - center) ** 2)))
    return GaussianFit(center, sigma, gaussian_log_likelihood(levels, center, sigma))


def likelihood_ratio_test(
    loglik_restricted: float,
    loglik_full: float,
    extra_parameters: int,
    boundary: bool = False,
) -> tuple[float, float]:
    """Likelihood-ratio test of a nested model: ``(statistic, p_value)``.

    ``statistic = 2 (ℓ_full − ℓ_restricted)``. Without ``boundary`` its null law is
    ``χ²`` with ``extra_parameters`` degrees of freedom (Wilks 1938): the restricted
    model must be an interior point of the full one. With ``boundary=True`` one of the
    extra parameters sits on the edge of its range under the null, and the null law is
    the mixture ``½ χ²_{k−1} + ½ χ²_k`` (Chernoff 1954; Self & Liang 1987), ``χ²_0`` the
    point mass at 0. That is the case of two-component vs equal-width pairs: the labels
    are not observed, so the likelihood is even in ``log(σ1/σ2)`` and only
    ``ψ = log²(σ1/σ2) ≥ 0`` is identified, with the null ``ψ = 0`` on its boundary
    (plain ``χ²_1`` would halve the test's size there). A negative statistic (a failed
    full fit) gives ``p = 1``.
    """
    statistic = 2.0 * (loglik_full - loglik_restricted)
    p_value = float(stats.chi2.sf(statistic, extra_parameters))
    if boundary:
        fewer = extra_parameters - 1
        below = float(stats.chi2.sf(statistic, fewer)) if fewer else float(statistic <= 0)
        p_value = 0.5 * (below + p_value)
    return float(statistic), min(p_value, 1.0)


def information_criteria(loglik: float, parameters: int, observations: int) -> tuple[float, float]:
    """Akaike and Bayesian information criteria: ``(AIC, BIC)``; lower is better.

    ``AIC = 2k − 2ℓ`` (Akaike 1974), ``BIC = k log(N) − 2ℓ`` (Schwarz 1978), ``k`` free
    parameters, ``ℓ`` the maximised log-likelihood, ``N`` the number of independent
    observations: samples (rows of ``levels``) for the joint models; use the same ``N``
    for every model compared on the same levels.
    """
    aic = 2 * parameters - 2 * loglik
    bic = parameters * np.log(observations) - 2 * loglik
    return float(aic), float(bic)
