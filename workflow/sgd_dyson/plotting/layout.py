"""How the figures look: panel sizes, titles and notes, legends, axes, names, colours, files.

Nothing here chooses data; `selection` does. Every function builds on the
matplotlib object API (no pyplot, so no global state).
"""

import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..labels import Labels
from ..tables import atomic_path

LEVEL_LABELS = {
    "singular_value": "singular value λ of W",
    "gram_eigenvalue": "eigenvalue x of X = WᵀW",
}
"""Axis name of one level of each analysed spectrum column."""
LEVEL_NAMES = {
    "singular_value": "singular values λ of W",
    "gram_eigenvalue": "eigenvalues x of X = WᵀW",
}
"""The levels of each analysed spectrum column, in the plural (titles and captions)."""
TARGET_SYMBOLS = {"singular_value": "λ*", "gram_eigenvalue": "x*"}
"""The symbol of a target level in the analysed column."""
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]
PNG_DPI = 200
PANEL_SIZE = (4.2, 3.6)
"""Width and height of one panel of a grid, in inches."""
PANEL_COLUMNS = 3
MIN_FIGURE_WIDTH = 6.4
TITLE_CHARACTERS_PER_INCH = 10
NOTE_CHARACTERS_PER_INCH = 14
POINT_SYMBOLS = {
    "learning_rate": "α",
    "batch_size": "|B|",
    "noise": "ε",
    "temperature": "T",
    "init_width": "σ_W",
}
"""Symbol of each point column of the tables, in the order `point_label` names them."""
CLUSTER_NAMES = {1: "single level", 2: "pair", 3: "triplet"}
NO_OK_POINT = "no point without diverged replicas"


# --- Names ----------------------------------------------------------------------------


def point_label(row: pd.Series | Mapping) -> str:
    """``α = 0.1, |B| = 16, ε = 0.1`` (or ``T = 0.001``) from a row's non-null point columns."""
    parts = []
    for column, symbol in POINT_SYMBOLS.items():
        value = row.get(column)
        if value is None or pd.isna(value):
            continue
        parts.append(
            f"{symbol} = {int(value)}" if column == "batch_size" else f"{symbol} = {value:g}"
        )
    return ", ".join(parts)


def point_setting(point: pd.Series, labels: Labels) -> str:
    """The point's place on the scaling axis: ``scale √(α ε²/|B|) = 0.01``, or its ratio.

    Where the scale depends on the cluster (`Labels.cluster_scale`: A = x*),
    a point has no single scale and is placed by its ratio.
    """
    if labels.cluster_scale:
        return f"{labels.ratio} = {point['ratio']:.3g}"
    return f"scale {labels.scale} = {point['scale']:.3g}"


def ratio_axis_label(labels: Labels) -> str:
    """Axis label of the ratio: ``α/|B| (dimensionless)``, ``temperature T (dimensionless)``."""
    return f"{labels.ratio_name} (dimensionless)"


def cluster_name(levels: int, target: float, layer: int | None = None) -> str:
    """``pair at 2`` / ``triplet at 2`` / ``single level at 3.5`` / ``4 levels at 1``; with a
    ``layer`` (a network with several trained matrices), ``pair at 1 in W1``."""
    name = CLUSTER_NAMES.get(int(levels), f"{int(levels)} levels")
    where = "" if layer is None else f" in W{int(layer)}"
    return f"{name} at {target:.4g}{where}"


def cluster_colour(cluster: int) -> str:
    """The colour of a cluster, the same in every figure of the experiment."""
    return f"C{int(cluster) % 10}"


# --- Titles and notes -------------------------------------------------------------------


EXCLUSION_REASONS = {
    "all_diverged": "all replicas diverged",
    "diverged": "some replicas diverged",
    "non_stationary": "not stationary",
}
"""The human phrase of each status other than ok (`stages.fit.point_status`)."""


def excluded_points_note(scaling: pd.DataFrame) -> str:
    """One line naming the points left out of the fits and why (`EXCLUSION_REASONS`), or ``""``."""
    excluded = scaling[scaling["status"] != "ok"].drop_duplicates("point")
    if excluded.empty:
        return ""
    names = "; ".join(
        f"{point_label(row)} ({EXCLUSION_REASONS.get(row['status'], row['status'])})"
        for _, row in excluded.iterrows()
    )
    return f"excluded: {names}"


