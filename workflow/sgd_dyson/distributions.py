"""Random-matrix formulas: Wigner surmise and Coulomb-gas densities (Aarts, Lucini & Park 2025)."""

import numpy as np
from scipy.special import erf, gammainc, gammaln

GOE_SPACING_RATIO = 0.5307
"""Large-n ⟨r⟩ of the GOE (Atas et al., PRL 110 (2013) 084101)."""
POISSON_SPACING_RATIO = 0.3863
"""⟨r⟩ of uncorrelated (Poisson) levels, 2 ln 2 − 1 (Oganesyan & Huse 2007)."""


def surmise_constants(beta: float) -> tuple[float, float]:
    """``(a_β, b_β)`` of ``P_β(s) = a_β s^β exp(−b_β s²)``, normalised with ``⟨s⟩ = 1``.

    ``b_β = [Γ((β+2)/2) / Γ((β+1)/2)]²``, ``a_β = 2 b_β^((β+1)/2) / Γ((β+1)/2)``.
    """
    b = np.exp(2 * (gammaln((beta + 2) / 2) - gammaln((beta + 1) / 2)))
    a = 2 * b ** ((beta + 1) / 2) / np.exp(gammaln((beta + 1) / 2))
    return a, b


def surmise_pdf(spacing: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Wigner surmise ``P_β(s)`` of spacings with mean 1; β = 1: ``(π/2) s e^{−πs²/4}``."""
    a, b = surmise_constants(beta)
    s = np.asarray(spacing, dtype=float)
    return a * s**beta * np.exp(-b * s**2)


def surmise_log_pdf(spacing: np.ndarray, beta: float) -> np.ndarray:
    """``log P_β(s)``, stable for small ``s``."""
    a, b = surmise_constants(beta)
    s = np.asarray(spacing, dtype=float)
    return np.log(a) + beta * np.log(s) - b * s**2


def surmise_cdf(spacing: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """CDF of the Wigner surmise: ``F(s) = P((β+1)/2, b_β s²)`` (regularised lower gamma)."""
    _, b = surmise_constants(beta)
    return gammainc((beta + 1) / 2, b * np.asarray(spacing, dtype=float) ** 2)


def coulomb_gas_log_normaliser(levels: int, beta: float) -> float:
    """``log ∫ Π_{i<j} |y_i − y_j|^β Π_i e^{−y_i²/2} dy`` (Mehta–Selberg integral).

    Equals ``(n/2) log 2π + Σ_{j=1}^{n} [log Γ(1 + jβ/2) − log Γ(1 + β/2)]``.
    """
    j = np.arange(1, levels + 1)
    return levels / 2 * np.log(2 * np.pi) + float(
        np.sum(gammaln(1 + j * beta / 2) - gammaln(1 + beta / 2))
    )


def two_level_density(x: np.ndarray, center: float, sigma: float) -> np.ndarray:
    """One-level density of the two-level Coulomb gas (β = 1, equal widths), normalised to 1.

    With ``y = x − x0``: ``ρ(x) = e^{−y²/2σ²} / (4√π σ) · [2 e^{−y²/2σ²} +
    √(2π) (y/σ) erf(y / (√2 σ))]``; its pair spacing has ``⟨S⟩ = √π σ``
    (Aarts, Lucini & Park 2025).
    """
    u = (np.asarray(x, dtype=float) - center) / sigma
    gauss = np.exp(-(u**2) / 2)
    return (
        gauss
        / (4 * np.sqrt(np.pi) * sigma)
        * (2 * gauss + np.sqrt(2 * np.pi) * u * erf(u / np.sqrt(2)))
    )


# --- Cluster densities and their log-likelihoods ------------------------------------
#
# Convention: a sample is the *sorted* vector of a cluster's ``n`` levels (eigenvalues
# carry no labels), so every joint log-likelihood below is the log-density of the sorted
# vector: ``n!`` times a density that is symmetric in its ``n`` arguments. This puts the
# joint models (Coulomb gas, two-component pair) and the independent-levels models
# (semicircle, Gaussian) on the same footing, so their log-likelihoods on the same levels
# can be compared (likelihood ratios, AIC/BIC).


def _sorted_levels_log_count(levels: int) -> float:
    """``log n!``: the orderings folded into the density of a sorted ``n``-vector."""
    return float(gammaln(levels + 1))


def coulomb_gas_log_likelihood(
    levels: np.ndarray, center: float, sigma: float, beta: float = 1.0
) -> float:
    """Log-likelihood of sorted cluster levels under the equal-width Coulomb gas.

    ``levels`` is ``(samples, n)``, one sample of the cluster per row (in any order).
    The labelled density ``P(x) = Π_{i<j} |x_i − x_j|^β exp(−Σ_i (x_i − x0)²/(2σ²)) / Z``
    has ``log Z = log Z_n(β) + (n + βn(n−1)/2) log σ``, with ``Z_n(β)`` the Mehta–Selberg
    integral (`coulomb_gas_log_normaliser`); the sorted vector has density ``n! P(x)``.
    Returns the total over samples. Its maximum over ``(x0, σ)`` is at
    `sgd_dyson.fits.coulomb_gas_width` (2 free parameters at fixed β).
    """
    levels = np.asarray(levels, dtype=float)
    samples, n = levels.shape
    rows, cols = np.triu_indices(n, k=1)
    repulsion = np.sum(np.log(np.abs(levels[:, rows] - levels[:, cols])))
    confinement = np.sum((levels - center) ** 2) / (2 * sigma**2)
    degrees = n + beta * n * (n - 1) / 2
    log_normaliser = coulomb_gas_log_normaliser(n, beta) + degrees * np.log(sigma)
    return float(
        beta * repulsion - confinement + samples * (_sorted_levels_log_count(n) - log_normaliser)
    )


def two_component_log_likelihood(
    levels: np.ndarray, center: float, sigma1: float, sigma2: float
) -> float:
    """Log-likelihood of level pairs under the two-component (unequal-width) density.

    The labelled pair density is ``p(x1, x2) = |x1 − x2| φ1(x1) φ2(x2) / E|X1 − X2|``,
    ``φk`` the normal density ``N(x0, σk²)`` (the two-component form of Park et al.: one
    level in each well of width ``σk``). Its normaliser is exact: for independent
    ``Xk ~ N(x0, σk²)``, ``X1 − X2 ~ N(0, σ1² + σ2²)``, so
    ``E|X1 − X2| = sqrt(2/π) sqrt(σ1² + σ2²)`` (folded normal). Which level carries which
    width is not observed, so a sorted pair ``a ≤ b`` has the symmetrised density
    ``q(a, b) = p(a, b) + p(b, a)``, normalised to 1 over ``a ≤ b``. At ``σ1 = σ2`` it is
    the equal-width Coulomb gas (`coulomb_gas_log_likelihood`, β = 1, n = 2) exactly.

    ``levels`` is ``(samples, 2)``; returns the total over samples.
    """
    levels = np.sort(np.asarray(levels, dtype=float), axis=1)
    lower, upper = levels[:, 0] - center, levels[:, 1] - center
    log_gauss = -np.log(2 * np.pi * sigma1 * sigma2)
    lower_in_first = log_gauss - lower**2 / (2 * sigma1**2) - upper**2 / (2 * sigma2**2)
    upper_in_first = log_gauss - upper**2 / (2 * sigma1**2) - lower**2 / (2 * sigma2**2)
    log_normaliser = 0.5 * np.log(2 / np.pi) + 0.5 * np.log(sigma1**2 + sigma2**2)
    return float(
        np.sum(np.log(upper - lower) + np.logaddexp(lower_in_first, upper_in_first))
        - levels.shape[0] * log_normaliser
    )


def two_component_density(x: np.ndarray, center: float, sigma1: float, sigma2: float) -> np.ndarray:
    """One-level density of the two-component pair (a level picked at random), normalised to 1.

    Marginalising ``p(x1, x2)`` of `two_component_log_likelihood` needs
    ``∫ |x − x'| φk(x') dx' = E|x − Xk| = σk sqrt(2/π) e^{−y²/(2σk²)} + y erf(y/(√2 σk))``
    with ``y = x − x0`` (folded-normal mean). Averaging the two levels' marginals:
    ``ρ(x) = [φ1(x) E|x − X2| + φ2(x) E|x − X1|] / (2 sqrt(2/π) sqrt(σ1² + σ2²))``.
    At ``σ1 = σ2 = σ`` this is `two_level_density`.
    """
    y = np.asarray(x, dtype=float) - center

    def gauss(sigma: float) -> np.ndarray:
        return np.exp(-(y**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)

    def mean_distance(sigma: float) -> np.ndarray:
        return sigma * np.sqrt(2 / np.pi) * np.exp(-(y**2) / (2 * sigma**2)) + y * erf(
            y / (np.sqrt(2) * sigma)
        )

    normaliser = 2 * np.sqrt(2 / np.pi) * np.sqrt(sigma1**2 + sigma2**2)
    return (gauss(sigma1) * mean_distance(sigma2) + gauss(sigma2) * mean_distance(sigma1)) / (
        normaliser
    )


def semicircle_density(x: np.ndarray, center: float, radius: float) -> np.ndarray:
    """Wigner semicircle ``ρ(x) = 2/(πR²) sqrt(R² − (x − x0)²)`` on ``|x − x0| ≤ R``, else 0.

    The large-``n`` level density of an ``n``-level Coulomb gas of width σ, with
    ``R = σ sqrt(2βn)`` (Wigner 1955).
    """
    y = np.asarray(x, dtype=float) - center
    return 2 / (np.pi * radius**2) * np.sqrt(np.clip(radius**2 - y**2, 0.0, None))


def semicircle_cdf(x: np.ndarray, center: float, radius: float) -> np.ndarray:
    """CDF of `semicircle_density`: ``F = ½ + (u sqrt(1 − u²) + arcsin u)/π``, ``u = (x − x0)/R``

    clipped to ``[−1, 1]`` (0 below the support, 1 above).
    """
    u = np.clip((np.asarray(x, dtype=float) - center) / radius, -1.0, 1.0)
    return 0.5 + (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / np.pi


def semicircle_log_likelihood(levels: np.ndarray, center: float, radius: float) -> float:
    """Log-likelihood of sorted cluster levels treated as independent semicircle draws.

    ``Σ_samples [log n! + Σ_i log ρ(x_i)]`` with ρ from `semicircle_density`: the levels of
    a sample are treated as independent (their repulsion is ignored), and ``log n!``
    makes it the density of the sorted vector (see the convention above). ``−inf`` when
    a level lies on or outside the support ``|x − x0| < R``.
    """
    levels = np.asarray(levels, dtype=float)
    samples, n = levels.shape
    inside = radius**2 - (levels - center) ** 2
    if np.any(inside <= 0):
        return -np.inf
    return float(
        samples * _sorted_levels_log_count(n)
        + levels.size * np.log(2 / (np.pi * radius**2))
        + 0.5 * np.sum(np.log(inside))
    )


def gaussian_log_likelihood(levels: np.ndarray, center: float, sigma: float) -> float:
    """Log-likelihood of sorted cluster levels treated as independent ``N(x0, σ²)`` draws.

    ``Σ_samples [log n! + Σ_i log φ(x_i)]``; for single levels (``n = 1``) the plain
    Gaussian log-likelihood. Equals `coulomb_gas_log_likelihood` at ``n = 1``.
    """
    levels = np.asarray(levels, dtype=float)
    samples, n = levels.shape
    return float(
        samples * _sorted_levels_log_count(n)
        - levels.size * np.log(np.sqrt(2 * np.pi) * sigma)
        - np.sum((levels - center) ** 2) / (2 * sigma**2)
    )


# --- Marchenko–Pastur law -----------------------------------------------------------
#
# Convention: ``W`` is ``(p, n)`` with i.i.d. ``N(0, σ²/n)`` entries (``n`` the fan-in,
# as a layer initialised with width σ), and the levels are the ``p`` eigenvalues of
# ``X = W Wᵀ``. They follow the Marchenko–Pastur law with ``ratio λ = p/n`` and
# ``scale = σ²`` (the mean of the law): support ``σ²(1 ± √λ)²``, variance ``σ⁴ λ``.
# For ``λ > 1`` the law has an atom of weight ``1 − 1/λ`` at 0 (the ``p − n`` zero
# levels of ``W Wᵀ``): `marchenko_pastur_density` is its continuous part (integral
# ``1/λ``) and `marchenko_pastur_cdf` includes the atom. The non-zero levels alone are
# those of ``WᵀW``, Marchenko–Pastur with ratio ``1/λ`` and scale ``σ² λ``.


def _check_marchenko_pastur(ratio: float, scale: float) -> None:
    if not ratio > 0:
        raise ValueError(f"the Marchenko–Pastur ratio must be positive, got ratio={ratio}")
    if not scale > 0:
        raise ValueError(f"the Marchenko–Pastur scale must be positive, got scale={scale}")


def marchenko_pastur_edges(ratio: float, scale: float = 1.0) -> tuple[float, float]:
    """Edges ``(x₋, x₊) = σ² (1 ∓ √λ)²`` of the continuous Marchenko–Pastur support.

    ``ratio`` is ``λ = p/n`` and ``scale`` is ``σ²`` (convention above); for
    ``λ > 1`` the atom at 0 lies below ``x₋`` (Marchenko & Pastur 1967).
    """
    _check_marchenko_pastur(ratio, scale)
    return scale * (1 - np.sqrt(ratio)) ** 2, scale * (1 + np.sqrt(ratio)) ** 2


def marchenko_pastur_density(x: np.ndarray, ratio: float, scale: float = 1.0) -> np.ndarray:
    """Marchenko–Pastur density ``ρ(x) = sqrt((x₊ − x)(x − x₋)) / (2π σ² λ x)`` on ``[x₋, x₊]``.

    The level density of ``X = W Wᵀ``, ``W`` ``(p, n)`` with entries ``N(0, σ²/n)``,
    ``λ = p/n`` (``ratio``), ``σ² = scale``, edges from `marchenko_pastur_edges`;
    0 outside. It integrates to ``min(1, 1/λ)``: for ``λ > 1`` the rest is the atom
    at 0, which a density cannot carry (see `marchenko_pastur_cdf`).
    """
    lower, upper = marchenko_pastur_edges(ratio, scale)
    x = np.asarray(x, dtype=float)
    inside = (x > lower) & (x < upper)
    safe_x = np.where(inside, x, upper)
    root = np.sqrt(np.clip((upper - safe_x) * (safe_x - lower), 0.0, None))
    return np.where(inside, root / (2 * np.pi * scale * ratio * safe_x), 0.0)


def marchenko_pastur_cdf(x: np.ndarray, ratio: float, scale: float = 1.0) -> np.ndarray:
    """CDF of the Marchenko–Pastur law (closed form), the atom at 0 included for ``λ > 1``.

    With ``a, b = x₋, x₊`` and ``R(x) = sqrt((b − x)(x − a))``, an antiderivative of
    ``R(x)/x`` on ``[a, b]`` is ``G(x) = R + (a + b)/2 · arcsin((2x − a − b)/(b − a))
    − √(ab) · arcsin(((a + b)x − 2ab)/((b − a)x))``, so
    ``F(x) = max(0, 1 − 1/λ) + [G(x) − G(a)] / (2π σ² λ)`` for ``x ≥ 0`` (with ``x``
    clipped to ``[a, b]``) and 0 below 0. ``G(b) − G(a) = (π/2)(√b − √a)²`` makes
    ``F(x₊) = 1``. Arguments as in `marchenko_pastur_density`.
    """
    lower, upper = marchenko_pastur_edges(ratio, scale)
    x = np.asarray(x, dtype=float)

    def antiderivative(y: np.ndarray) -> np.ndarray:
        root = np.sqrt(np.clip((upper - y) * (y - lower), 0.0, None))
        centred = np.clip((2 * y - lower - upper) / (upper - lower), -1.0, 1.0)
        # Rounding can push the second arcsine's argument just past ±1 at the edges.
        with np.errstate(divide="ignore", invalid="ignore"):
            skewed = ((lower + upper) * y - 2 * lower * upper) / ((upper - lower) * y)
        skewed = np.clip(np.nan_to_num(skewed, nan=-1.0), -1.0, 1.0)
        return (
            root
            + (lower + upper) / 2 * np.arcsin(centred)
            - np.sqrt(lower * upper) * np.arcsin(skewed)
        )

    clipped = np.clip(x, lower, upper)
    continuous = (antiderivative(clipped) - antiderivative(np.asarray(lower))) / (
        2 * np.pi * scale * ratio
    )
    atom = max(0.0, 1.0 - 1.0 / ratio)
    return np.where(x < 0, 0.0, atom + continuous)
