"""Resampling errors and weighted straight-line fits."""

from collections.abc import Callable

import numpy as np


def equal_groups(labels: np.ndarray, groups: int) -> np.ndarray:
    """Assign distinct ``labels`` (e.g. replica ids) to ``groups`` contiguous, near-equal groups.

    Returns a group index per element of ``labels``; samples that share a label
    (snapshots of one replica) always share a group.
    """
    distinct, inverse = np.unique(labels, return_inverse=True)
    groups = min(groups, distinct.size)
    return (np.arange(distinct.size) * groups // distinct.size)[inverse]


def jackknife(
    estimator: Callable[[np.ndarray], np.ndarray],
    samples: np.ndarray,
    groups: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Delete-one-group jackknife of ``estimator(samples)``.

    ``samples`` has samples on axis 0 and ``groups`` a group label per sample.
    Returns the full-sample estimate and its error
    ``sqrt((G − 1)/G · Σ_g (θ_(g) − θ̄)²)`` over the ``G`` leave-one-group-out
    estimates (Efron & Stein 1981). Groups must be independent of each other;
    correlated samples belong in one group. Needs ``G ≥ 2``.
    """
    labels = np.unique(groups)
    if labels.size < 2:
        raise ValueError("the jackknife needs at least two independent groups")
    estimate = np.asarray(estimator(samples), dtype=float)
    leave_one_out = np.array([estimator(samples[groups != label]) for label in labels], dtype=float)
    spread = leave_one_out - leave_one_out.mean(axis=0)
    error = np.sqrt((labels.size - 1) / labels.size * np.sum(spread**2, axis=0))
    return estimate, error


def weighted_least_squares(
    design: np.ndarray, y: np.ndarray, y_error: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least-squares fit of the linear model ``y = design @ coefficients``.

    ``design`` is ``(points, parameters)``, ``y`` and ``y_error`` are
    ``(points,)`` (an error may be one number for every point); the weights
    are ``1/y_error²``. Returns ``(coefficients, covariance, chi2_per_dof)``:
    the coefficients ``(Xᵀ W X)⁻¹ Xᵀ W y`` minimise
    ``χ² = Σ w (y − design @ coefficients)²``, and their covariance
    ``(Xᵀ W X)⁻¹`` is scaled by ``χ²/dof`` when that exceeds 1 (the PDG scale
    factor), so scatter beyond the stated errors widens the errors instead of
    hiding. ``dof = points − parameters``; without a degree of freedom χ²/dof
    is NaN and the covariance unscaled. A NaN among the inputs gives NaN
    results.
    """
    y = np.asarray(y, dtype=float)
    error = np.broadcast_to(np.asarray(y_error, dtype=float), y.shape)
    whitened = np.asarray(design, dtype=float) / error[:, None]
    covariance = np.linalg.inv(whitened.T @ whitened)
    coefficients = covariance @ (whitened.T @ (y / error))
    dof = whitened.shape[0] - whitened.shape[1]
    if dof <= 0:
        return coefficients, covariance, np.nan
    chi2_per_dof = float(np.sum((y / error - whitened @ coefficients) ** 2) / dof)
    return coefficients, max(1.0, chi2_per_dof) * covariance, chi2_per_dof


def line_through_origin(
    x: np.ndarray, y: np.ndarray, y_error: np.ndarray
) -> tuple[float, float, float]:
    """Weighted least-squares fit of ``y = slope · x`` (`weighted_least_squares`).

    Returns ``(slope, slope_error, chi2_per_dof)`` with weights ``1/y_error²``:
    ``slope = Σ w x y / Σ w x²``. The error is ``1/sqrt(Σ w x²)``, scaled by
    ``sqrt(χ²/dof)`` when that exceeds 1 (the PDG scale factor), so scatter
    beyond the stated errors widens the slope's error instead of hiding.
    """
    design = np.asarray(x, dtype=float)[:, None]
    coefficients, covariance, chi2_per_dof = weighted_least_squares(design, y, y_error)
    return float(coefficients[0]), float(np.sqrt(covariance[0, 0])), chi2_per_dof


def integrated_autocorrelation_time(series: np.ndarray) -> float:
    """Integrated autocorrelation time ``τ = ½ + Σ_{k≥1} ρ_k`` of ``(chains, times)`` series.

    In units of the sampling interval: independent samples give ½, and the
    variance of a mean of ``N`` samples is ``2τ σ²/N``. ``ρ_k`` is the
    chain-averaged autocorrelation around the grand mean, summed up to the
    first non-positive value (initial positive sequence, Geyer 1992). Needs at
    least two times; the chains must be stationary.
    """
    deviations = series - series.mean()
    variance = np.mean(deviations**2)
    tau = 0.5
    for lag in range(1, series.shape[1]):
        rho = np.mean(deviations[:, lag:] * deviations[:, :-lag]) / variance
        if rho <= 0:
            break
        tau += rho
    return float(tau)
