"""Stages simulate and flow: train a point's replicas and keep their weight snapshots."""

import numpy as np

from ..config import canonical
from ..models import model_of
from ..simulation import LayeredSnapshots, Snapshots
from ..tables import POINT_COLUMNS


def settings(experiment: dict, point: dict) -> dict:
    """The run settings of one point (`models.base.Model.run_settings`), canonical."""
    return canonical(model_of(experiment).run_settings(experiment, point))


def flow_settings(experiment: dict, point: dict) -> dict:
    """`settings` of the eigenvalue-flow run: few replicas, fine snapshots.

    The replicas are the point's first ones (same seeds) when the dataset has
    one draw.
    """
    flow = experiment["flow"]
    return {
        **settings(experiment, point),
        "replicas": flow["replicas"],
        "snapshot_every": max(1, experiment["steps"] // flow["snapshots"]),
    }


def columns(snapshots: Snapshots | LayeredSnapshots, point: dict) -> dict:
    """Snapshots as the columns of a simulate table, one row per (layer, replica, step).

    Layer by layer, each replica-major; a layer is an analysed weight matrix
    (`Snapshots.by_layer`: layer 0 for the models with one).
    """
    parts = [
        layer_columns(layer, layer_snapshots)
        for layer, layer_snapshots in snapshots.by_layer().items()
    ]
    table_rows = sum(len(part["replica"]) for part in parts)
    joined = {
        name: np.concatenate([part[name] for part in parts])
        for name in parts[0]
        if name != "weights"
    }
    # One matrix: a 2-D array (fast to store); matrices of different shapes: a list per row.
    joined["weights"] = (
        parts[0]["weights"]
        if len(parts) == 1
        else [row for part in parts for row in part["weights"]]
    )
    return {**joined, **{name: np.full(table_rows, point.get(name)) for name in POINT_COLUMNS}}


def layer_columns(layer: int, snapshots: Snapshots) -> dict:
    """The simulate-table columns of one weight matrix's snapshots (no point columns)."""
    count, replicas, rows, cols = snapshots.weights.shape
    table_rows = replicas * count
    return {
        "replica": np.repeat(snapshots.replica, count),
        "draw": np.repeat(snapshots.draw, count),
        "step": np.tile(snapshots.steps, replicas),
        "layer": np.full(table_rows, layer),
        "rows": np.full(table_rows, rows),
        "cols": np.full(table_rows, cols),
        "weights": snapshots.weights.swapaxes(0, 1).reshape(table_rows, rows * cols),
    }
