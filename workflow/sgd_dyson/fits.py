"""Maximum-likelihood fits of the random-matrix predictions to sampled levels."""

import numpy as np
from scipy import stats
from scipy.optimize import minimize_scalar
from scipy.special import gammaincinv

from .distributions import surmise_constants, surmise_log_pdf

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


def neighbour_spacings(levels: np.ndarray) -> np.ndarray:
    """Spacings between neighbouring levels of each sample: ``(samples, n − 1)``."""
    return np.diff(np.sort(levels, axis=1), axis=1)


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
