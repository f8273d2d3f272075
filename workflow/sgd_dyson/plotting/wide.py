"""The wide limit: levels at step 0 against Marchenko–Pastur, clusters at stationarity against
the semicircle, and a series of widths (`stages.wide_limit`, `sgd_dyson.wide_limit`).

Drawn only for an experiment with ``wide_limit`` set; the series figure only in the first
experiment of its series, in the report section of the series.
"""

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..distributions import (
    GOE_SPACING_RATIO,
    POISSON_SPACING_RATIO,
    marchenko_pastur_density,
    semicircle_density,
)
from ..wide_limit import nonzero_level_law
from .layout import (
    MARKERS,
    histogram_bins,
    mark_empty,
    panel_grid,
    panels_figure,
    point_label,
    readable_log_axis,
    set_figure_title,
    unique_legend,
)
from .registry import CaptionContext, FigureData, figure, sentences

MAX_PANELS = 6
"""Panels of `initial_spectrum_figure` and `semicircle_figure`: the first (point, cluster)s."""
CURVE_POINTS = 400


def _panels(wide: pd.DataFrame, title: str, rows: pd.DataFrame) -> tuple[Figure, list[Axes]]:
    figure_ = panels_figure(min(len(rows), 3), -(-len(rows) // 3))
    set_figure_title(figure_, wide, title, note=False)
    return figure_, panel_grid(figure_, len(rows))


def draw_histogram_panel(
    axes: Axes, values: np.ndarray, label: str, curves: list[tuple], title: str, xlabel: str
) -> None:
    """A density histogram of ``values`` with ``curves`` ``(x, y, style, label)`` over it."""
    axes.hist(values, bins=histogram_bins(values), density=True, color="0.7", label=label)
    for x, y, style, curve_label in curves:
        axes.plot(x, y, style, label=curve_label)
    axes.set_title(title, fontsize="small")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("density")


def initial_spectrum_caption(context: CaptionContext) -> str:
    return sentences(
        "Levels of X = W Wᵀ of every replica's trained matrix W at step 0, before any "
        "training (histogram, all replicas pooled), against the Marchenko–Pastur law of the "
        "initialisation: entries N(0, σ_W²/cols), ratio rows/cols, scale σ_W² (the "
        "non-zero levels when rows > cols). One panel per layer and point (at most "
        f"{MAX_PANELS}); the title gives the Kolmogorov–Smirnov distance, which falls as the "
        "width grows (finite-size edges).",
    )


@figure(
    "initial_spectrum",
    inputs=("scaling", "initial_spectra", "wide_limit"),
    caption=initial_spectrum_caption,
)
def initial_spectrum_figure(data: FigureData) -> Figure:
    """Per (point, layer): the pooled step-0 levels and the Marchenko–Pastur density."""
    layers = data.wide_limit.drop_duplicates(["point", "layer"]).head(MAX_PANELS)
    figure_, axes_list = _panels(data.scaling, "levels at initialisation", layers)
    for axes, row in zip(axes_list, layers.to_dict("records"), strict=True):
        start = data.initial_spectra[row["point"]]
        levels = start.loc[start["layer"] == row["layer"], "gram_eigenvalue"].to_numpy()
        ratio, scale = nonzero_level_law(row["rows"], row["cols"], row["init_width"] ** 2)
        x = np.linspace(0.0, levels.max() * 1.05, CURVE_POINTS)
        draw_histogram_panel(
            axes,
            levels,
            "step 0",
            [(x, marchenko_pastur_density(x, ratio, scale), "k-", "Marchenko–Pastur")],
            f"W{row['layer']} {row['rows']}×{row['cols']}, {point_label(row)}\n"
            f"KS = {row['initial_ks']:.3f}",
            "level x of X = W Wᵀ",
        )
    axes_list[0].legend(fontsize="small")
    return figure_


def semicircle_caption(context: CaptionContext) -> str:
    return sentences(
        "The stationary levels of each degenerate cluster of n ≥ 2 levels of X = W Wᵀ, "
        "centred on the Coulomb-gas fit's x0 and divided by the semicircle radius "
        "R = 2σ sqrt(1 + (n − 1)/2) that the fitted width σ predicts (histogram, replicas and "
        "snapshots pooled), against the semicircle (2/π) sqrt(1 − u²) (solid) and, for "
        "contrast, a Gaussian of the same variance ¼ (dotted). The title gives the "
        "Kolmogorov–Smirnov distance and ⟨r⟩ against its same-size GOE value. Only points "
        "whose fit status is ok.",
    )


@figure(
    "semicircle",
    inputs=("scaling", "spectra", "wide_limit"),
    caption=semicircle_caption,
)
def semicircle_figure(data: FigureData) -> Figure:
    """Per ok (point, cluster): the levels in units of R against the unit semicircle."""
    rows = data.wide_limit[data.wide_limit["status"] == "ok"].head(MAX_PANELS)
    if rows.empty:
        figure_ = panels_figure(1, 1)
        set_figure_title(figure_, data.scaling, "stationary clusters")
        mark_empty(figure_.add_subplot(), "no point whose fit is ok")
        return figure_
    figure_, axes_list = _panels(data.scaling, "stationary clusters against the semicircle", rows)
    u = np.linspace(-1.2, 1.2, CURVE_POINTS)
    for axes, row in zip(axes_list, rows.to_dict("records"), strict=True):
        spectrum = data.spectra[row["point"]]
        levels = spectrum.loc[spectrum["cluster"] == row["cluster"], data.column].to_numpy()
        draw_histogram_panel(
            axes,
            (levels - row["center"]) / row["radius"],
            "levels",
            [
                (u, semicircle_density(u, 0.0, 1.0), "k-", "semicircle"),
                (u, np.exp(-2 * u**2) * np.sqrt(2 / np.pi), "k:", "Gaussian"),
            ],
            f"n = {row['levels']}, {point_label(row)}\nKS = {row['semicircle_ks']:.3f}, "
            f"⟨r⟩ = {row['spacing_ratio']:.3f} (GOE {row['spacing_ratio_goe']:.3f})",
            "u = (x − x0)/R",
        )
    axes_list[0].legend(fontsize="small")
    return figure_


def wide_limit_caption(context: CaptionContext) -> str:
    return sentences(
        "The experiments of one wide-limit series (one marker each) against the size n of "
        "their degenerate clusters. Left: the spacing ratio ⟨r⟩ (jackknife errors) with the "
        "⟨r⟩ of GOE matrices of the same size (crosses), the large-n GOE value "
        f"{GOE_SPACING_RATIO} (dashed) and Poisson's {POISSON_SPACING_RATIO} (dotted). Right: "
        "the Kolmogorov–Smirnov distances of the step-0 levels to Marchenko–Pastur (filled) "
        "and of the stationary clusters to the semicircle (hollow), on logarithmic axes.",
    )


@figure("wide_limit", inputs=("scaling", "wide_series"), caption=wide_limit_caption)
def wide_limit_figure(data: FigureData) -> Figure:
    """⟨r⟩ and the two distances of every ok cluster of the series against its size n."""
    series = data.wide_series[data.wide_series["status"] == "ok"]
    figure_ = panels_figure(2, 1)
    set_figure_title(figure_, data.scaling, "the wide limit", note=False)
    ratio_axes, distance_axes = panel_grid(figure_, 2)
    for index, (experiment, rows) in enumerate(series.groupby("experiment", sort=False)):
        marker, colour = MARKERS[index % len(MARKERS)], f"C{index % 10}"
        ratio_axes.errorbar(
            rows["levels"],
            rows["spacing_ratio"],
            rows["spacing_ratio_err"],
            fmt=marker,
            color=colour,
            label=experiment,
        )
        ratio_axes.plot(rows["levels"], rows["spacing_ratio_goe"], "x", color="k")
        distance_axes.plot(
            rows["levels"], rows["initial_ks"], marker, color=colour, label="MP at step 0"
        )
        distance_axes.plot(
            rows["levels"],
            rows["semicircle_ks"],
            marker,
            color=colour,
            fillstyle="none",
            label="semicircle at stationarity",
        )
    ratio_axes.axhline(GOE_SPACING_RATIO, color="k", linestyle="--", linewidth=0.8)
    ratio_axes.axhline(POISSON_SPACING_RATIO, color="k", linestyle=":", linewidth=0.8)
    ratio_axes.set_xlabel("cluster size n")
    ratio_axes.set_ylabel("spacing ratio ⟨r⟩")
    distance_axes.set_xscale("log")
    distance_axes.set_yscale("log")
    readable_log_axis(distance_axes.xaxis)
    readable_log_axis(distance_axes.yaxis)
    distance_axes.set_xlabel("cluster size n")
    distance_axes.set_ylabel("Kolmogorov–Smirnov distance")
    if series.empty:
        mark_empty(ratio_axes, "no cluster whose fit is ok")
    else:
        ratio_axes.legend(fontsize="small")
        unique_legend(distance_axes, [distance_axes], fontsize="small")
    return figure_
