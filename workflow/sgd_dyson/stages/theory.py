"""Stage theory: the predicted stationary spectrum of one sweep point, exact and continuum."""

import logging

import numpy as np
import pandas as pd

from ..config import canonical
from ..models import MODELS, model_of
from ..seeding import Stream, seed_sequence
from ..spectra import clusters_of_levels, layered_levels
from ..tables import POINT_COLUMNS, column_names
from ..theory import layered_cluster_statistics

logger = logging.getLogger(__name__)

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
            "layers": [
                {"layer": layer, "targets": targets}
                for layer, targets in model.layer_targets(experiment)
            ],
            "cluster_tolerance": experiment["cluster_tolerance"],
            "observable": experiment["observable"],
            "samples": experiment["theory"]["samples"],
            "root_seed": point["root_seed"],
            "point_seed": point["point_seed"],
        }
    )


def table(settings: dict, point: dict) -> pd.DataFrame:
    """Predicted stationary cluster statistics of one point (schema ``theory``).

    The model's stationary levels (`models.base.Model.predicted_levels`; by
    default its `stationary_law`: for the teacher–student model Gaussian
    weights around the teacher with the exact stationary covariance of online
    SGD, O(α) and multiplicative mini-batch terms included, and its continuum
    limit; for the Dyson model the exact GOE law, both rows equal; for a
    network the linearised law at the teacher; for the Gaussian RBM the Gaussian
    closure of ``X = WᵀW`` of `rbm_theory` and its α → 0 limit), sampled ``samples`` times
    (seeded by the point) and analysed like the measurements, layer by layer
    (`theory.layered_cluster_statistics`). Where there is no prediction the
    rows' status says why: ``unstable`` (no stationary state), or the
    model's reason (`theory.NoPredictionError`).
    """
    model = MODELS[settings["model"]]
    layers = [(layer["layer"], layer["targets"]) for layer in settings["layers"]]
    tolerance, observable = settings["cluster_tolerance"], settings["observable"]
    clusters = clusters_of_levels(layered_levels(layers, tolerance), observable)
    rows = []
    for index, (prediction, exact) in enumerate(PREDICTIONS.items()):
        seed = seed_sequence(settings["root_seed"], settings["point_seed"], index, 0, Stream.THEORY)
        try:
            levels = model.predicted_levels(settings, exact, np.random.default_rng(seed))
        except ValueError as error:  # no stationary state, or no theory here: nothing to predict
            status = getattr(error, "status", "unstable")
            logger.warning("%s prediction: %s (%s)", prediction, status, error)
            statistics = clusters.drop(columns="layer").assign(status=status)
        else:
            statistics = layered_cluster_statistics(levels, layers, tolerance, observable).assign(
                status="ok"
            )
        rows.append(statistics.assign(prediction=prediction))
    predictions = pd.concat(rows, ignore_index=True)
    predictions = predictions.assign(
        point=point["point"], **{column: point.get(column) for column in POINT_COLUMNS}
    )
    return predictions.reindex(columns=column_names("theory"))
