"""Stage sweep: the points of an experiment, with their seeds and run lengths."""

import pandas as pd

from ..config import POINT_ID_NAMES, canonical, point_id
from ..models import model_of
from ..seeding import point_seed


def settings(experiment: dict, points: list[dict]) -> dict:
    """What the sweep stage reads: the model and its ``points`` (`models.base.Model.points`)."""
    return canonical({"model": experiment["model"], "points": points})


def ratio(point: dict) -> float:
    """The effective temperature of a point: α/|B| for SGD, ``temperature`` for the Dyson model."""
    if point.get("batch_size") is not None:
        return point["learning_rate"] / point["batch_size"]
    return point["temperature"]


def table(name: str, points: list[dict], root_seed: int) -> pd.DataFrame:
    """One row per point (schema ``sweep``), ordered as ``points``.

    ``scans`` lists every grid a point belongs to; parameters a model does not
    sweep are missing (NaN); ``ratio`` is the effective temperature (`ratio`).
    """
    rows = []
    for point in points:
        identifier = point_id(point)
        rows.append(
            {
                "experiment": name,
                "point": identifier,
                **{key: point.get(key) for key in POINT_ID_NAMES},
                "ratio": ratio(point),
                "scans": point["scans"],
                "root_seed": root_seed,
                "point_seed": point_seed(name, identifier),
                "steps": point["steps"],
                "replicas": point["replicas"],
                "dataset_draws": point["dataset_draws"],
            }
        )
    frame = pd.DataFrame(rows)
    frame["batch_size"] = frame["batch_size"].astype("Int64")
    floats = [key for key in POINT_ID_NAMES if key != "batch_size"]
    frame[floats] = frame[floats].astype(float)  # what a model does not sweep is NaN
    return frame


def experiment_table(name: str, experiment: dict, root_seed: int) -> pd.DataFrame:
    """`table` of every point of the experiment ``name`` of a validated config."""
    return table(name, model_of(experiment).points(f"experiments.{name}", experiment), root_seed)
