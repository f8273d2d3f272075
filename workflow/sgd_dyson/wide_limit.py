"""The wide limit: a network's levels at initialisation and at stationarity against their laws.

At initialisation a learnable matrix ``W`` (``rows × cols``, entries ``N(0, σ_W²/cols)``)
gives ``X = W Wᵀ`` the Marchenko–Pastur law (`distributions.marchenko_pastur_cdf`) as
``rows, cols → ∞`` at fixed ``λ = rows/cols``. At stationarity a degenerate cluster of
``n`` levels is, to the extent SGD is Dyson Brownian motion, an ``n``-level Coulomb gas
of width σ, whose level density tends to the Wigner semicircle of radius
``R = σ sqrt(2βn)`` (`semicircle_radius`). The distances to these laws, and the spacing
ratio ⟨r⟩ against its same-size GOE reference (the fit stage's), measure how close a
width is to the limit.

Every function takes arrays of levels, ``(samples, n)``: one row per replica (at
initialisation) or per (replica, snapshot) (at stationarity).
"""

from collections.abc import Callable

import numpy as np

from .distributions import marchenko_pastur_cdf, semicircle_cdf


def ks_distance(values: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """Kolmogorov–Smirnov distance ``sup_x |F_empirical(x) − F(x)|`` of pooled ``values``.

    Only a distance: levels of one sample are correlated, so its null distribution is
    not Kolmogorov's; its size against the sampling spread ``~ 1/sqrt(values)`` is what
    tells a finite-width deviation from noise.
    """
    values = np.sort(np.ravel(values))
    if values.size == 0:
        return np.nan
    model = cdf(values)
    upper = np.arange(1, values.size + 1) / values.size - model
    lower = model - np.arange(values.size) / values.size
    return float(max(upper.max(), lower.max()))


def nonzero_level_law(rows: int, cols: int, scale: float) -> tuple[float, float]:
    """``(ratio, scale)`` of the Marchenko–Pastur law of the ``min(rows, cols)`` non-zero
    levels of ``X = W Wᵀ``, ``W`` ``rows × cols`` with entries ``N(0, scale/cols)``.

    ``λ = rows/cols ≤ 1``: ``(λ, σ²)``; ``λ > 1``: those of ``WᵀW``, ``(1/λ, σ² λ)``
    (`distributions`, the Marchenko–Pastur convention).
    """
    ratio = rows / cols
    return (ratio, scale) if ratio <= 1 else (1 / ratio, scale * ratio)


def initial_moments(rows: int, cols: int, scale: float) -> tuple[float, float]:
    """Exact ``E[x]`` and ``E[x²]`` of a non-zero level of ``X = W Wᵀ`` at any size.

    With ``m = min(rows, cols)`` levels, ``E tr X = rows · σ²`` and ``E tr X² = rows ·
    (rows + cols + 1) σ⁴ / cols`` for i.i.d. ``N(0, σ²/cols)`` entries (Wishart moments);
    per level, divided by ``m``. As ``rows, cols → ∞`` they tend to the Marchenko–Pastur
    ``σ²`` and ``σ⁴ (1 + λ)`` (``λ ≤ 1``).
    """
    levels = min(rows, cols)
    return rows * scale / levels, rows * (rows + cols + 1) * scale**2 / (cols * levels)


def mean_and_error(per_sample: np.ndarray) -> tuple[float, float]:
    """Mean of independent per-sample values and its standard error (NaN for fewer than 2)."""
    per_sample = np.asarray(per_sample, dtype=float)
    if per_sample.size < 2:
        return float(np.mean(per_sample)) if per_sample.size else np.nan, np.nan
    return float(per_sample.mean()), float(per_sample.std(ddof=1) / np.sqrt(per_sample.size))


def initial_statistics(levels: np.ndarray, rows: int, cols: int, scale: float) -> dict:
    """The initial levels ``(replicas, m)`` of one matrix against Marchenko–Pastur.

    ``initial_ks``: `ks_distance` to the law of `nonzero_level_law`;
    ``initial_mean`` and ``initial_second_moment`` (per level, mean over replicas with
    their standard errors over replicas, which are independent) next to the exact
    finite-size values of `initial_moments`.
    """
    ratio, law_scale = nonzero_level_law(rows, cols, scale)
    mean, mean_err = mean_and_error(levels.mean(axis=1))
    second, second_err = mean_and_error((levels**2).mean(axis=1))
    mean_exact, second_exact = initial_moments(rows, cols, scale)
    return {
        "initial_samples": len(levels),
        "initial_ks": ks_distance(levels, lambda x: marchenko_pastur_cdf(x, ratio, law_scale)),
        "initial_mean": mean,
        "initial_mean_err": mean_err,
        "initial_mean_exact": mean_exact,
        "initial_second_moment": second,
        "initial_second_moment_err": second_err,
        "initial_second_moment_exact": second_exact,
    }


def semicircle_radius(sigma: float, levels: int, beta: float = 1.0) -> float:
    """Radius of the semicircle with the ``n``-level Coulomb gas's exact second moment.

    The gas ``Π|y_i − y_j|^β exp(−Σ y_i²/(2σ²))`` has ``Z ∝ σ^{n + βn(n−1)/2}``, so
    ``E[y²] = σ² (1 + β(n − 1)/2)`` per level; a semicircle has ``E[y²] = R²/4``, so
    ``R = 2σ sqrt(1 + β(n − 1)/2)``, which tends to ``σ sqrt(2βn)`` (Wigner 1955).
    """
    return float(2 * sigma * np.sqrt(1 + beta * (levels - 1) / 2))


def stationary_statistics(levels: np.ndarray, center: float, sigma: float) -> dict:
    """A cluster's stationary levels ``(samples, n)`` against the semicircle.

    ``center`` and ``sigma`` are the cluster's Coulomb-gas fit (β = 1); ``radius`` is
    `semicircle_radius`, the prediction, and ``semicircle_ks`` the `ks_distance` to the
    semicircle of centre x0 and radius R. (The fit's σ is the maximum-likelihood one, so
    the levels' second moment about x0 is ``R²/4`` by construction: only the shape tests.)
    """
    radius = semicircle_radius(sigma, levels.shape[1]) if np.isfinite(sigma) else np.nan
    distance = (
        ks_distance(levels, lambda x: semicircle_cdf(x, center, radius))
        if np.isfinite(radius)
        else np.nan
    )
    return {"stationary_samples": len(levels), "radius": radius, "semicircle_ks": distance}
