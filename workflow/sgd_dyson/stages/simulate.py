"""Stages simulate and flow: train a point's replicas and keep their weight snapshots."""

import numpy as np

from ..config import canonical
from ..models import model_of
from ..simulation import Snapshots
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


def columns(snapshots: Snapshots, point: dict) -> dict:
    """Snapshots as the columns of a simulate table, one row per (replica, step), replica-major."""
    count, replicas, rows, cols = snapshots.weights.shape
    table_rows = replicas * count
    return {
        "replica": np.repeat(snapshots.replica, count),
        "draw": np.repeat(snapshots.draw, count),
        "step": np.tile(snapshots.steps, replicas),
        "rows": np.full(table_rows, rows),
        "cols": np.full(table_rows, cols),
        "weights": snapshots.weights.swapaxes(0, 1).reshape(table_rows, rows * cols),
        **{name: np.full(table_rows, point.get(name)) for name in POINT_COLUMNS},
    }
