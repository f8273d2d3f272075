"""The figures of one experiment: a registry of figure functions, each with its inputs and caption.

`FIGURES` maps a figure's name to its `FigureEntry`, in report order. A
figure is one function of a `FigureData` (the model's `Labels`, the tables
it declared, the analysed spectrum column and the burn-in) returning a
`matplotlib.figure.Figure` built with the object API, without pyplot;
`save_figure` writes it as PNG and PDF. The Snakemake rule ``plots`` runs
one job per (experiment, figure), reading only the figure's declared inputs,
and gives the figure's caption (`caption`) to the report.

Every model-dependent choice (axis names, which points a histogram shows,
colour by cluster or by learning rate, the caption's sentences) reads the
`Labels` the model declares; nothing is guessed from the tables.

Adding a figure: write its function and its caption function in a family
module and register it with ``@figure(name, inputs=(...), caption=...)``
(`registry.figure`). Within a family, figures come in the order of
definition; the families come in the order of `FAMILIES`.
"""

from collections.abc import Mapping

from ..labels import Labels
from . import agreement, flow, phase, scaling, spectra, wide
from .layout import save_figure
from .registry import (
    INPUTS,
    REGISTERED,
    WIDE_LIMIT_INPUTS,
    CaptionContext,
    FigureData,
    FigureEntry,
    Flow,
    caption_context,
)

FAMILIES = (flow, spectra, scaling, agreement, phase, wide)
"""The modules of figures, in report order."""

FIGURES: dict[str, FigureEntry] = {
    entry.name: entry
    for family in FAMILIES
    for entry in REGISTERED.values()
    if entry.function.__module__ == family.__name__
}
"""Every figure by name, in report order: eigenvalue_flow, spectrum_histograms, ..., centres."""

if set(FIGURES) != set(REGISTERED):
    raise ImportError(f"figures outside FAMILIES: {sorted(set(REGISTERED) - set(FIGURES))}")


def figures_of(
    phase_diagram: bool, wide_limit: bool = False, first_of_series: bool = False
) -> list[str]:
    """The figures an experiment gets, in report order.

    Those reading ``phase_cells`` only with a phase diagram; those reading the wide-limit
    tables (`WIDE_LIMIT_INPUTS`) only in a wide-limit series, and the series figure
    (reading ``wide_series``) only in the series' first experiment.
    """

    def drawn(inputs: tuple[str, ...]) -> bool:
        if "phase_cells" in inputs and not phase_diagram:
            return False
        if "wide_series" in inputs:
            return wide_limit and first_of_series
        return wide_limit or not set(inputs) & set(WIDE_LIMIT_INPUTS)

    return [name for name, entry in FIGURES.items() if drawn(entry.inputs)]


def caption(
    figure: str,
    labels: Labels,
    experiment: str,
    burn_in: int,
    flow_settings: Mapping[str, int],
    observable: str,
) -> str:
    """The reST caption of ``figure`` for one experiment (`FigureEntry.caption`).

    ``flow_settings`` holds the experiment's flow settings (``replicas``, ``snapshots``)
    and ``observable`` its config observable.
    """
    context = caption_context(labels, experiment, burn_in, flow_settings, observable)
    return FIGURES[figure].caption(context)


__all__ = [
    "FAMILIES",
    "FIGURES",
    "INPUTS",
    "WIDE_LIMIT_INPUTS",
    "CaptionContext",
    "FigureData",
    "FigureEntry",
    "Flow",
    "caption",
    "figures_of",
    "save_figure",
]
