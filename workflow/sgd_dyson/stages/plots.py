"""Stage plots: one figure of one experiment, drawn from the tables it declares.

`labels`, `settings`, `caption` and `description` are what the rule reads of the config and
the model (its params); `read_figure_data` is the rule's step: the tables the
figure declares (`sgd_dyson.plotting.FIGURES`) in, the `FigureData` its
function draws out.
"""

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import plotting
from ..labels import Labels
from ..plotting import FIGURES, CaptionContext, FigureData, Flow
from ..plotting.registry import caption_header
from ..plotting.selection import first_replicas
from ..spectra import OBSERVABLE_COLUMNS
from ..tables import layer_tables, read_arrow, read_table, weight_matrices

if TYPE_CHECKING:  # the models are not imported by the figure jobs: they cost a second each
    from ..models import Model


def labels(model: "Model", experiment: dict) -> dict:
    """The ``model``'s `Labels` of a validated ``experiment``, as a plain dictionary (a param)."""
    return model.labels(experiment).as_params()


def settings(model: "Model", experiment: dict, figure: str) -> dict:
    """What one figure of a validated ``experiment`` reads of the config.

    ``burn_in`` (the first step whose snapshots are statistics, `Model.burn_in`)
    and ``observable``; for a figure reading the flow, ``flow_replicas``.
    """
    figure_settings = {
        "burn_in": model.burn_in(experiment),
        "observable": experiment["observable"],
    }
    if "flow" in FIGURES[figure].inputs:
        figure_settings["flow_replicas"] = experiment["flow"]["replicas"]
    return figure_settings


def caption_context(name: str, model: "Model", experiment: dict) -> CaptionContext:
    """What the captions of the experiment ``name`` read: its labels and settings, escaped."""
    return plotting.caption_context(
        model.labels(experiment),
        name,
        model.burn_in(experiment),
        experiment["flow"],
        experiment["observable"],
    )


def caption(name: str, model: "Model", experiment: dict, figure: str) -> str:
    """The reST caption of one figure of the experiment ``name``."""
    return FIGURES[figure].caption(caption_context(name, model, experiment))


def description(name: str, model: "Model", experiment: dict) -> str:
    """The sentence opening every caption of the experiment ``name`` (its tables' too)."""
    return caption_header(caption_context(name, model, experiment))


def read_spectra(
    paths: Sequence[str | PathLike], burn_in: int | Mapping[str, int]
) -> dict[str, pd.DataFrame]:
    """Point id (the file's stem) → the rows of its spectrum table with ``step ≥ burn_in``.

    ``burn_in`` is one step, or point id → its step (``burn_in: auto``: the fit
    table's ``burn_in`` column).
    """
    spectra = {}
    for path in paths:
        spectrum = read_table(path, "spectrum")
        point = Path(path).stem
        start = burn_in[point] if isinstance(burn_in, Mapping) else burn_in
        spectra[point] = spectrum[spectrum["step"] >= start]
    return spectra


def read_flow(path: str | PathLike, replicas: int) -> Flow:
    """The first ``replicas`` replicas of a simulate table: its scalar columns and weights.

    Only their weights are decoded (external weights hold every replica of the point).
    """
    table = first_replicas(read_arrow(path, "simulate"), replicas)
    weights = {layer: weight_matrices(rows, path) for layer, rows in layer_tables(table).items()}
    return Flow(table.drop_columns(["weights"]).to_pandas(), weights)


def concatenated(paths: Sequence[str | PathLike], kind: str) -> pd.DataFrame:
    """The tables of ``kind`` in ``paths``, one after another."""
    return pd.concat([read_table(path, kind) for path in paths], ignore_index=True)


def read_figure_data(
    figure: str, inputs: Mapping, labels: Mapping, settings: Mapping
) -> FigureData:
    """The `FigureData` of ``figure``: its declared tables read from the files ``inputs`` names.

    ``inputs`` maps each declared input (`plotting.INPUTS`) to its file (the
    spectra: a list of files); ``labels`` and ``settings`` are the params
    built by `labels` and `settings`.
    """
    burn_in = settings["burn_in"]
    scaling = None
    if burn_in == "auto":  # chosen per point by the fit stage: the scaling table's column
        scaling = read_table(inputs["scaling"], "scaling")
        burn_in = scaling.drop_duplicates("point").set_index("point")["burn_in"].to_dict()
    readers = {
        "scaling": lambda path: read_table(path, "scaling") if scaling is None else scaling,
        "scaling_fit": lambda path: read_table(path, "scaling_fit"),
        "scaling_exponents": lambda path: read_table(path, "scaling_exponents"),
        "density_fits": lambda path: read_table(path, "density_fits"),
        "spectra": lambda paths: read_spectra(paths, burn_in),
        "flow": lambda path: read_flow(path, settings["flow_replicas"]),
        "phase_cells": lambda paths: concatenated(paths, "phase_cell"),
        "initial_spectra": lambda paths: {
            Path(path).stem: read_table(path, "spectrum") for path in paths
        },
        "wide_limit": lambda path: read_table(path, "wide_limit"),
        "wide_series": lambda paths: concatenated(paths, "wide_limit"),
    }
    return FigureData(
        labels=Labels.from_params(labels),
        column=OBSERVABLE_COLUMNS[settings["observable"]],
        burn_in=None if isinstance(burn_in, Mapping) else burn_in,
        **{name: readers[name](inputs[name]) for name in FIGURES[figure].inputs},
    )
