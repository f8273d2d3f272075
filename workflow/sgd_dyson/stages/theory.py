"""Stage theory: the predicted stationary spectrum of one sweep point, exact and continuum."""

import numpy as np
import pandas as pd

from ..config import canonical
from ..models import MODELS, model_of
from ..seeding import Stream, seed_sequence
from ..spectra import cluster_targets
from ..tables import POINT_COLUMNS, column_names
from ..theory import predicted_cluster_statistics, predicted_levels

PREDICTIONS = {"exact": True, "continuum": False}
"""The theory's predictions: the exact discrete-time one, and its continuum (α → 0) limit."""


def settings(experiment: dict, point: dict) -> dict:
    """What the theory stage reads of an experiment and one of its points.

    The model's own settings (`models.base.Model.theory_settings`), the
    targets and how to cluster them, the observable, the Monte-Carlo
    ``theory.samples`` and the point's seeds.
    """
    model = model_of(experiment)
    return canonical(
        {
            "model": model.name,
            **model.theory_settings(experiment, point),
            "targets": model.targets(experiment),
            "cluster_tolerance": experiment["cluster_tolerance"],
            "observable": experiment["observable"],
            "samples": experiment["theory"]["samples"],
            "root_seed": point["root_seed"],
            "point_seed": point["point_seed"],
        }
    )


def table(settings: dict, point: dict) -> pd.DataFrame:
    """Predicted stationary cluster statistics of one point (schema ``theory``).

    The model's stationary law (`models.base.Model.stationary_law`: for the
    teacher–student model Gaussian weights around the teacher with the exact
    stationary covariance of online SGD, O(α) and multiplicative mini-batch
    terms included, and its continuum limit; for the Dyson model the exact
    GOE law, both rows equal), sampled ``samples`` times (seeded by the
    point) and analysed like the measurements
    (`theory.predicted_cluster_statistics`). Where there is no stationary
    state the rows say ``unstable``.
    """
    model = MODELS[settings["model"]]
    targets, tolerance = settings["targets"], settings["cluster_tolerance"]
    clusters = cluster_targets(targets, tolerance, settings["observable"])
    rows = []
    for index, (prediction, exact) in enumerate(PREDICTIONS.items()):
        seed = seed_sequence(settings["root_seed"], settings["point_seed"], index, 0, Stream.THEORY)
        try:
            center, moments = model.stationary_law(settings, exact)
        except ValueError:  # no stationary state: nothing to predict
            statistics = clusters.assign(status="unstable")
        else:
            levels = predicted_levels(
                center,
                moments,
                settings["samples"],
                np.random.default_rng(seed),
                settings["observable"],
            )
            statistics = predicted_cluster_statistics(
                levels, targets, tolerance, settings["observable"]
            ).assign(status="ok")
        rows.append(statistics.assign(prediction=prediction))
    predictions = pd.concat(rows, ignore_index=True)
    predictions = predictions.assign(
        point=point["point"], **{column: point.get(column) for column in POINT_COLUMNS}
    )
    return predictions.reindex(columns=column_names("theory"))
