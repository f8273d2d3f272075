"""Spectra of weight matrices, their observables and their degenerate clusters."""

import numpy as np
import pandas as pd

OBSERVABLE_COLUMNS = {
    "singular_values": "singular_value",
    "gram_eigenvalues": "gram_eigenvalue",
}
"""Spectrum-table column of each observable."""


def singular_values(weights: np.ndarray) -> np.ndarray:
    """Singular values of stacked matrices ``(..., n, n)``, ascending along the last axis."""
    return np.linalg.svd(weights, compute_uv=False)[..., ::-1]


def gram_eigenvalues(weights: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``X = WᵀW`` for stacked ``W`` ``(..., n, m)``, ascending.

    For ``n < m``, those of the smaller ``WWᵀ``: the same non-zero eigenvalues,
    one per singular value.
    """
    transposed = np.swapaxes(weights, -1, -2)
    if weights.shape[-2] < weights.shape[-1]:
        return np.linalg.eigvalsh(weights @ transposed)
    return np.linalg.eigvalsh(transposed @ weights)


def neighbour_spacings(levels: np.ndarray) -> np.ndarray:
    """Spacings between neighbouring levels of each sample: ``(samples, n − 1)``."""
    return np.diff(np.sort(levels, axis=1), axis=1)


def degenerate_clusters(targets: np.ndarray, tolerance: float) -> np.ndarray:
    """Cluster label of each level, for levels sorted like ``sorted(targets)``.

    Neighbouring sorted targets closer than ``tolerance × max(1, |target|)``
    share a cluster; labels count up from 0 in ascending order.
    """
    ordered = np.sort(np.asarray(targets, dtype=float))
    gaps = np.diff(ordered)
    splits = gaps > tolerance * np.maximum(1.0, np.abs(ordered[1:]))
    return np.concatenate([[0], np.cumsum(splits)])


def cluster_targets(targets: list[float], tolerance: float, observable: str) -> pd.DataFrame:
    """Clusters of the targets: ``cluster``, ``levels`` and the observable's ``target``."""
    targets = np.sort(np.asarray(targets, dtype=float))
    clusters = degenerate_clusters(targets, tolerance)
    if observable == "gram_eigenvalues":
        targets = targets**2
    frame = pd.DataFrame({"cluster": clusters, "target": targets})
    return frame.groupby("cluster", as_index=False).agg(
        levels=("target", "size"), target=("target", "mean")
    )


def targets_from_gaps(levels: np.ndarray, separation: float) -> np.ndarray:
    """Targets found in the data: per level, the mean of its cluster, ascending.

    ``levels`` are ``(samples, n)`` sorted levels of stationary snapshots.
    Neighbouring levels ``i`` and ``i + 1`` belong to one cluster unless their
    mean distance exceeds ``separation × sqrt(sd_i² + sd_{i+1}²)``: the levels
    of a degenerate cluster repel to a mean spacing of about one standard
    deviation (⟨S⟩ = √π σ for a GOE pair), while distinct targets sit many
    widths apart. The cluster's target is the mean of its levels.
    """
    mean, spread = levels.mean(axis=0), levels.std(axis=0)
    splits = np.diff(mean) > separation * np.hypot(spread[:-1], spread[1:])
    labels = np.concatenate([[0], np.cumsum(splits)])
    centres = np.array([mean[labels == label].mean() for label in np.unique(labels)])
    return centres[labels]
