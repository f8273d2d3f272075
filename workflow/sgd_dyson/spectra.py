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


def layered_levels(layers: list[tuple[int, list[float]]], tolerance: float) -> pd.DataFrame:
    """Every level of the analysed weight matrices: ``layer``, ``level``, ``cluster``, target.

    ``layers`` holds ``(layer, target singular values)`` per matrix, in order.
    Within a layer the levels ascend like its sorted targets and form
    `degenerate_clusters`; levels and clusters are numbered on through the
    layers, so that a cluster never spans two matrices. The target column is
    ``target_singular_value``, as in the spectrum table.
    """
    parts, levels, clusters = [], 0, 0
    for layer, targets in layers:
        ordered = np.sort(np.asarray(targets, dtype=float))
        labels = degenerate_clusters(ordered, tolerance) + clusters
        parts.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    "level": levels + np.arange(ordered.size),
                    "cluster": labels,
                    "target_singular_value": ordered,
                }
            )
        )
        levels, clusters = levels + ordered.size, labels[-1] + 1
    return pd.concat(parts, ignore_index=True)


def clusters_of_levels(levels: pd.DataFrame, observable: str) -> pd.DataFrame:
    """Per cluster of ``levels`` (`layered_levels`, or a spectrum table): ``layer``, ``cluster``,
    ``levels`` and the observable's ``target`` (the mean of its levels' targets, squared for the
    eigenvalues of X)."""
    levels = levels.drop_duplicates("level")
    target = levels["target_singular_value"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "layer": levels["layer"].to_numpy(),
            "cluster": levels["cluster"].to_numpy(),
            "target": target**2 if observable == "gram_eigenvalues" else target,
        }
    )
    return frame.groupby("cluster", as_index=False).agg(
        layer=("layer", "first"), levels=("target", "size"), target=("target", "mean")
    )


def cluster_targets(targets: list[float], tolerance: float, observable: str) -> pd.DataFrame:
    """Clusters of one matrix's targets: ``cluster``, ``levels`` and the observable's ``target``."""
    clusters = clusters_of_levels(layered_levels([(0, targets)], tolerance), observable)
    return clusters.drop(columns="layer")


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
