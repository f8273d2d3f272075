"""Figures of the level statistics: densities of the levels and of their spacings.

Each figure reads the spectra of the points (``step ≥ burn_in``) and draws
the ok points only (`selection.histogram_points`, `selection.pair_statistics`).
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..distributions import (
    semicircle_density,
    surmise_pdf,
    two_component_density,
    two_level_density,
)
from .layout import (
    LEVEL_LABELS,
    NO_OK_POINT,
    PANEL_COLUMNS,
    TARGET_SYMBOLS,
    cluster_colour,
    empty_figure,
    histogram_bins,
    mark_empty,
    panel_grid,
    panels_figure,
    point_label,
    point_setting,
    set_figure_title,
    unique_legend,
)
from .registry import CaptionContext, FigureData, figure, sentences
from .selection import (
    MAX_DENSITY_CLUSTERS,
    cluster_levels,
    cluster_table,
    density_clusters,
    histogram_points,
    pair_statistics,
    scan_mask,
    scan_names,
    unfolded_spacings,
)

MANY_CLUSTERS = 2
"""Above this many clusters, spectrum histograms show all levels of a point in one panel."""
HISTOGRAM_HEADROOM = 1.5
"""Level histograms reach up to 1/HISTOGRAM_HEADROOM of the panel height, leaving room for text."""
TWO_LEVEL_DENSITY = (
    "ρ(x) = e^(−y²/2σ²)/(4√π σ) · [2 e^(−y²/2σ²) + √(2π) (y/σ) erf(y/√2σ)], y = x − x0"
)
"""The two-level Coulomb-gas density (β = 1) of centre x0 and width σ, as the captions write it."""


# --- Spectrum histograms --------------------------------------------------------------


def draw_level_histogram(axes: Axes, levels: np.ndarray, statistics: pd.Series) -> None:
    """Histogram of one cluster's levels, its target and, for a pair, the fitted density.

    The overlay is the two-level Coulomb gas (β = 1) with the fitted centre x0
    and width σ, ``ρ(x) = e^{−y²/2σ²}/(4√π σ) · [2 e^{−y²/2σ²} +
    √(2π) (y/σ) erf(y/(√2 σ))]``, ``y = x − x0``.
    """
    values = levels.ravel()
    axes.hist(
        values,
        bins=histogram_bins(values),
        density=True,
        color="0.75",
        edgecolor="0.45",
        label="levels",
    )
    if statistics["levels"] == 2 and np.isfinite(statistics["sigma"]):
        x = np.linspace(values.min(), values.max(), 400)
        axes.plot(
            x,
            two_level_density(x, statistics["center"], statistics["sigma"]),
            color="C3",
            label="Coulomb-gas fit (β = 1)",
        )
        axes.text(
            0.02,
            0.98,
            f"x0 = {statistics['center']:.4f}\nσ = {statistics['sigma']:.2g}",
            transform=axes.transAxes,
            va="top",
            fontsize="small",
        )
    axes.axvline(statistics["target"], color="k", linestyle=":", label="target")
    axes.set_ylim(0, HISTOGRAM_HEADROOM * axes.get_ylim()[1])


def draw_all_levels(
    axes: Axes, levels: Mapping[int, np.ndarray], rows: pd.DataFrame, clusters: pd.DataFrame
) -> None:
    """Every level of one point in one panel: a histogram per cluster, all targets dotted.

    Each cluster gets its own bins (clusters may be much narrower than the
    gaps between them) and its own colour; the heights are normalised so
    that the whole panel integrates to one. Pairs carry their fitted
    two-level Coulomb-gas density, weighted by the pair's share of the levels.
    """
    total = sum(values.size for values in levels.values())
    for cluster in clusters.itertuples(index=False):
        axes.axvline(cluster.target, color="k", linestyle=":", linewidth=1.0, label="targets")
        if cluster.cluster not in levels:
            continue
        values = levels[cluster.cluster].ravel()
        bins = histogram_bins(values, 8, 40)
        axes.hist(
            values,
            bins=bins,
            weights=np.full(values.size, 1 / (total * (bins[1] - bins[0]))),
            color=cluster_colour(cluster.cluster),
            alpha=0.55,
            label=cluster.label,
        )
        if cluster.levels == 2 and cluster.cluster in rows.index:
            fitted = rows.loc[cluster.cluster]
            if np.isfinite(fitted["sigma"]):
                x = np.linspace(values.min(), values.max(), 200)
                density = two_level_density(x, fitted["center"], fitted["sigma"])
                axes.plot(x, values.size / total * density, color="k", label="pair fit (β = 1)")
    axes.set_ylim(0, 1.15 * axes.get_ylim()[1])


def spectrum_histograms_caption(context: CaptionContext) -> str:
    """The caption of `spectrum_histograms_figure` after the shared header."""
    labels = context.labels
    if labels.cluster_scale:
        points = (
            "the smallest, median and largest learning rate at the batch size with the most "
            "learning rates (if it has three or more; otherwise the smallest, median and "
            f"largest {labels.ratio})."
        )
    else:
        points = f"the smallest, median and largest scaling variable {labels.scale}."
    return sentences(
        f"Normalised histograms of the analysed levels ({context.levels}) at three points "
        f"without diverged replicas: {points}",
        "With at most two degenerate clusters in the target, one row per cluster: the "
        "histogram, the target dotted and, for a pair, the fitted two-level Coulomb gas "
        f"(β = 1, red), {TWO_LEVEL_DENSITY}, with the fitted x0 and σ in the panel; its flat "
        "top, not a Gaussian peak, is the mark of level repulsion.",
        "With more clusters, one panel per point with every level: one colour per cluster, "
        "each binned on its own range, the whole panel normalised to one; every target dotted; "
        "black: each pair's fitted two-level Coulomb gas, weighted by the pair's share of the "
        "levels.",
    )


@figure("spectrum_histograms", inputs=("scaling", "spectra"), caption=spectrum_histograms_caption)
def spectrum_histograms_figure(data: FigureData) -> Figure:
    """Densities of the analysed levels at the smallest, median and largest ``scale``.

    Up to two clusters: one column of panels per chosen point
    (`histogram_points`), one row per cluster, each a normalised histogram
    of the cluster's levels with the target marked and, for a pair, the
    fitted two-level Coulomb-gas density (`draw_level_histogram`). More
    clusters: one wide panel per chosen point, stacked, with every level of
    the point and every target (`draw_all_levels`).
    """
    scaling, labels, column = data.scaling, data.labels, data.column
    points = histogram_points(scaling, labels)
    clusters = cluster_table(scaling)
    title = f"distribution of the {LEVEL_LABELS[column]}"
    if points.empty:
        return empty_figure(scaling, title, NO_OK_POINT)
    if len(clusters) > MANY_CLUSTERS:
        figure = Figure(figsize=(9.0, 0.8 + 2.6 * len(points)), layout="constrained")
        set_figure_title(figure, scaling, title)
        grid = figure.subplots(len(points), 1, squeeze=False, sharex=True)[:, 0]
        for axes, (_, point) in zip(grid, points.iterrows(), strict=True):
            rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
            levels = cluster_levels(data.spectra[point["point"]], column)
            draw_all_levels(axes, levels, rows, clusters)
            axes.set_title(
                f"{point_label(point)}; {point_setting(point, labels)}", fontsize="medium"
            )
            axes.set_ylabel("probability density\n(dimensionless)")
        grid[-1].set_xlabel(f"{LEVEL_LABELS[column]} (dimensionless)")
        unique_legend(figure, grid, loc="outside right upper", fontsize="small")
        return figure
    figure = panels_figure(len(points), len(clusters))
    set_figure_title(figure, scaling, title)
    grid = figure.subplots(len(clusters), len(points), squeeze=False)
    for column_index, (_, point) in enumerate(points.iterrows()):
        levels = cluster_levels(data.spectra[point["point"]], column)
        rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
        for row_index, cluster in enumerate(clusters.itertuples(index=False)):
            axes = grid[row_index, column_index]
            name = f", {cluster.label}" if len(clusters) > 1 else ""
            axes.set_title(
                f"{point_label(point)}\n{point_setting(point, labels)}{name}", fontsize="medium"
            )
            axes.set_xlabel(f"{LEVEL_LABELS[column]} (dimensionless)")
            axes.set_ylabel("probability density (dimensionless)")
            if cluster.cluster in levels:
                draw_level_histogram(axes, levels[cluster.cluster], rows.loc[cluster.cluster])
            else:
                mark_empty(axes, "no samples")
    unique_legend(grid[0, 0], grid.flat, loc="upper right", fontsize="small")
    return figure


# --- Spacing distribution -------------------------------------------------------------


def draw_surmise_band(axes: Axes, s: np.ndarray, betas: pd.Series) -> None:
    """Shade the Wigner surmises ``P_β(s)`` for β between the smallest and largest fitted β."""
    if betas.empty:
        return
    curves = np.array([surmise_pdf(s, beta) for beta in np.linspace(betas.min(), betas.max(), 25)])
    label = (
        f"P_β(s), fitted β = {betas.iloc[0]:.2f}"
        if len(betas) == 1
        else f"P_β(s), fitted β ∈ [{betas.min():.2f}, {betas.max():.2f}]"
    )
    axes.fill_between(s, curves.min(axis=0), curves.max(axis=0), color="C1", alpha=0.3, label=label)


def draw_spacing_panel(
    axes: Axes,
    rows: pd.DataFrame,
    levels: Mapping[str, Mapping[int, np.ndarray]],
    title: str,
    count_points: bool = False,
) -> None:
    """Histogram of the unfolded spacings of ``rows`` (scaling rows) against the surmises.

    Each row's neighbour spacings are divided by the mean spacing of its own
    point and cluster. The legend counts the spacings, the clusters they pool
    if several and, with ``count_points``, the points.
    """
    pooled = [
        unfolded_spacings(levels[row["point"]][row["cluster"]])
        for _, row in rows.iterrows()
        if row["cluster"] in levels[row["point"]]
    ]
    axes.set_title(title, fontsize="medium")
    axes.set_xlabel("unfolded spacing s = S/⟨S⟩ (dimensionless)")
    axes.set_ylabel("P(s) (dimensionless)")
    s = np.concatenate(pooled) if pooled else np.empty(0)
    grid = np.linspace(0, max(3.5, s.max(initial=0.0)), 400)
    if s.size:
        bins = int(np.clip(np.sqrt(s.size) / 1.5, 8, 40))
        clusters, points = rows["cluster"].nunique(), rows["point"].nunique()
        label = f"{s.size} spacings"
        if clusters > 1:
            label += f" of {clusters} clusters"
        if count_points:
            label += f" at {points} point{'s' if points != 1 else ''}"
        axes.hist(
            s,
            bins=np.linspace(0, grid[-1], bins + 1),
            density=True,
            color="0.75",
            edgecolor="0.45",
            label=label,
        )
        draw_surmise_band(axes, grid, rows["beta"].dropna())
    axes.plot(grid, surmise_pdf(grid, 1.0), color="C3", label="GOE surmise (β = 1)")
    axes.set_xlim(0, grid[-1])
    axes.set_ylim(bottom=0)
    axes.legend(fontsize="small", title=None if s.size else NO_OK_POINT, title_fontsize="small")


def spacing_distribution_caption(context: CaptionContext) -> str:
    """The caption of `spacing_distribution_figure` after the shared header."""
    return sentences(
        f"Distribution of the unfolded level spacing s = S/⟨S⟩ of the {context.levels}.",
        "With more than one degenerate pair in the target, one panel per pair, titled by its "
        f"target {context.target}: the pair's spacings at every point of the experiment without "
        "diverged replicas, pooled over the scans, each divided by the mean spacing of its own "
        "point (the legend counts spacings and points).",
        "With at most one pair, one panel per scan of the sweep: the neighbour spacings of "
        "every degenerate cluster of two or more levels, at every point of the scan without "
        "diverged replicas, pooled, each divided by the mean spacing of its own point and "
        "cluster (the legend counts spacings and clusters).",
        "Red: the GOE Wigner surmise P(s) = (π/2) s exp(−π s²/4) (β = 1); orange band: the "
        "surmises P_β(s) over the range of β fitted point by point and cluster by cluster, for "
        "the panel's pair or scan.",
        "The linear rise at small s (level repulsion) and agreement with β = 1 are what Dyson "
        "Brownian motion predicts; the surmise is exact for a pair and an approximation for the "
        "neighbour spacings of larger clusters.",
    )


@figure("spacing_distribution", inputs=("scaling", "spectra"), caption=spacing_distribution_caption)
def spacing_distribution_figure(data: FigureData) -> Figure:
    """Distribution of the unfolded spacing ``s = S/⟨S⟩``: per scan, or per pair if several.

    With more than one pair cluster in the target, one panel per pair,
    pooling that pair's spacings over every ok point of the experiment.
    Otherwise one panel per scan of the sweep, pooling over the scan's ok
    points and their clusters of ≥ 2 levels. Every spacing is divided by the
    mean spacing of its own point and cluster. Overlays the GOE Wigner
    surmise ``P(s) = (π/2) s exp(−π s²/4)`` and shades the surmises ``P_β``
    over the range of the per-point fitted β of the panel's rows.
    """
    scaling, column = data.scaling, data.column
    usable = pair_statistics(scaling)
    clusters = cluster_table(scaling)
    pairs = clusters[clusters["levels"] == 2]
    several_pairs = len(pairs) > 1
    if several_pairs:
        symbol = TARGET_SYMBOLS[column]
        panels = [
            (f"pair at {symbol} = {pair.target:.4g}", usable[usable["cluster"] == pair.cluster])
            for pair in pairs.itertuples()
        ]
    else:
        panels = []
        for scan in scan_names(scaling):
            rows = usable[scan_mask(usable, scan)]
            points = rows["point"].nunique()
            panels.append((f"{scan} ({points} point{'s' if points != 1 else ''})", rows))
    figure = panels_figure(min(len(panels), PANEL_COLUMNS), -(-len(panels) // PANEL_COLUMNS))
    set_figure_title(
        figure, scaling, f"level spacings against the Wigner surmise ({LEVEL_LABELS[column]})"
    )
    levels = {
        point: cluster_levels(data.spectra[point], column) for point in usable["point"].unique()
    }
    for axes, (title, rows) in zip(panel_grid(figure, len(panels)), panels, strict=True):
        draw_spacing_panel(axes, rows, levels, title, count_points=several_pairs)
    return figure


# --- Pair densities ---------------------------------------------------------------------


DENSITY_STYLES = {
    "equal_width": {"color": "C3", "linestyle": "-", "name": "equal width"},
    "two_component": {"color": "C0", "linestyle": "--", "name": "two-component"},
    "semicircle": {"color": "C2", "linestyle": "-.", "name": "semicircle"},
}


def density_curve(density: pd.Series, x: np.ndarray) -> np.ndarray | None:
    """One-level density of a fitted ``density_fits`` row on ``x``, or ``None`` if not drawable."""
    kind = density["density"]
    if kind == "equal_width" and density["levels"] == 2:
        return two_level_density(x, density["center"], density["width"])
    if kind == "two_component":
        return two_component_density(
            x, density["center"], density["width"], density["second_width"]
        )
    if kind == "semicircle":
        return semicircle_density(x, density["center"], density["width"])
    return None


def draw_pair_densities(
    axes: Axes, levels: np.ndarray, densities: pd.DataFrame, statistics: pd.Series | None
) -> None:
    """Histogram of one cluster's levels with its fitted one-level densities and target.

    Each curve's legend entry gives its ΔAIC (0 for the preferred density); a
    density without a one-level curve (the equal-width gas of ≥ 3 levels) is
    listed by its ΔAIC alone; for a pair, the last entry is the
    likelihood-ratio p-value of the two-component density against the
    equal-width one (``two_component_pvalue``).
    """
    values = levels.ravel()
    bins = histogram_bins(values)
    axes.hist(values, bins=bins, density=True, color="0.8", edgecolor="0.55", label="levels")
    low, high = bins[0], bins[-1]
    if statistics is not None:
        low, high = min(low, statistics["target"]), max(high, statistics["target"])
    pad = 0.1 * (high - low)
    x = np.linspace(low - pad, high + pad, 400)
    for _, density in densities.iterrows():
        style = DENSITY_STYLES.get(density["density"])
        if style is None:
            continue
        name = style["name"]
        if density["density"] == "two_component":
            name = f"two-component, σ1/σ2 = {density['width'] / density['second_width']:.2f}"
        label = f"{name}, ΔAIC = {density['delta_aic']:.1f}"
        curve = density_curve(density, x)
        if curve is None or not np.all(np.isfinite(curve)):
            axes.plot([], [], " ", label=f"{label} (no curve)")
            continue
        axes.plot(x, curve, color=style["color"], linestyle=style["linestyle"], label=label)
    if statistics is not None:
        axes.axvline(statistics["target"], color="k", linestyle=":", label="target")
        pvalue = statistics["two_component_pvalue"]
        if np.isfinite(pvalue):
            axes.plot([], [], " ", label=f"σ1 = σ2 likelihood-ratio p = {pvalue:.2g}")
    axes.set_xlim(x[0], x[-1])
    axes.set_ylim(0, 1.8 * axes.get_ylim()[1])
    axes.legend(fontsize="x-small", loc="upper left")


def pair_densities_caption(context: CaptionContext) -> str:
    """The caption of `pair_densities_figure` after the shared header."""
    return sentences(
        "One-level densities of the degenerate clusters against the fitted density models, at "
        "the same three points as the level histograms (columns).",
        f"One row per pair (at most {MAX_DENSITY_CLUSTERS} rows, the lowest pairs first), then, "
        "if room is left, clusters of three or more levels.",
        "Grey: the normalised histogram of the cluster's levels; dotted: the target.",
        f"Red: the equal-width two-level Coulomb gas (β = 1), {TWO_LEVEL_DENSITY}; blue dashed: "
        "the two-component density, the same pair with one level in a well of width σ1 and the "
        "other of width σ2 (σ1/σ2 in the legend); for larger clusters, green: the semicircle of "
        "radius R.",
        "Each legend entry gives the model's ΔAIC, its AIC above the best model of that cluster "
        "and point (0 for the preferred one), and, for a pair, the likelihood-ratio p-value of "
        "the hypothesis σ1 = σ2.",
        "Levels that relax at different speeds (as a hidden layer Z ≠ I between student and "
        "teacher makes them) favour the two-component form; otherwise the equal-width form "
        "should be enough.",
    )


@figure(
    "pair_densities",
    inputs=("scaling", "density_fits", "spectra"),
    caption=pair_densities_caption,
)
def pair_densities_figure(data: FigureData) -> Figure:
    """One-level densities of the degenerate clusters against the fitted density models.

    One row per cluster (every pair, up to `selection.MAX_DENSITY_CLUSTERS`,
    then clusters of three or more levels), one column per chosen point
    (`histogram_points`): the histogram of the cluster's levels, the
    equal-width two-level Coulomb gas (`two_level_density` with the
    ``equal_width`` fit's centre and σ) and the two-component density
    (`two_component_density` with σ1, σ2); for larger clusters the
    semicircle (`semicircle_density`, radius R). Legends carry ΔAIC, the
    text box the likelihood-ratio p-value of σ1 ≠ σ2.
    """
    scaling, labels, column = data.scaling, data.labels, data.column
    points = histogram_points(scaling, labels)
    clusters = density_clusters(scaling)
    title = f"cluster densities of the {LEVEL_LABELS[column]}: equal width or two components"
    if points.empty:
        return empty_figure(scaling, title, NO_OK_POINT)
    if clusters.empty:
        return empty_figure(scaling, title, "no cluster of two or more levels in the target")
    figure = panels_figure(len(points), len(clusters))
    set_figure_title(figure, scaling, title)
    grid = figure.subplots(len(clusters), len(points), squeeze=False)
    density_fits = data.density_fits
    for column_index, (_, point) in enumerate(points.iterrows()):
        levels = cluster_levels(data.spectra[point["point"]], column)
        rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
        fitted = density_fits[density_fits["point"] == point["point"]]
        for row_index, cluster in enumerate(clusters.itertuples(index=False)):
            axes = grid[row_index, column_index]
            axes.set_title(
                f"{point_label(point)}; {point_setting(point, labels)}\n{cluster.label}",
                fontsize="medium",
            )
            axes.set_xlabel(f"{LEVEL_LABELS[column]} (dimensionless)")
            axes.set_ylabel("probability density (dimensionless)")
            if cluster.cluster not in levels:
                mark_empty(axes, "no samples")
                continue
            draw_pair_densities(
                axes,
                levels[cluster.cluster],
                fitted[fitted["cluster"] == cluster.cluster],
                rows.loc[cluster.cluster] if cluster.cluster in rows.index else None,
            )
    return figure
