"""Stage spectrum: the levels of every snapshot, each assigned to a cluster of the target."""

import numpy as np
import pandas as pd

from ..config import canonical
from ..models import model_of
from ..spectra import degenerate_clusters, gram_eigenvalues, singular_values, targets_from_gaps
from ..tables import POINT_COLUMNS


def settings(experiment: dict) -> dict:
    """What the spectrum stage reads of an experiment.

    ``targets`` (`models.base.Model.targets`) and ``cluster_tolerance``; with
    targets found in the data (``auto``), the clusters come from the snapshots
    at ``step ≥ burn_in``, split where the gap exceeds ``cluster_separation``
    combined standard deviations.
    """
    model = model_of(experiment)
    spectrum = {
        "targets": model.targets(experiment),
        "cluster_tolerance": experiment["cluster_tolerance"],
    }
    if spectrum["targets"] == "auto":
        spectrum["burn_in"] = model.burn_in(experiment)
        spectrum["cluster_separation"] = experiment["cluster_separation"]
    return canonical(spectrum)


def columns(
    snapshots: pd.DataFrame,
    weights: np.ndarray,
    targets: list[float] | str,
    tolerance: float,
    burn_in: int = 0,
    separation: float | None = None,
) -> dict:
    """Levels of every snapshot, one row per (snapshot, level) (schema ``spectrum``).

    ``snapshots`` holds the scalar columns of a simulate table and ``weights``
    its matrices ``(rows, n, m)``. Level ``i`` (ascending) belongs to the
    cluster of the ``i``-th smallest target singular value. ``targets="auto"``
    finds them in the singular values at ``step ≥ burn_in``
    (`spectra.targets_from_gaps` with ``separation``).
    """
    sv = singular_values(weights) if len(weights) else np.empty((0, len(targets)))
    if isinstance(targets, str):
        stationary = sv[snapshots["step"].to_numpy() >= burn_in]
        if len(stationary) < 2:
            raise ValueError(
                f"burn_in = {burn_in} leaves {len(stationary)} snapshots to find the "
                "clusters in; lower burn_in"
            )
        targets = targets_from_gaps(stationary, separation)
    levels = len(targets)
    targets = np.sort(np.asarray(targets, dtype=float))
    clusters = degenerate_clusters(targets, tolerance)
    gram = gram_eigenvalues(weights) if len(weights) else np.empty((0, levels))
    repeated = {
        name: np.repeat(snapshots[name].to_numpy(), levels)
        for name in ["replica", "draw", "step", *POINT_COLUMNS]
    }
    rows = len(snapshots)
    return {
        **repeated,
        "level": np.tile(np.arange(levels), rows),
        "singular_value": sv.ravel(),
        "gram_eigenvalue": gram.ravel(),
        "cluster": np.tile(clusters, rows),
        "target_singular_value": np.tile(targets, rows),
    }
