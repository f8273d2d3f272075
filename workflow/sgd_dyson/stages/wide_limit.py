"""Stages initial_spectrum and wide_limit: a network's levels at step 0 and at stationarity
against the Marchenko–Pastur law and the semicircle (`sgd_dyson.wide_limit`)."""

import numpy as np
import pandas as pd

from ..config import canonical
from ..models import MODELS, model_of
from ..tables import arrow_table, column_names
from ..wide_limit import initial_statistics, stationary_statistics
from . import simulate, spectrum


def initial_settings(experiment: dict, point: dict) -> dict:
    """What the initial_spectrum stage reads of a point: the model, its run (the seeds and
    shapes of the initial weights) and the spectrum stage's settings (clusters, layers)."""
    return canonical(
        {
            "model": experiment["model"],
            "run": simulate.settings(experiment, point),
            "spectrum": spectrum.settings(experiment),
        }
    )


def initial_spectrum_columns(settings: dict, point: dict) -> dict:
    """The spectrum table (schema ``spectrum``, step 0) of the point's initial weights.

    The weights every replica's training starts from (`Model.initial_snapshots`), through
    the spectrum stage's own analysis (`spectrum.table_columns`), so levels, layers and
    clusters are numbered as in the point's spectrum table.
    """
    snapshots = MODELS[settings["model"]].initial_snapshots(settings["run"])
    table = arrow_table(simulate.columns(snapshots, point), "simulate")
    return spectrum.table_columns(table, "the initial weights", settings["spectrum"])


def settings(experiment: dict) -> dict:
    """What the wide_limit stage reads of an experiment: each learnable matrix's shape."""
    model = model_of(experiment)
    layers = experiment["layers"]
    shapes = [
        {"layer": layer, "rows": layers[layer + 1], "cols": layers[layer]}
        for layer, _ in model.layer_targets(experiment)
    ]
    return canonical({"shapes": shapes})


def level_matrix(rows: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """The ``gram_eigenvalue`` of ``rows`` as ``(samples, levels)``, one row per ``keys`` value,
    levels in ascending ``level`` order."""
    return rows.pivot_table(index=keys, columns="level", values="gram_eigenvalue").to_numpy()


def table(
    scaling: pd.DataFrame,
    initial: dict[str, pd.DataFrame],
    spectra: dict[str, pd.DataFrame],
    stage_settings: dict,
) -> pd.DataFrame:
    """One row per (point, cluster of ≥ 2 levels) of the scaling table (schema ``wide_limit``).

    ``initial`` and ``spectra`` map a point id to its initial-spectrum and spectrum tables.
    The initial statistics are the cluster's layer's (`wide_limit.initial_statistics`,
    scale σ_W² = ``init_width``²); the stationary ones (`wide_limit.stationary_statistics`,
    the fit's centre and σ, snapshots at the fit's ``burn_in`` and after) only where the
    fit's status is ok.
    """
    shapes = {entry["layer"]: (entry["rows"], entry["cols"]) for entry in stage_settings["shapes"]}
    rows = []
    for fit in scaling[scaling["levels"] >= 2].to_dict("records"):
        point, layer = fit["point"], fit["layer"]
        matrix_rows, cols = shapes[layer]
        start = initial[point]
        levels = level_matrix(start[start["layer"] == layer], ["replica"])
        row = {**fit, "rows": matrix_rows, "cols": cols}
        row.update(initial_statistics(levels, matrix_rows, cols, fit["init_width"] ** 2))
        stationary = {"stationary_samples": 0, "radius": np.nan, "semicircle_ks": np.nan}
        if fit["status"] == "ok":
            snapshots = spectra[point]
            chosen = snapshots[
                (snapshots["cluster"] == fit["cluster"]) & (snapshots["step"] >= fit["burn_in"])
            ]
            cluster = level_matrix(chosen, ["replica", "step"])
            stationary = stationary_statistics(cluster, fit["center"], fit["sigma"])
        row.update(stationary)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=column_names("wide_limit"))
    return frame.sort_values(["cluster", "point"], ignore_index=True)