def set_figure_title(figure: Figure, scaling: pd.DataFrame, title: str, note: bool = True) -> None:
    """Title ``"<experiment>: <title>"``; the points excluded as diverged in small print below.

    Both are wrapped to the figure's width; ``note=False`` leaves out the excluded points.
    """
    width = figure.get_figwidth()
    heading = f"{scaling['experiment'].iloc[0]}: {title}"
    figure.suptitle(textwrap.fill(heading, int(TITLE_CHARACTERS_PER_INCH * width)))
    text = excluded_points_note(scaling) if note else ""
    if text:
        figure.supxlabel(
            textwrap.fill(text, int(NOTE_CHARACTERS_PER_INCH * width)),
            fontsize="small",
            color="0.3",
        )


# --- Panels -------------------------------------------------------------------------------


def panels_figure(columns: int, rows: int) -> Figure:
    """An empty figure sized for ``rows × columns`` panels (at least `MIN_FIGURE_WIDTH` wide)."""
    return Figure(
        figsize=(max(MIN_FIGURE_WIDTH, PANEL_SIZE[0] * columns), PANEL_SIZE[1] * rows),
        layout="constrained",
    )


def panel_grid(figure: Figure, panels: int) -> list[Axes]:
    """``panels`` axes on a grid of at most `PANEL_COLUMNS` columns, filled row by row."""
    rows = -(-panels // PANEL_COLUMNS)
    columns = min(panels, PANEL_COLUMNS)
    return [figure.add_subplot(rows, columns, index + 1) for index in range(panels)]


def mark_empty(axes: Axes, message: str) -> None:
    """Write ``message`` in the middle of an axes that has no data."""
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, wrap=True)


def empty_figure(scaling: pd.DataFrame, title: str, message: str) -> Figure:
    """A titled figure with one blank panel saying ``message``."""
    figure = Figure(figsize=(MIN_FIGURE_WIDTH, 3.0), layout="constrained")
    set_figure_title(figure, scaling, title)
    axes = figure.add_subplot()
    axes.set_axis_off()
    mark_empty(axes, message)
    return figure


# --- Legends, markers, axes ------------------------------------------------------------------


def unique_legend(axes: Axes | Figure, axes_list, **keywords) -> None:
    """One legend on ``axes`` with the first handle of every label found on ``axes_list``."""
    handles = {}
    for other in axes_list:
        for handle, label in zip(*other.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        axes.legend(handles.values(), handles.keys(), **keywords)


def scan_styles(scans: list[str]) -> dict[str, dict]:
    """Marker, colour and size per scan, as `Axes.errorbar` keywords.

    Sizes shrink from scan to scan so that a point shared by several scans
    shows every scan's (hollow) marker, nested.
    """
    return {
        scan: {
            "marker": MARKERS[index % len(MARKERS)],
            "color": f"C{index % 10}",
            "markersize": max(4.0, 10.0 - 2.5 * index),
        }
        for index, scan in enumerate(scans)
    }


def readable_log_axis(axis) -> None:
    """Label a logarithmic axis at 1, 2 and 5 per decade in plain numbers, minor ticks unlabelled.

    Ranges narrower than a decade then still get several readable labels.
    """
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def histogram_bins(values: np.ndarray, minimum: int = 10, maximum: int = 50) -> np.ndarray:
    """Bin edges over the range of ``values`` (√size bins, clipped); a point gets a tiny range."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        pad = 1e-6 * max(1.0, abs(low))
        low, high = low - pad, high + pad
    bins = int(np.clip(np.sqrt(values.size), minimum, maximum))
    return np.linspace(low, high, bins + 1)


# --- Output -------------------------------------------------------------------------------


def save_figure(figure: Figure, png_path: str | Path, pdf_path: str | Path) -> None:
    """Write ``figure`` as PNG and PDF, each atomically, then clear it.

    Each file is written through `tables.atomic_path`, so a reader never
    sees a partial figure. The figure is cleared afterwards (it was made
    without pyplot, so nothing else holds it).
    """
    try:
        for path, file_format in ((png_path, "png"), (pdf_path, "pdf")):
            with atomic_path(path) as temporary:
                figure.savefig(temporary, format=file_format, dpi=PNG_DPI)
    finally:
        figure.clear()
