"""Stage spectrum: the levels of every snapshot, each assigned to a cluster of the target."""

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import canonical
from ..models import model_of
from ..spectra import degenerate_clusters, gram_eigenvalues, singular_values, targets_from_gaps
from ..stationarity import snapshot_levels, stationary_start
from ..tables import POINT_COLUMNS, layer_tables, weight_matrices


def settings(experiment: dict) -> dict:
    """What the spectrum stage reads of an experiment.

    ``layers``: per analysed weight matrix its ``layer`` and ``targets``
    (`models.base.Model.layer_targets`), and ``cluster_tolerance``; with
    targets found in the data (``auto``), the clusters come from the snapshots
    at ``step ≥ burn_in``, split where the gap exceeds ``cluster_separation``
    combined standard deviations; with ``burn_in: auto`` the step is chosen
    from the singular values as the fit stage chooses it, which needs
    ``shared_dataset`` (whether replicas of one draw share their data).
    """
    model = model_of(experiment)
    layers = [
        {"layer": layer, "targets": targets} for layer, targets in model.layer_targets(experiment)
    ]
    spectrum = {"layers": layers, "cluster_tolerance": experiment["cluster_tolerance"]}
    if any(layer["targets"] == "auto" for layer in layers):
        spectrum["burn_in"] = model.burn_in(experiment)
        spectrum["cluster_separation"] = experiment["cluster_separation"]
        if spectrum["burn_in"] == "auto":
            spectrum["shared_dataset"] = experiment.get("dataset", "paper") == "paper"
    return canonical(spectrum)


def table_columns(table: pa.Table, source: str, settings: dict) -> dict:
    """The spectrum table of a simulate table (``source``: its file, for messages).

    Each analysed layer's snapshots (`tables.layer_tables`) through `columns`,
    its levels and clusters numbered on from the previous layer's, so that a
    cluster never spans two matrices. A layer missing from the table is an error.
    """
    by_layer = layer_tables(table)
    parts, first_level, first_cluster = [], 0, 0
    for entry in settings["layers"]:
        layer = entry["layer"]
        if layer not in by_layer and table.num_rows:
            raise ValueError(f"no snapshots of layer {layer} (the table holds {list(by_layer)})")
        rows = by_layer.get(layer, table.slice(0, 0))
        part = columns(
            rows.drop_columns(["weights"]).to_pandas(),
            weight_matrices(rows, source),
            entry["targets"],
            settings["cluster_tolerance"],
            burn_in=settings.get("burn_in", 0),
            separation=settings.get("cluster_separation"),
            shared_dataset=settings.get("shared_dataset", False),
            layer=layer,
        )
        part["level"] = part["level"] + first_level
        part["cluster"] = part["cluster"] + first_cluster
        if len(part["level"]):
            first_level, first_cluster = part["level"].max() + 1, part["cluster"].max() + 1
        parts.append(part)
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


LARGEST_LEVEL = 1.0e150
"""Largest singular value the analysis takes: the fits square levels and widths (and X = WᵀW
squares them), and (1e150)² stays well inside double precision's 1.8e308."""


def columns(
    snapshots: pd.DataFrame,
    weights: np.ndarray,
    targets: list[float] | str,
    tolerance: float,
    burn_in: int | str = 0,
    separation: float | None = None,
    shared_dataset: bool = False,
    layer: int = 0,
) -> dict:
    """Levels of every snapshot of one weight matrix (``layer``), one row per (snapshot, level).

    ``snapshots`` holds the scalar columns of a simulate table and ``weights``
    its matrices ``(rows, n, m)``. Level ``i`` (ascending) belongs to the
    cluster of the ``i``-th smallest target singular value. ``targets="auto"``
    finds them in the singular values at ``step ≥ burn_in``
    (`spectra.targets_from_gaps` with ``separation``; ``burn_in="auto"``:
    `auto_burn_in`). Singular values above `LARGEST_LEVEL` are an error.
    """
    sv = singular_values(weights) if len(weights) else np.empty((0, len(targets)))
    if sv.size and sv.max() > LARGEST_LEVEL:
        raise ValueError(
            f"a singular value of {sv.max():.3g} (replica "
            f"{snapshots['replica'].iloc[int(np.argmax(sv.max(axis=1)))]}) exceeds "
            f"{LARGEST_LEVEL:g}: the fits would square it beyond double precision; "
            "rescale the weights"
        )
    if isinstance(targets, str):
        if burn_in == "auto":
            burn_in = auto_burn_in(snapshots, sv, shared_dataset)
        stationary = sv[snapshots["step"].to_numpy() >= burn_in]
        if len(stationary) < 2:
            raise ValueError(
                f"burn_in = {burn_in} leaves {len(stationary)} snapshots to find the "
                f"clusters in (snapshot steps {np.unique(snapshots['step']).tolist()}); "
                "lower burn_in"
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
        "layer": np.full(rows * levels, layer),
        "level": np.tile(np.arange(levels), rows),
        "singular_value": sv.ravel(),
        "gram_eigenvalue": gram.ravel(),
        "cluster": np.tile(clusters, rows),
        "target_singular_value": np.tile(targets, rows),
    }


def auto_burn_in(snapshots: pd.DataFrame, sv: np.ndarray, shared_dataset: bool) -> int:
    """``burn_in: auto`` of one point: `stationarity.stationary_start` of its singular values.

    ``sv`` ``(snapshots, levels)`` in the rows of ``snapshots``; the independent
    units are the dataset draws when ``shared_dataset`` and there are several,
    else the replicas: the fit stage's choice (`stages.fit.chosen_burn_in`).
    """
    levels, steps, replicas = snapshot_levels(
        snapshots["replica"].to_numpy(), snapshots["step"].to_numpy(), sv
    )
    units = replicas
    if shared_dataset and snapshots["draw"].nunique() >= 2:
        units = snapshots.groupby("replica")["draw"].first().loc[replicas].to_numpy()
    return stationary_start(levels, steps, units)
