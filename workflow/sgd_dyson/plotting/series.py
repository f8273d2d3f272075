"""How the scaling figures draw the rows of a scaling table: markers, colours, lines, legends.

Against the scale, points are styled by scan (`draw_points`); against the
ratio, by learning rate and batch size, or by cluster (`ratio_styles`). The
continuum prediction is a dashed line (`draw_continuum`), the exact theory a
small black cross per point (`draw_theory`).
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from ..labels import Labels
from .layout import MARKERS, cluster_colour, readable_log_axis, scan_styles
from .registry import CaptionContext
from .selection import cluster_table, scan_mask, scan_names, several_clusters

NO_CONTINUUM = "no continuum prediction for this model"
THEORY_STYLE = {"linestyle": "none", "marker": "x", "color": "k", "markersize": 5, "zorder": 3}
"""Small black crosses: the exact stationary theory of a point."""


# --- Against the scale: a marker per scan ------------------------------------------------


def draw_points(
    axes: Axes,
    rows: pd.DataFrame,
    x: str,
    y: np.ndarray,
    y_error: np.ndarray,
    x_error: np.ndarray | None = None,
) -> None:
    """Error-bar points of ``rows``, drawn once per scan holding them, hollow marker per scan.

    With one cluster, marker and colour both follow the scan (container label:
    the scan). With several, the marker follows the scan and the colour the
    cluster (container label ``"<scan>, cluster <k>"``); `point_legend_handles`
    gives the matching legend.
    """
    y, y_error = np.asarray(y), np.asarray(y_error)
    by_cluster = several_clusters(rows)
    for scan, style in scan_styles(scan_names(rows)).items():
        in_scan = scan_mask(rows, scan)
        groups = sorted(rows.loc[in_scan, "cluster"].unique()) if by_cluster else [None]
        for cluster in groups:
            chosen = (
                in_scan if cluster is None else in_scan & (rows["cluster"] == cluster).to_numpy()
            )
            keywords = dict(style)
            if cluster is not None:
                keywords["color"] = cluster_colour(cluster)
            axes.errorbar(
                rows.loc[chosen, x],
                y[chosen],
                yerr=y_error[chosen],
                xerr=None if x_error is None else np.asarray(x_error)[chosen],
                linestyle="none",
                markerfacecolor="none",
                capsize=2,
                label=scan if cluster is None else f"{scan}, cluster {cluster}",
                **keywords,
            )


def cluster_handles(clusters: pd.DataFrame) -> list[Line2D]:
    """A legend entry per cluster: a filled circle in its colour, named by `cluster_name`."""
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            color=cluster_colour(cluster.cluster),
            label=cluster.label,
        )
        for cluster in clusters.itertuples(index=False)
    ]


def point_legend_handles(rows: pd.DataFrame) -> list[Line2D]:
    """Legend entries of `draw_points`: a grey marker per scan, and a colour per cluster."""
    scans = scan_styles(scan_names(rows))
    if not several_clusters(rows):
        return [
            Line2D([], [], linestyle="none", markerfacecolor="none", label=scan, **style)
            for scan, style in scans.items()
        ]
    markers = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=style["marker"],
            color="0.3",
            markerfacecolor="none",
            label=scan,
        )
        for scan, style in scans.items()
    ]
    return [*markers, *cluster_handles(cluster_table(rows))]


# --- Against the ratio: colour α (or cluster), marker |B| ------------------------------------


def ratio_styles(usable: pd.DataFrame, labels: Labels) -> tuple[str, dict, str, dict]:
    """Colour and marker of the points of a figure against the ratio.

    Where the model sweeps the batch size (`Labels.parameters`), the colour
    encodes α (the cluster when there are several clusters) and the marker
    |B|; otherwise (the temperature of the Dyson model) the colour is the
    cluster and every marker a circle. Returns ``(colour_column, colours,
    marker_column, markers)``, the dictionaries keyed by the column's values;
    `ratio_legend_handles` gives the legend.
    """
    by_batch = "batch_size" in labels.parameters
    colour_column = "learning_rate" if by_batch and not several_clusters(usable) else "cluster"
    marker_column = "batch_size" if by_batch else "cluster"
    colours = {
        value: cluster_colour(value) if colour_column == "cluster" else f"C{index % 10}"
        for index, value in enumerate(sorted(usable[colour_column].unique()))
    }
    markers = {
        value: MARKERS[index % len(MARKERS)] if by_batch else "o"
        for index, value in enumerate(sorted(usable[marker_column].unique()))
    }
    return colour_column, colours, marker_column, markers


def ratio_legend_handles(
    usable: pd.DataFrame, scaling: pd.DataFrame, styles: tuple[str, dict, str, dict]
) -> tuple[list[Line2D], list[Line2D]]:
    """Legend entries of `ratio_styles`: one per colour (α or cluster), one per |B| marker."""
    colour_column, colours, marker_column, markers = styles
    if colour_column == "cluster":
        clusters = cluster_table(usable) if len(usable) else cluster_table(scaling).iloc[0:0]
        colour_handles = cluster_handles(clusters)
    else:
        colour_handles = [
            Line2D([], [], color=colours[rate], marker="o", linestyle="none", label=f"α = {rate:g}")
            for rate in colours
        ]
    marker_handles = batch_handles(markers) if marker_column == "batch_size" else []
    return colour_handles, marker_handles


def batch_handles(markers: dict) -> list[Line2D]:
    """A hollow grey legend entry per batch size, in its marker (``|B| → marker``)."""
    return [
        Line2D(
            [],
            [],
            color="0.3",
            marker=marker,
            markerfacecolor="none",
            linestyle="none",
            label=f"|B| = {int(batch)}",
        )
        for batch, marker in markers.items()
    ]


def ratio_axis(axes: Axes, usable: pd.DataFrame, scaling: pd.DataFrame) -> np.ndarray:
    """Logarithmic ratio axis over the points (padded by 1.3×); returns 50 ratios spanning it."""
    ratios = (usable if len(usable) else scaling)["ratio"]
    x = np.geomspace(ratios.min() / 1.3, ratios.max() * 1.3, 50)
    axes.set_xscale("log")
    readable_log_axis(axes.xaxis)
    return x


# --- Continuum and theory -------------------------------------------------------------------


def continuum_slopes(scaling: pd.DataFrame) -> dict[int, float]:
    """The finite continuum ⟨S⟩/scale per pair cluster (``continuum_slope``), by cluster.

    The pairs' slopes (else those of the larger clusters) of the table: √π
    for singular values, ``2√π sqrt(x*)`` for eigenvalues of X, or the
    theory's continuum limit; a model without a continuum prediction has NaN,
    so its dictionary is empty.
    """
    pairs = scaling[scaling["levels"] == 2]
    if pairs.empty:
        pairs = scaling[scaling["levels"] >= 2]
    # A theory's per-point continuum slopes carry its Monte-Carlo noise: their mean.
    slopes = pairs.groupby("cluster")["continuum_slope"].mean()
    return {int(cluster): float(slope) for cluster, slope in slopes.items() if np.isfinite(slope)}


def shared_value(values: Mapping[int, float]) -> float | None:
    """The common value of ``values`` if they all agree (to 1e-9), else ``None``."""
    unique = list(values.values())
    if unique and np.allclose(unique, unique[0], rtol=1e-9, atol=0.0):
        return unique[0]
    return None


def draw_continuum(
    axes: Axes, x: np.ndarray, slopes: Mapping[int, float], power: int, template: str
) -> None:
    """Dashed lines ``slope**power · x``: one if every cluster shares the slope, else one each.

    ``template`` formats the legend entry from ``value`` (= ``slope**power``).
    Without any slope, a legend entry says that there is no continuum prediction.
    """
    if not slopes:
        axes.plot([], [], " ", label=NO_CONTINUUM)
        return
    common = shared_value(slopes)
    if common is not None:
        value = common**power
        axes.plot(x, value * x, "k--", label=template.format(value=value))
        return
    for cluster, slope in slopes.items():
        value = slope**power
        axes.plot(
            x,
            value * x,
            linestyle="--",
            color=cluster_colour(cluster),
            label=f"{template.format(value=value)}, cluster {cluster}",
        )


def draw_continuum_levels(axes: Axes, slopes: Mapping[int, float], power: int) -> None:
    """Dashed horizontal lines at ``slope**power``: black if shared, else the cluster's colour."""
    common = shared_value(slopes) is not None
    for cluster, slope in slopes.items():
        colour = "k" if common else cluster_colour(cluster)
        axes.axhline(slope**power, color=colour, linestyle="--")


def draw_theory(axes: Axes, x, y, label: str) -> None:
    """The exact theory of each point as a small black cross (`THEORY_STYLE`), if there is any.

    A ``label`` starting with ``_`` keeps the crosses out of the legend.
    """
    if len(x):
        axes.plot(
            np.asarray(x, dtype=float), np.asarray(y, dtype=float), label=label, **THEORY_STYLE
        )


def ratio_colours(context: CaptionContext) -> str:
    """The caption's key to `series.ratio_styles`: colour α or the cluster, marker |B|."""
    if "batch_size" not in context.labels.parameters:
        return "Colour: the cluster."
    return (
        r"Colour: α, or the cluster when there are several; hollow marker: \|B\|, so points of "
        rf"equal {context.labels.ratio} from different (α, \|B\|) share an abscissa."
    )
