"""What a figure is: one function of a `FigureData`, registered with its inputs and caption.

A family module (`flow`, `spectra`, `scaling`) registers each of its figures
with the `figure` decorator::

    @figure("scaling", inputs=("scaling", "scaling_fit"), caption=scaling_caption)
    def scaling_figure(data: FigureData) -> Figure: ...

``inputs`` name the tables the figure reads (`INPUTS`, fields of
`FigureData`): the rule reads those and no others. ``caption`` returns the
figure's reST caption after the header sentence every caption shares
(`caption_header`), from a `CaptionContext`.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..labels import Labels
from ..spectra import OBSERVABLE_COLUMNS
from .layout import LEVEL_NAMES, TARGET_SYMBOLS

INPUTS = (
    "scaling",
    "scaling_fit",
    "scaling_exponents",
    "density_fits",
    "spectra",
    "flow",
    "phase_cells",
    "initial_spectra",
    "wide_limit",
    "wide_series",
)
"""The tables a figure may declare: ``scaling``, ``scaling_fit``, ``scaling_exponents`` and
``density_fits`` of the experiment, the ``spectra`` of its points, the ``flow`` snapshots,
the ``phase_cells`` of a phase-diagram experiment (a figure declaring them is drawn only for
such experiments), and the ``initial_spectra`` and ``wide_limit`` table of a wide-limit
experiment, and the ``wide_series`` of its series (drawn only for such experiments; the
series' only for its first)."""
WIDE_LIMIT_INPUTS = ("initial_spectra", "wide_limit", "wide_series")


class Flow(NamedTuple):
    """The snapshots of the eigenvalue-flow run."""

    snapshots: pd.DataFrame
    """The scalar columns of a simulate table, one row per (layer, replica, step)."""
    weights: dict[int, np.ndarray]
    """Per layer, the ``(rows, n, m)`` weight matrices of its rows (`tables.weight_matrices`)."""


@dataclass(frozen=True)
class FigureData:
    """What a figure function reads: the model's labels and the tables it declared.

    The rule gives only the tables the figure declared; the others are ``None``.
    """

    labels: Labels
    scaling: pd.DataFrame
    """The experiment's scaling table (every figure reads it: titles, clusters, statuses)."""
    column: str = "singular_value"
    """The spectrum column of the analysed levels: ``singular_value`` or ``gram_eigenvalue``."""
    burn_in: int | None = None
    """The first step whose snapshots are statistics."""
    scaling_fit: pd.DataFrame | None = None
    scaling_exponents: pd.DataFrame | None = None
    """The experiment's power laws ⟨S⟩ = c α^p |B|^(−q) (`stages.scaling.scaling_exponents`)."""
    density_fits: pd.DataFrame | None = None
    spectra: Mapping[str, pd.DataFrame] | None = None
    """Point id → the rows of its spectrum table with ``step ≥ burn_in``."""
    flow: Flow | None = None
    phase_cells: pd.DataFrame | None = None
    """Every cell's row of the phase-cell table (`stages.phase.cell_table`)."""
    initial_spectra: Mapping[str, pd.DataFrame] | None = None
    """Point id → its initial-spectrum table (step 0, `stages.wide_limit`)."""
    wide_limit: pd.DataFrame | None = None
    """The experiment's wide-limit table (`stages.wide_limit.table`)."""
    wide_series: pd.DataFrame | None = None
    """The wide-limit tables of every experiment of the series, concatenated."""


@dataclass(frozen=True)
class CaptionContext:
    """What a caption reads: the labels and the experiment's name, escaped for reST, and settings.

    Build it with `caption_context`, which escapes the plain-text fields.
    """

    labels: Labels
    experiment: str
    burn_in: int
    flow: Mapping[str, int]
    """The experiment's ``flow`` settings: ``replicas`` and ``snapshots``."""
    observable: str
    """The config's observable: ``singular_values`` or ``gram_eigenvalues``."""

    @property
    def levels(self) -> str:
        """The analysed levels in the plural: ``singular values λ of W``."""
        return rst_text(LEVEL_NAMES[OBSERVABLE_COLUMNS[self.observable]])

    @property
    def target(self) -> str:
        """The symbol of a target level: ``λ*`` or ``x*``."""
        return rst_text(TARGET_SYMBOLS[OBSERVABLE_COLUMNS[self.observable]])


RST_MARKUP = re.compile(r"([\\`*_|])")
"""The characters of reST inline markup: literals, emphasis, references, substitutions."""


def rst_text(text: str) -> str:
    """Plain text as reST: a backslash before every markup character (``α/|B|`` → ``α/\\|B\\|``).

    A label such as ``external weights from runs/*.parquet`` then renders as written.
    """
    return RST_MARKUP.sub(r"\\\1", text)


def caption_context(
    labels: Labels, experiment: str, burn_in: int, flow: Mapping[str, int], observable: str
) -> CaptionContext:
    """A `CaptionContext` whose labels and experiment name are escaped for reST (`rst_text`)."""
    escaped = {
        field.name: rst_text(value)
        for field in fields(labels)
        if isinstance(value := getattr(labels, field.name), str)
    }
    return CaptionContext(
        labels=replace(labels, **escaped),
        experiment=rst_text(experiment),
        burn_in=burn_in,
        flow=flow,
        observable=observable,
    )


def caption_header(context: CaptionContext) -> str:
    """The sentence opening every caption: the experiment, what was run, the burn-in."""
    run = f"{context.labels.description}, " if context.labels.description else ""
    start = (
        "the step chosen per point by burn_in: auto, the fit table's burn_in"
        if context.burn_in == "auto"
        else context.burn_in
    )
    return f"Experiment **{context.experiment}** ({run}statistics at steps ≥ {start})."


def sentences(*parts: str) -> str:
    """The non-empty ``parts`` joined by spaces: a caption from optional sentences."""
    return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class FigureEntry:
    """A registered figure: its name, function, declared inputs and caption."""

    name: str
    function: Callable[[FigureData], Figure]
    inputs: tuple[str, ...]
    body: Callable[[CaptionContext], str]
    """The caption after `caption_header`."""

    def draw(self, data: FigureData) -> Figure:
        """The figure drawn from ``data``; raises ``ValueError`` if a declared table is missing."""
        missing = [name for name in self.inputs if getattr(data, name) is None]
        if missing:
            raise ValueError(f"figure {self.name} reads {', '.join(missing)}: not given")
        return self.function(data)

    def caption(self, context: CaptionContext) -> str:
        """The figure's reST caption: the shared header, then the figure's own text."""
        return f"{caption_header(context)} {self.body(context)}"


REGISTERED: dict[str, FigureEntry] = {}
"""Every figure, by name, in the order of registration (`sgd_dyson.plotting.FIGURES` orders
them for the report)."""


def figure(
    name: str, inputs: tuple[str, ...], caption: Callable[[CaptionContext], str]
) -> Callable[[Callable[[FigureData], Figure]], Callable[[FigureData], Figure]]:
    """Decorator registering a figure function under ``name`` with its inputs and caption."""
    unknown = set(inputs) - set(INPUTS)
    if unknown or "scaling" not in inputs:
        raise ValueError(f"figure {name}: inputs {inputs} must hold scaling and only {INPUTS}")

    def register(function: Callable[[FigureData], Figure]) -> Callable[[FigureData], Figure]:
        if name in REGISTERED:
            raise ValueError(f"figure {name} is registered twice")
        REGISTERED[name] = FigureEntry(name, function, tuple(inputs), caption)
        return function

    return register
