"""The figures of one experiment, drawn from the pipeline's tables.

Every ``*_figure`` function takes tables in the schemas of `tables` (and, for
the level statistics, the spectra of the points) and returns a
`matplotlib.figure.Figure` built with the object API, without pyplot, so no
global state is touched; `save_figure` writes it as PNG and PDF. Only points
with status ``ok`` (no diverged replica) enter the statistics figures; the
others are named as excluded in small print under the figure.

``spectra`` maps a point id to the rows of its spectrum table that are
statistics (``step ≥ burn_in``); ``column`` is the spectrum column of the
analysed levels (``singular_value`` or ``gram_eigenvalue``).

The figures serve every model: the point columns a model does not sweep are
null (the Dyson model has only ``temperature``, the Gaussian RBM no
``noise``), which `model_of` reads back; a target may have any number of
degenerate clusters of any size (`cluster_name`), and a model without a
continuum prediction has ``continuum_slope`` NaN (`continuum_slopes`). The
theory columns (``mean_spacing_theory``, ``residual``, ...) are NaN for a model
without a theory (the Gaussian RBM) and at points where SGD is unstable
(`theory_rows`).
"""

import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .distributions import (
    semicircle_density,
    surmise_pdf,
    two_component_density,
    two_level_density,
)
from .fits import neighbour_spacings
from .spectra import gram_eigenvalues, singular_values
from .tables import atomic_path

LEVEL_LABELS = {
    "singular_value": "singular value λ of W",
    "gram_eigenvalue": "eigenvalue x of X = WᵀW",
}
TARGET_SYMBOLS = {"singular_value": "λ*", "gram_eigenvalue": "x*"}
"""The symbol of a target level in the analysed column."""
LEVEL_FUNCTIONS = {"singular_value": singular_values, "gram_eigenvalue": gram_eigenvalues}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]
PNG_DPI = 200
PANEL_SIZE = (4.2, 3.6)
PANEL_COLUMNS = 3
MIN_FIGURE_WIDTH = 6.4
HISTOGRAM_HEADROOM = 1.5
"""Level histograms reach up to 1/HISTOGRAM_HEADROOM of the panel height, leaving room for text."""
TITLE_CHARACTERS_PER_INCH = 10
NOTE_CHARACTERS_PER_INCH = 14
MANY_CLUSTERS = 2
"""Above this many clusters, spectrum histograms show all levels of a point in one panel."""
MAX_DENSITY_CLUSTERS = 4
"""At most this many clusters (pairs first) get a row of pair-density panels."""
MAX_FLOW_REPLICAS = 6
"""At most this many replicas of the flow run are drawn."""
POOLED_CLUSTER = -1
"""``cluster`` of a scaling-fit row pooling every pair cluster."""
POINT_SYMBOLS = {"learning_rate": "α", "batch_size": "|B|", "noise": "ε", "temperature": "T"}
CLUSTER_NAMES = {1: "single level", 2: "pair", 3: "triplet"}


# --- What the tables say about the model ---------------------------------------------


def model_of(table: pd.DataFrame) -> str:
    """The model behind a scaling-like table, from which point columns are null.

    ``dyson`` (no learning rate), ``gaussian_rbm`` (no noise) or ``teacher_student``;
    ``sgd`` for SGD whose scaling table has amplitude A = 1 (external weights
    without a noise scale, where the scale is sqrt(α/|B|)).
    """
    if table["learning_rate"].isna().all():
        return "dyson"
    if "amplitude" in table and len(table) and (table["amplitude"] == 1).all():
        return "sgd"
    if table["noise"].isna().all():
        return "gaussian_rbm"
    return "teacher_student"


def ratio_label(model: str) -> str:
    """The effective temperature: ``α/|B|``, or ``T`` for the Dyson model."""
    return "T" if model == "dyson" else "α/|B|"


def ratio_axis_label(model: str) -> str:
    """Axis label of the ratio: ``α/|B|`` or ``temperature T``, dimensionless."""
    return f"{'temperature T' if model == 'dyson' else 'α/|B|'} (dimensionless)"


def scale_label(model: str) -> str:
    """The scaling variable ``sqrt(ratio × amplitude)`` written out for the model."""
    return {"dyson": "√T", "gaussian_rbm": "√(α x*/|B|)", "sgd": "√(α/|B|)"}.get(
        model, "√(α ε²/|B|)"
    )


def amplitude_label(model: str) -> str:
    """The noise amplitude A of the model: ε², the cluster's target x*, or 1."""
    return {"dyson": "A = 1", "gaussian_rbm": "A = x*", "sgd": "A = 1"}.get(model, "A = ε²")


def step_label(model: str) -> str:
    """The x axis of a flow: SGD (or RBM) updates, or time steps of the Dyson model."""
    return "time step" if model == "dyson" else "training step"


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


def point_setting(point: pd.Series, model: str) -> str:
    """The point's place on the scaling axis: its ``scale`` (or α/|B| for the RBM).

    The RBM's scale depends on the cluster (A = x*), so its points are placed by ratio.
    """
    if model == "gaussian_rbm":
        return f"α/|B| = {point['ratio']:.3g}"
    return f"scale {scale_label(model)} = {point['scale']:.3g}"


def cluster_table(scaling: pd.DataFrame) -> pd.DataFrame:
    """``cluster``, ``levels`` and ``target`` of each cluster of the target, by cluster."""
    columns = ["cluster", "levels", "target"]
    return scaling.drop_duplicates("cluster")[columns].sort_values("cluster", ignore_index=True)


def cluster_name(levels: int, target: float) -> str:
    """``pair at 2`` / ``triplet at 2`` / ``single level at 3.5`` / ``4 levels at 1``."""
    name = CLUSTER_NAMES.get(int(levels), f"{int(levels)} levels")
    return f"{name} at {target:.4g}"


def cluster_colour(cluster: int) -> str:
    """The colour of a cluster, the same in every figure of the experiment."""
    return f"C{int(cluster) % 10}"


# --- Titles, notes, layout --------------------------------------------------------------


def excluded_points_note(scaling: pd.DataFrame) -> str:
    """One line naming the points left out because replicas diverged, or ``""`` if none."""
    excluded = scaling[scaling["status"] != "ok"].drop_duplicates("point")
    if excluded.empty:
        return ""
    how_many = {"all_diverged": "all", "diverged": "some"}
    names = "; ".join(
        f"{point_label(row)} ({how_many.get(row['status'], row['status'])} replicas diverged)"
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


def scan_names(table: pd.DataFrame) -> list[str]:
    """Sorted names of the scans in the ``scans`` column of a sweep or scaling table."""
    return sorted({name for names in table["scans"] for name in names})


def scan_mask(table: pd.DataFrame, scan: str) -> np.ndarray:
    """Boolean mask of the rows of a sweep or scaling table whose point belongs to ``scan``."""
    return np.array([scan in list(names) for names in table["scans"]], dtype=bool)


def pair_statistics(scaling: pd.DataFrame) -> pd.DataFrame:
    """Scaling rows that carry spacing statistics: status ``ok`` and clusters of ≥ 2 levels."""
    return scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]


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


def cluster_levels(spectrum: pd.DataFrame, column: str) -> dict[int, np.ndarray]:
    """Levels of each cluster as a ``(samples, n)`` array, one row per (replica, step)."""
    levels = {}
    for cluster, members in spectrum.groupby("cluster"):
        ordered = members.sort_values(["replica", "step", "level"])
        levels[int(cluster)] = ordered[column].to_numpy().reshape(-1, ordered["level"].nunique())
    return levels


def unfolded_spacings(levels: np.ndarray) -> np.ndarray:
    """Neighbour spacings of ``(samples, n)`` levels divided by their own mean: ``s = S/⟨S⟩``."""
    spacing = neighbour_spacings(levels).ravel()
    return spacing / spacing.mean()


def histogram_points(scaling: pd.DataFrame) -> pd.DataFrame:
    """Up to three ok points spanning the sweep, one row each (their first cluster's row).

    The smallest, median and largest ``scale``; for the Gaussian RBM, whose
    scale depends on the cluster, the smallest, median and largest learning
    rate at the batch size with the most learning rates, if it has three or
    more, else the smallest, median and largest α/|B|.
    """
    points = scaling[scaling["status"] == "ok"].drop_duplicates("point")
    if points.empty:
        return points
    order = ["scale", "point"]
    if model_of(scaling) == "gaussian_rbm":
        order = ["ratio", "point"]
        rates = points.groupby("batch_size")["learning_rate"].nunique()
        if rates.max() >= 3:
            points = points[points["batch_size"] == rates.idxmax()]
            order = ["learning_rate", "point"]
    points = points.sort_values(order, ignore_index=True)
    chosen = sorted({0, (len(points) - 1) // 2, len(points) - 1})
    return points.iloc[chosen]


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


def unique_legend(axes: Axes, axes_list, **keywords) -> None:
    """One legend on ``axes`` with the first handle of every label found on ``axes_list``."""
    handles = {}
    for other in axes_list:
        for handle, label in zip(*other.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        axes.legend(handles.values(), handles.keys(), **keywords)


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
        colour = cluster_colour(cluster.cluster)
        axes.axvline(cluster.target, color="k", linestyle=":", linewidth=1.0, label="targets")
        if cluster.cluster not in levels:
            continue
        values = levels[cluster.cluster].ravel()
        bins = histogram_bins(values, 8, 40)
        axes.hist(
            values,
            bins=bins,
            weights=np.full(values.size, 1 / (total * (bins[1] - bins[0]))),
            color=colour,
            alpha=0.55,
            label=cluster_name(cluster.levels, cluster.target),
        )
        if cluster.levels == 2 and cluster.cluster in rows.index:
            fitted = rows.loc[cluster.cluster]
            if np.isfinite(fitted["sigma"]):
                x = np.linspace(values.min(), values.max(), 200)
                density = two_level_density(x, fitted["center"], fitted["sigma"])
                axes.plot(x, values.size / total * density, color="k", label="pair fit (β = 1)")
    axes.set_ylim(0, 1.15 * axes.get_ylim()[1])


def spectrum_histograms_figure(
    scaling: pd.DataFrame, spectra: Mapping[str, pd.DataFrame], column: str
) -> Figure:
    """Densities of the analysed levels at the smallest, median and largest ``scale``.

    Up to two clusters: one column of panels per chosen point
    (`histogram_points`), one row per cluster, each a normalised histogram
    of the cluster's levels with the target marked and, for a pair, the
    fitted two-level Coulomb-gas density (`draw_level_histogram`). More
    clusters: one wide panel per chosen point, stacked, with every level of
    the point and every target (`draw_all_levels`).
    """
    model = model_of(scaling)
    points = histogram_points(scaling)
    clusters = cluster_table(scaling)
    title = f"distribution of the {LEVEL_LABELS[column]}"
    if points.empty:
        return empty_figure(scaling, title, "no point without diverged replicas")
    if len(clusters) > MANY_CLUSTERS:
        figure = Figure(figsize=(9.0, 0.8 + 2.6 * len(points)), layout="constrained")
        set_figure_title(figure, scaling, title)
        grid = figure.subplots(len(points), 1, squeeze=False, sharex=True)[:, 0]
        for axes, (_, point) in zip(grid, points.iterrows(), strict=True):
            rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
            levels = cluster_levels(spectra[point["point"]], column)
            draw_all_levels(axes, levels, rows, clusters)
            axes.set_title(
                f"{point_label(point)}; {point_setting(point, model)}", fontsize="medium"
            )
            axes.set_ylabel("probability density\n(dimensionless)")
        grid[-1].set_xlabel(f"{LEVEL_LABELS[column]} (dimensionless)")
        unique_legend(figure, grid, loc="outside right upper", fontsize="small")
        return figure
    figure = panels_figure(len(points), len(clusters))
    set_figure_title(figure, scaling, title)
    grid = figure.subplots(len(clusters), len(points), squeeze=False)
    for column_index, (_, point) in enumerate(points.iterrows()):
        levels = cluster_levels(spectra[point["point"]], column)
        rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
        for row_index, cluster in enumerate(clusters.itertuples(index=False)):
            axes = grid[row_index, column_index]
            axes.set_title(
                f"{point_label(point)}\n{point_setting(point, model)}"
                + (
                    f", {cluster_name(cluster.levels, cluster.target)}" if len(clusters) > 1 else ""
                ),
                fontsize="medium",
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
    axes.legend(
        fontsize="small",
        title=None if s.size else "no point without diverged replicas",
        title_fontsize="small",
    )


def spacing_distribution_figure(
    scaling: pd.DataFrame, spectra: Mapping[str, pd.DataFrame], column: str
) -> Figure:
    """Distribution of the unfolded spacing ``s = S/⟨S⟩``: per scan, or per pair if several.

    With more than one pair cluster in the target (the Gaussian RBM's four
    pairs, an N = 10 teacher's), one panel per pair, pooling that pair's
    spacings over every ok point of the experiment. Otherwise one panel per
    scan of the sweep, pooling over the scan's ok points and their clusters
    of ≥ 2 levels. Every spacing is divided by the mean spacing of its own
    point and cluster. Overlays the GOE Wigner surmise
    ``P(s) = (π/2) s exp(−π s²/4)`` and shades the surmises ``P_β`` over the
    range of the per-point fitted β of the panel's rows.
    """
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
    levels = {point: cluster_levels(spectra[point], column) for point in usable["point"].unique()}
    for axes, (title, rows) in zip(panel_grid(figure, len(panels)), panels, strict=True):
        draw_spacing_panel(axes, rows, levels, title, count_points=several_pairs)
    return figure


# --- Scaling, width and collapse ------------------------------------------------------


def several_clusters(rows: pd.DataFrame) -> bool:
    """Whether ``rows`` hold more than one cluster (then colour encodes the cluster)."""
    return rows["cluster"].nunique() > 1


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


def point_legend_handles(rows: pd.DataFrame) -> list[Line2D]:
    """Legend entries of `draw_points`: a grey marker per scan, and a colour per cluster."""
    scans = scan_styles(scan_names(rows))
    if not several_clusters(rows):
        return [
            Line2D([], [], linestyle="none", markerfacecolor="none", label=scan, **style)
            for scan, style in scans.items()
        ]
    handles = [
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
    for cluster in cluster_table(rows).itertuples(index=False):
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                color=cluster_colour(cluster.cluster),
                label=cluster_name(cluster.levels, cluster.target),
            )
        )
    return handles


def continuum_slopes(scaling: pd.DataFrame) -> dict[int, float]:
    """The finite continuum ⟨S⟩/scale per pair cluster (``continuum_slope``), by cluster.

    Only clusters of two levels have a continuum prediction (√π for singular
    values, `analysis.continuum_slope` for eigenvalues of X); the Gaussian
    RBM has none (NaN), so its dictionary is empty.
    """
    pairs = scaling[scaling["levels"] == 2].drop_duplicates("cluster")
    if pairs.empty:
        pairs = scaling[scaling["levels"] >= 2].drop_duplicates("cluster")
    return {
        int(row["cluster"]): float(row["continuum_slope"])
        for _, row in pairs.iterrows()
        if np.isfinite(row["continuum_slope"])
    }


def continuum_slope(scaling: pd.DataFrame) -> float:
    """The continuum ⟨S⟩/scale of the experiment's first pair cluster, NaN if there is none."""
    slopes = continuum_slopes(scaling)
    return next(iter(slopes.values())) if slopes else np.nan


def shared_value(values: Mapping[int, float]) -> float | None:
    """The common value of ``values`` if they all agree (to 1e-9), else ``None``."""
    unique = list(values.values())
    if unique and np.allclose(unique, unique[0], rtol=1e-9, atol=0.0):
        return unique[0]
    return None


NO_CONTINUUM = "no continuum prediction for this model"


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


THEORY_COLUMNS = ["mean_spacing_theory", "mean_spacing_continuum", "residual", "residual_continuum"]
"""Columns of the scaling table that a theory stage fills (NaN without a theory)."""
THEORY_STYLE = {"linestyle": "none", "marker": "x", "color": "k", "markersize": 5, "zorder": 3}
"""Small black crosses: the exact stationary theory of a point."""
EXACT_THEORY = "exact stationary theory"
NO_THEORY = "no theory for this model"


def finite(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Boolean mask of the rows whose ``column`` is finite (all false if the column is absent)."""
    if column not in rows:
        return np.zeros(len(rows), dtype=bool)
    return np.isfinite(rows[column].to_numpy(dtype=float))


def has_theory(scaling: pd.DataFrame) -> bool:
    """Whether any row of the table carries a theory prediction or residual."""
    return any(finite(scaling, column).any() for column in THEORY_COLUMNS)


def theory_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a finite exact stationary prediction ``mean_spacing_theory``."""
    return rows[finite(rows, "mean_spacing_theory")]


def draw_theory(axes: Axes, x, y, label: str) -> None:
    """The exact theory of each point as a small black cross (`THEORY_STYLE`), if there is any.

    A ``label`` starting with ``_`` keeps the crosses out of the legend.
    """
    if len(x):
        axes.plot(
            np.asarray(x, dtype=float), np.asarray(y, dtype=float), label=label, **THEORY_STYLE
        )


def mean_spacing_fits(scaling_fit: pd.DataFrame) -> pd.DataFrame:
    """Rows of the scaling-fit table for the line ⟨S⟩ = slope × scale."""
    return scaling_fit[scaling_fit["quantity"] == "mean_spacing"]


def scaling_figure(scaling: pd.DataFrame, scaling_fit: pd.DataFrame) -> Figure:
    """Mean spacing ⟨S⟩ against ``scale = sqrt(ratio × A)``, and ⟨S⟩/scale below it.

    Top: ⟨S⟩ ± its jackknife error for the ok points of every cluster of ≥ 2
    levels, hollow marker per scan (and colour per cluster when there are
    several); the weighted lines through the origin ``⟨S⟩ = a · scale`` of
    the scaling fit: the pooled fit over all pairs (``cluster = −1``) thick
    and black, the per-cluster fits thin in the cluster's colour (black when
    there is one cluster); the continuum Coulomb-gas prediction
    ``⟨S⟩ = c · scale`` dashed (`continuum_slopes`; none for the RBM); and,
    where the table has it, the exact discrete-time stationary prediction
    ``mean_spacing_theory`` of each (point, cluster) as a small black cross
    (`draw_theory`), which carries the O(α) departure from the straight line.
    Bottom: ``⟨S⟩/scale`` per point with the pooled (or single) fit's
    ``a ± da`` as a band, the other fits as thin lines, ``c`` dashed, and the
    theory's ``mean_spacing_theory/scale`` as crosses.
    """
    model = model_of(scaling)
    usable = pair_statistics(scaling)
    fits = mean_spacing_fits(scaling_fit)
    by_cluster = several_clusters(usable)
    figure = Figure(figsize=(7.4 if by_cluster else 6.4, 6.6), layout="constrained")
    set_figure_title(figure, scaling, "mean level spacing against the scaling variable")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    spacing = usable["mean_spacing"].to_numpy()
    spacing_error = usable["mean_spacing_err"].to_numpy()
    scale = usable["scale"].to_numpy()
    draw_points(top, usable, "scale", spacing, spacing_error)
    draw_points(bottom, usable, "scale", spacing / scale, spacing_error / scale)
    x = np.linspace(0, 1.08 * (usable if len(usable) else scaling)["scale"].max(), 2)
    pooled = fits[fits["cluster"] == POOLED_CLUSTER]
    single = fits[fits["cluster"] != POOLED_CLUSTER]
    banded = pooled if len(pooled) else single.iloc[:1] if len(single) == 1 else single.iloc[0:0]
    clusters = cluster_table(scaling).set_index("cluster")
    for _, fit in single.iterrows():
        text = f"slope = {fit['slope']:.3f} ± {fit['slope_err']:.3f}"
        if by_cluster or len(single) > 1:
            colour = cluster_colour(fit["cluster"])
            name = (
                cluster_name(*clusters.loc[fit["cluster"], ["levels", "target"]])
                if fit["cluster"] in clusters.index
                else f"cluster {fit['cluster']}"
            )
            top.plot(x, fit["slope"] * x, color=colour, linewidth=0.9, label=f"fit, {name}: {text}")
            if fit.name not in banded.index:
                bottom.axhline(fit["slope"], color=colour, linewidth=0.9)
        else:
            top.plot(x, fit["slope"] * x, color="k", label=f"fit: {text}")
    for _, fit in pooled.iterrows():
        top.plot(
            x,
            fit["slope"] * x,
            color="k",
            linewidth=2.4,
            label=f"fit: all pairs, slope = {fit['slope']:.3f} ± {fit['slope_err']:.3f}",
        )
        bottom.axhline(fit["slope"], color="k", linewidth=1.6)
    for _, fit in banded.iterrows():
        bottom.axhspan(
            fit["slope"] - fit["slope_err"], fit["slope"] + fit["slope_err"], color="0.8"
        )
    if fits.empty:
        top.plot([], [], " ", label="no line fitted (no usable point)")
    slopes = continuum_slopes(scaling)
    draw_continuum(top, x, slopes, 1, "continuum two-level Coulomb gas (slope {value:.3f})")
    for cluster, slope in slopes.items():
        bottom.axhline(
            slope, color="k" if shared_value(slopes) else cluster_colour(cluster), linestyle="--"
        )
    theory = theory_rows(usable)
    draw_theory(top, theory["scale"], theory["mean_spacing_theory"], EXACT_THEORY)
    draw_theory(
        bottom, theory["scale"], theory["mean_spacing_theory"] / theory["scale"], f"_{EXACT_THEORY}"
    )
    top.set_xlim(x[0], x[-1])
    top.set_ylim(bottom=0)
    top.set_ylabel("mean spacing ⟨S⟩ (dimensionless)")
    bottom.set_ylabel("⟨S⟩ / scale (dimensionless)")
    bottom.set_xlabel(f"scale {scale_label(model)} (dimensionless)")
    if by_cluster and len(usable):
        lines = [line for line in top.get_lines() if not line.get_label().startswith("_")]
        top.add_artist(top.legend(handles=lines, fontsize="small", loc="upper left"))
        top.legend(handles=point_legend_handles(usable), fontsize="small", loc="lower right")
    else:
        top.legend(fontsize="small", loc="upper left")
    return figure


def sigma_vs_spacing_figure(scaling: pd.DataFrame) -> Figure:
    """Width-based spacing √π σ against the measured mean spacing ⟨S⟩, with the diagonal.

    σ is the β = 1 Coulomb-gas maximum-likelihood width of a pair; for the
    two-level Coulomb gas ``⟨S⟩ = √π σ``, so the points lie on the diagonal
    ``√π σ = ⟨S⟩`` when the pair's spacing and spread agree with it. Only
    clusters of exactly two levels enter (the relation is the pair's). Both
    axes carry jackknife errors; marker per scan (colour per cluster when
    there are several pairs), ok points only.
    """
    usable = pair_statistics(scaling)
    usable = usable[usable["levels"] == 2]
    figure = Figure(figsize=(5.8 if several_clusters(usable) else 5.4, 5.0), layout="constrained")
    axes = figure.add_subplot()
    set_figure_title(figure, scaling, "Coulomb-gas width against mean spacing")
    root_pi = np.sqrt(np.pi)
    draw_points(
        axes,
        usable,
        "mean_spacing",
        root_pi * usable["sigma"].to_numpy(),
        root_pi * usable["sigma_err"].to_numpy(),
        x_error=usable["mean_spacing_err"].to_numpy(),
    )
    upper = 1.08 * np.nanmax([usable["mean_spacing"].max(), root_pi * usable["sigma"].max(), 0.0])
    diagonal = np.array([0.0, upper if upper > 0 else 1.0])
    (line,) = axes.plot(diagonal, diagonal, "k--", label="√π σ = ⟨S⟩ (two-level Coulomb gas)")
    axes.set_xlim(diagonal)
    axes.set_ylim(diagonal)
    axes.set_aspect("equal")
    axes.set_xlabel("mean spacing ⟨S⟩ (dimensionless)")
    axes.set_ylabel("√π σ (dimensionless)")
    handles = [line, *point_legend_handles(usable)]
    if usable.empty:
        handles.append(Line2D([], [], linestyle="none", label="no pair without diverged replicas"))
    axes.legend(handles=handles, fontsize="small", loc="lower right")
    return figure


def ratio_styles(usable: pd.DataFrame, model: str) -> tuple[str, dict, str, dict]:
    """Colour and marker of the points of a figure against the ratio α/|B| (T).

    Colour encodes α (the cluster when there are several clusters, or for the
    Dyson model), the marker |B| (every marker a circle for the Dyson model).
    Returns ``(colour_column, colours, marker_column, markers)``, the dictionaries
    keyed by the column's values; `ratio_legend_handles` gives the legend.
    """
    colour_column = "cluster" if several_clusters(usable) or model == "dyson" else "learning_rate"
    marker_column = "batch_size" if model != "dyson" else "cluster"
    colours = {
        value: cluster_colour(value) if colour_column == "cluster" else f"C{index % 10}"
        for index, value in enumerate(sorted(usable[colour_column].unique()))
    }
    markers = {
        value: MARKERS[index % len(MARKERS)] if marker_column != "cluster" else "o"
        for index, value in enumerate(sorted(usable[marker_column].unique()))
    }
    return colour_column, colours, marker_column, markers


def ratio_legend_handles(
    usable: pd.DataFrame, scaling: pd.DataFrame, styles: tuple[str, dict, str, dict]
) -> tuple[list[Line2D], list[Line2D]]:
    """Legend entries of `ratio_styles`: one per colour (α or cluster), one per |B| marker."""
    colour_column, colours, marker_column, markers = styles
    clusters = cluster_table(usable) if len(usable) else cluster_table(scaling).iloc[0:0]
    if colour_column == "cluster":
        colour_handles = [
            Line2D(
                [],
                [],
                color=cluster_colour(cluster.cluster),
                marker="o",
                linestyle="none",
                label=cluster_name(cluster.levels, cluster.target),
            )
            for cluster in clusters.itertuples(index=False)
        ]
    else:
        colour_handles = [
            Line2D([], [], color=colours[rate], marker="o", linestyle="none", label=f"α = {rate:g}")
            for rate in colours
        ]
    marker_handles = [
        Line2D(
            [],
            [],
            color="0.3",
            marker=markers[batch],
            markerfacecolor="none",
            linestyle="none",
            label=f"|B| = {int(batch)}",
        )
        for batch in markers
        if marker_column == "batch_size"
    ]
    return colour_handles, marker_handles


def ratio_axis(axes: Axes, usable: pd.DataFrame, scaling: pd.DataFrame) -> np.ndarray:
    """Logarithmic ratio axis over the points (padded by 1.3×); returns 50 ratios spanning it."""
    ratios = (usable if len(usable) else scaling)["ratio"]
    x = np.geomspace(ratios.min() / 1.3, ratios.max() * 1.3, 50)
    axes.set_xscale("log")
    readable_log_axis(axes.xaxis)
    return x


def collapse_figure(scaling: pd.DataFrame) -> Figure:
    """⟨S⟩²/A against the ratio α/|B| (T): points of equal ratio coincide under the scaling rule.

    Top (log–log): ``⟨S⟩²/A`` with error ``2⟨S⟩ δ⟨S⟩/A``, A the noise amplitude
    (``amplitude``: ε², the cluster's target x* for the RBM, 1 for the Dyson
    model), and the continuum Coulomb-gas line ``⟨S⟩²/A = c² · ratio``
    (dashed; ``c² = π`` for singular values, `continuum_slopes`; none for the
    RBM). Bottom: the same divided by the ratio, against ``c²`` (dashed),
    where O(α) departures from the rule show as a vertical spread of points
    of equal ratio. Colour encodes α (the cluster when there are several
    clusters of ≥ 2 levels), hollow marker |B| (`ratio_styles`); ok points
    only. Where the table has the exact stationary theory, its predicted
    ``mean_spacing_theory²/A`` (and that over the ratio) is drawn as small
    black crosses in both panels, so measured and predicted O(α) departures
    of points of equal ratio can be compared.
    """
    model = model_of(scaling)
    usable = pair_statistics(scaling)
    ratio_name = ratio_label(model)
    figure = Figure(figsize=(6.4, 6.8), layout="constrained")
    set_figure_title(figure, scaling, f"collapse onto the ratio {ratio_name}")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    collapsed = usable["mean_spacing"] ** 2 / usable["amplitude"]
    error = 2 * usable["mean_spacing"] * usable["mean_spacing_err"] / usable["amplitude"]
    styles = ratio_styles(usable, model)
    colour_column, colours, marker_column, markers = styles
    for (colour_key, marker_key), rows in usable.groupby([colour_column, marker_column]):
        style = {
            "linestyle": "none",
            "marker": markers[marker_key],
            "color": colours[colour_key],
            "markerfacecolor": "none",
            "markersize": 7,
            "capsize": 2,
        }
        ratio = rows["ratio"]
        top.errorbar(ratio, collapsed[rows.index], yerr=error[rows.index], **style)
        bottom.errorbar(
            ratio, collapsed[rows.index] / ratio, yerr=error[rows.index] / ratio, **style
        )
    theory = theory_rows(usable)
    predicted = theory["mean_spacing_theory"] ** 2 / theory["amplitude"]
    draw_theory(top, theory["ratio"], predicted, "exact theory")
    draw_theory(bottom, theory["ratio"], predicted / theory["ratio"], "_exact theory")
    x = ratio_axis(top, usable, scaling)
    slopes = continuum_slopes(scaling)
    draw_continuum(
        top, x, slopes, 2, f"continuum two-level Coulomb gas: {{value:.3f}} {ratio_name}"
    )
    for cluster, slope in slopes.items():
        bottom.axhline(
            slope**2, color="k" if shared_value(slopes) else cluster_colour(cluster), linestyle="--"
        )
    top.set_yscale("log")
    readable_log_axis(top.yaxis)
    top.set_ylabel(f"⟨S⟩² / A (dimensionless, {amplitude_label(model)})")
    bottom.set_ylabel(f"⟨S⟩² / (A {ratio_name})\n(dimensionless)")
    bottom.set_xlabel(ratio_axis_label(model))
    colour_handles, marker_handles = ratio_legend_handles(usable, scaling, styles)
    continuum_handles, _ = top.get_legend_handles_labels()
    top.add_artist(
        top.legend(
            handles=[*continuum_handles, *colour_handles], fontsize="small", loc="upper left"
        )
    )
    if marker_handles:
        top.legend(handles=marker_handles, fontsize="small", loc="lower right")
    return figure


# --- Residuals against the theory -------------------------------------------------------


RESIDUAL_SETS = {
    "residual": ("against the exact stationary theory", True),
    "residual_continuum": ("against the continuum limit", False),
}
"""Residual column → (what it is measured against, filled marker)."""


def residual_summary(values: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard deviation (``ddof = 1``, NaN below two) and count of the finite values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan, 0
    spread = float(values.std(ddof=1)) if values.size > 1 else np.nan
    return float(values.mean()), spread, int(values.size)


def residuals_figure(scaling: pd.DataFrame) -> Figure:
    """Standardised residuals of ⟨S⟩ against the exact and the continuum theory, against the ratio.

    For every ok (point, cluster) of ≥ 2 levels: ``residual = (⟨S⟩ − theory)/error``
    against the exact discrete-time stationary prediction (filled marker) and
    ``residual_continuum`` against the continuum limit (hollow marker), errors
    added in quadrature, on a logarithmic ratio axis α/|B| (T), colour and
    marker as in the collapse (`ratio_styles`: α or cluster, |B|). Grey bands
    mark ±1 and ±2; the legend gives the mean and standard deviation of each
    set. If the theory holds, the residuals against it are noise (mean ≈ 0,
    spread ≈ 1), while those against the continuum trend with α. A model
    without a theory (the Gaussian RBM: every theory column NaN) gets a
    figure that says so (`NO_THEORY`) and nothing else.
    """
    model = model_of(scaling)
    title = "residuals of ⟨S⟩ against the exact and the continuum theory"
    if not has_theory(scaling):
        return empty_figure(scaling, title, NO_THEORY)
    usable = pair_statistics(scaling)
    predicted = usable[finite(usable, "residual") | finite(usable, "residual_continuum")]
    if predicted.empty:
        return empty_figure(
            scaling,
            title,
            "no point without diverged replicas"
            if usable.empty
            else "no point without diverged replicas has a theory prediction (SGD unstable)",
        )
    figure = Figure(figsize=(9.6, 5.2), layout="constrained")
    set_figure_title(figure, scaling, title)
    grid = figure.add_gridspec(1, 2, width_ratios=[2.3, 1])
    axes = figure.add_subplot(grid[0, 0])
    axes.axhspan(-2, 2, color="0.92", zorder=0, linewidth=0, label="±2 (95 % of pure noise)")
    axes.axhspan(-1, 1, color="0.8", zorder=0, linewidth=0, label="±1 (68 %)")
    axes.axhline(0, color="k", linewidth=0.8, zorder=1)
    styles = ratio_styles(predicted, model)
    colour_column, colours, marker_column, markers = styles
    handles = []
    for column, (against, filled) in RESIDUAL_SETS.items():
        values = predicted[column].to_numpy(dtype=float)
        for (colour_key, marker_key), rows in predicted.groupby([colour_column, marker_column]):
            colour = colours[colour_key]
            axes.plot(
                rows["ratio"],
                rows[column],
                linestyle="none",
                marker=markers[marker_key],
                color=colour,
                markerfacecolor=colour if filled else "none",
                markersize=7,
                zorder=3,
                label=f"_{column}",
            )
        mean, spread, count = residual_summary(values)
        text = (
            f"{against}:\nmean {mean:+.2f}, s.d. {spread:.2f} ({count} points)"
            if count
            else f"{against}: no point"
        )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                color="k",
                markerfacecolor="k" if filled else "none",
                label=text,
            )
        )
    ratio_axis(axes, predicted, scaling)
    finite_values = predicted[list(RESIDUAL_SETS)].to_numpy(dtype=float)
    finite_values = finite_values[np.isfinite(finite_values)]
    reach = max(3.0, 1.15 * float(np.abs(finite_values).max()))
    axes.set_ylim(-reach, reach)
    axes.set_xlabel(ratio_axis_label(model))
    axes.set_ylabel("standardised residual (⟨S⟩ − prediction) / error")
    bands, _ = axes.get_legend_handles_labels()
    colour_handles, marker_handles = ratio_legend_handles(predicted, scaling, styles)
    key = figure.add_subplot(grid[0, 1])
    key.set_axis_off()
    key.add_artist(key.legend(handles=[*handles, *bands], fontsize="small", loc="upper left"))
    key.legend(handles=[*colour_handles, *marker_handles], fontsize="small", loc="lower left")
    return figure


# --- Centres ----------------------------------------------------------------------------


def centres_figure(scaling: pd.DataFrame) -> Figure:
    """Relative offset of the fitted centre from the target against the ratio α/|B| (T).

    ``(x0 − target)/target`` with error ``δx0/target``, x0 the β = 1
    Coulomb-gas centre of each cluster (the mean, for a single level), one
    series per cluster (colour and marker), ok points only, with the zero
    line. Relative offsets put clusters of different targets on one axis;
    the Gaussian RBM's centres fall below their targets as α/|B| grows.
    """
    model = model_of(scaling)
    usable = scaling[(scaling["status"] == "ok") & np.isfinite(scaling["center"])]
    figure = Figure(figsize=(7.2, 4.8), layout="constrained")
    set_figure_title(figure, scaling, "fitted cluster centres against their targets")
    axes = figure.add_subplot()
    for index, cluster in enumerate(cluster_table(scaling).itertuples(index=False)):
        rows = usable[usable["cluster"] == cluster.cluster].drop_duplicates("point")
        if rows.empty:
            continue
        target = abs(cluster.target) if cluster.target else 1.0
        axes.errorbar(
            rows["ratio"],
            (rows["center"] - rows["target"]) / target,
            yerr=rows["center_err"] / target,
            linestyle="none",
            marker=MARKERS[index % len(MARKERS)],
            markerfacecolor="none",
            color=cluster_colour(cluster.cluster),
            capsize=2,
            label=cluster_name(cluster.levels, cluster.target),
        )
    axes.axhline(0.0, color="k", linewidth=0.8, label="centre = target")
    ratios = (usable if len(usable) else scaling)["ratio"]
    axes.set_xlim(0, 1.08 * ratios.max())
    axes.set_xlabel(
        f"{'temperature T' if model == 'dyson' else ratio_label(model)} (dimensionless)"
    )
    axes.set_ylabel("(x0 − target) / target (dimensionless)")
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    if usable.empty:
        mark_empty(axes, "no point without diverged replicas")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


# --- Pair densities ---------------------------------------------------------------------


def density_clusters(scaling: pd.DataFrame) -> pd.DataFrame:
    """The clusters of the pair-density figure: pairs first, then larger clusters, at most 4."""
    clusters = cluster_table(scaling)
    pairs = clusters[clusters["levels"] == 2]
    larger = clusters[clusters["levels"] >= 3]
    return pd.concat([pairs, larger]).iloc[:MAX_DENSITY_CLUSTERS]


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


def pair_densities_figure(
    scaling: pd.DataFrame,
    density_fits: pd.DataFrame,
    spectra: Mapping[str, pd.DataFrame],
    column: str,
) -> Figure:
    """One-level densities of the degenerate clusters against the fitted density models.

    One row per cluster (every pair, up to `MAX_DENSITY_CLUSTERS`, then
    clusters of three or more levels), one column per chosen point
    (`histogram_points`): the histogram of the cluster's levels, the
    equal-width two-level Coulomb gas (`two_level_density` with the
    ``equal_width`` fit's centre and σ) and the two-component density
    (`two_component_density` with σ1, σ2); for larger clusters the
    semicircle (`semicircle_density`, radius R). Legends carry ΔAIC, the
    text box the likelihood-ratio p-value of σ1 ≠ σ2.
    """
    model = model_of(scaling)
    points = histogram_points(scaling)
    clusters = density_clusters(scaling)
    title = f"cluster densities of the {LEVEL_LABELS[column]}: equal width or two components"
    if points.empty:
        return empty_figure(scaling, title, "no point without diverged replicas")
    if clusters.empty:
        return empty_figure(scaling, title, "no cluster of two or more levels in the target")
    figure = panels_figure(len(points), len(clusters))
    set_figure_title(figure, scaling, title)
    grid = figure.subplots(len(clusters), len(points), squeeze=False)
    for column_index, (_, point) in enumerate(points.iterrows()):
        levels = cluster_levels(spectra[point["point"]], column)
        rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
        fitted = density_fits[density_fits["point"] == point["point"]]
        for row_index, cluster in enumerate(clusters.itertuples(index=False)):
            axes = grid[row_index, column_index]
            axes.set_title(
                f"{point_label(point)}; {point_setting(point, model)}\n"
                f"{cluster_name(cluster.levels, cluster.target)}",
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


# --- Eigenvalue flow --------------------------------------------------------------------


def flow_levels(snapshots: pd.DataFrame, weights: np.ndarray, column: str) -> pd.DataFrame:
    """The analysed levels of a flow run: one row per (replica, step), ``level_<i>`` ascending.

    ``snapshots`` are the scalar columns of a simulate table and ``weights``
    its ``(rows, N, N)`` matrices (`tables.weight_matrices`).
    """
    frame = snapshots[["replica", "step"]].reset_index(drop=True)
    if len(weights) == 0:
        return frame.iloc[0:0]
    values = LEVEL_FUNCTIONS[column](weights)
    levels = pd.DataFrame(values, columns=[f"level_{i}" for i in range(values.shape[1])])
    return pd.concat([frame, levels], axis=1).sort_values(["replica", "step"], ignore_index=True)


def rows_at_point(scaling: pd.DataFrame, point: Mapping) -> pd.DataFrame:
    """The scaling rows of the point with the given point-column values (null = null)."""
    chosen = np.ones(len(scaling), dtype=bool)
    for column in POINT_SYMBOLS:
        value = point.get(column)
        if value is None or pd.isna(value):
            chosen &= scaling[column].isna().to_numpy()
        else:
            chosen &= np.isclose(scaling[column].to_numpy(dtype=float), float(value))
    return scaling[chosen]


def flow_pair(levels: pd.DataFrame, clusters: pd.DataFrame, late: np.ndarray) -> int | None:
    """The cluster whose late-time fluctuations the flow figure zooms on, or ``None``.

    Among the pairs (else clusters of ≥ 3 levels), the one whose late-time
    levels sit closest to their target in units of their spread: the best
    relaxed, so that its fluctuations, not its approach, fill the zoom.
    """
    for candidates in (clusters[clusters["levels"] == 2], clusters[clusters["levels"] >= 3]):
        if candidates.empty:
            continue
        scores = {}
        for cluster in candidates.itertuples(index=False):
            columns = [f"level_{i}" for i in cluster.members]
            values = levels.loc[late, columns].to_numpy()
            spread = values.std() + 1e-12 * max(1.0, abs(cluster.target))
            scores[cluster.cluster] = abs(values.mean() - cluster.target) / spread
        return min(scores, key=scores.get)
    return None


def late_window(steps: np.ndarray, burn_in: int | None) -> float:
    """First step of the late-time window: ``burn_in`` if it leaves ≥ 10 snapshots, else mid-run."""
    unique = np.unique(steps)
    if burn_in is not None and np.sum(unique >= burn_in) >= 10:
        return float(burn_in)
    return float(unique[len(unique) // 2])


def draw_flow(
    axes: Axes,
    levels: pd.DataFrame,
    replicas: list[int],
    targets: pd.Series,
    late_start: float,
) -> None:
    """Every level of every replica against the step (log axis), targets dotted."""
    level_columns = [name for name in levels.columns if name.startswith("level_")]
    shown = levels[levels["step"] > 0]
    for index, replica in enumerate(replicas):
        rows = shown[shown["replica"] == replica]
        lines = axes.plot(
            rows["step"], rows[level_columns], color=f"C{index % 10}", linewidth=0.7, alpha=0.85
        )
        lines[0].set_label(f"replica {replica}")
    for target in targets:
        axes.axhline(target, color="k", linestyle=":", linewidth=1.0, label="targets")
    axes.axvspan(late_start, levels["step"].max(), color="0.9", zorder=0, label="late window")
    axes.set_xscale("log")
    axes.set_xlim(shown["step"].min(), shown["step"].max())
    unique_legend(axes, [axes], fontsize="small", loc="best")


def draw_late_levels(
    axes: Axes, rows: pd.DataFrame, cluster: pd.Series, colour: str, centre: float | None
) -> None:
    """One replica's levels of one cluster at late times, the gap between them shaded."""
    names = [f"level_{i}" for i in cluster["members"]]
    values = rows[names].to_numpy()
    axes.fill_between(
        rows["step"], values.min(axis=1), values.max(axis=1), color=colour, alpha=0.15, linewidth=0
    )
    lines = axes.plot(rows["step"], values, color=colour, linewidth=1.0)
    members = cluster["members"]
    lines[0].set_label(f"levels {members[0]}–{members[-1]}")
    axes.axhline(cluster["target"], color="k", linestyle=":", linewidth=1.0, label="target")
    if centre is not None and np.isfinite(centre):
        axes.axhline(centre, color="0.4", linestyle="--", linewidth=1.0, label="ensemble centre x0")
    low, high = axes.get_ylim()
    axes.set_ylim(low, high + 0.3 * (high - low))
    axes.legend(fontsize="x-small", loc="upper left", ncols=3)


def eigenvalue_flow_figure(
    scaling: pd.DataFrame,
    snapshots: pd.DataFrame,
    weights: np.ndarray,
    column: str,
    burn_in: int | None = None,
) -> Figure:
    """Learning as Dyson Brownian motion: the levels of a few replicas against the step.

    Left: every analysed level (`flow_levels`) of every replica of the flow
    run (at most `MAX_FLOW_REPLICAS`), one thin line per level, coloured by
    replica, on a logarithmic step axis; the targets dotted; the late-time
    window (steps ≥ ``burn_in``, or the second half of the run) shaded.
    Right, on a linear step axis over the late window: top, the levels of
    one degenerate cluster (`flow_pair`) of the first replica, which
    fluctuate about the target without crossing, with the ensemble's fitted
    centre; bottom, that cluster's neighbour spacings for every replica,
    with the point's measured ⟨S⟩ dashed: they stay away from zero (level
    repulsion). Without a cluster of ≥ 2 levels only the left panel is drawn.
    """
    model = model_of(scaling)
    levels = flow_levels(snapshots, weights, column)
    clusters = cluster_table(scaling)
    point = snapshots.iloc[0].to_dict() if len(snapshots) else {}
    title = (
        f"the {LEVEL_LABELS[column]} during "
        f"{'the Dyson Brownian motion' if model == 'dyson' else 'training'}"
        + (f", {point_label(point)}" if point else "")
    )
    if levels.empty:
        return empty_figure(scaling, title, "no surviving replica in the flow run")
    level_columns = [name for name in levels.columns if name.startswith("level_")]
    targets = clusters["target"]
    if clusters["levels"].sum() == len(level_columns):
        bounds = np.cumsum([0, *clusters["levels"]])
        clusters = clusters.assign(
            members=[list(range(bounds[i], bounds[i + 1])) for i in range(len(clusters))]
        )
    else:  # levels that do not match the target's clusters: no zoom
        clusters = clusters.iloc[0:0].assign(members=[])
    replicas = sorted(levels["replica"].unique())[:MAX_FLOW_REPLICAS]
    start = late_window(levels["step"].to_numpy(), burn_in)
    late = (levels["step"] >= start).to_numpy()
    zoom = flow_pair(levels, clusters, late)

    figure = Figure(figsize=(11.0, 5.6), layout="constrained")
    set_figure_title(figure, scaling, title, note=False)
    if zoom is None:
        flow = figure.add_subplot()
    else:
        panels = figure.subplot_mosaic(
            [["flow", "pair"], ["flow", "spacing"]], width_ratios=[1.7, 1]
        )
        flow = panels["flow"]
    draw_flow(flow, levels, replicas, targets, start)
    flow.set_xlabel(f"{step_label(model)} (log scale)")
    flow.set_ylabel(f"{LEVEL_LABELS[column]} (dimensionless)")
    flow.set_title(f"{len(replicas)} replicas, {len(level_columns)} levels each", fontsize="medium")
    if zoom is None:
        return figure

    cluster = clusters.set_index("cluster").loc[zoom]
    measured = rows_at_point(scaling, point)
    measured = measured[(measured["cluster"] == zoom) & (measured["status"] == "ok")]
    pair, spacing = panels["pair"], panels["spacing"]
    draw_late_levels(
        pair,
        levels[(levels["replica"] == replicas[0]) & late],
        cluster,
        "C0",
        measured["center"].iloc[0] if len(measured) else None,
    )
    pair.set_title(
        f"late times: {cluster_name(cluster['levels'], cluster['target'])}, replica {replicas[0]}",
        fontsize="medium",
    )
    pair.set_ylabel(LEVEL_LABELS[column].split(" of ")[0])
    names = [f"level_{i}" for i in cluster["members"]]
    for index, replica in enumerate(replicas):
        rows = levels[(levels["replica"] == replica) & late]
        gaps = np.diff(rows[names].to_numpy(), axis=1)
        spacing.plot(rows["step"], gaps, color=f"C{index % 10}", linewidth=0.7, alpha=0.85)
    if len(measured) and np.isfinite(measured["mean_spacing"].iloc[0]):
        spacing.axhline(
            measured["mean_spacing"].iloc[0],
            color="k",
            linestyle="--",
            label=f"ensemble ⟨S⟩ = {measured['mean_spacing'].iloc[0]:.3g}",
        )
        spacing.legend(fontsize="x-small", loc="upper left")
    spacing.set_ylim(0, 1.3 * spacing.get_ylim()[1])
    spacing.set_title("its neighbour spacings S, every replica", fontsize="medium")
    spacing.set_ylabel("spacing S")
    spacing.set_xlabel(step_label(model))
    pair.sharex(spacing)
    pair.tick_params(labelbottom=False)
    spacing.set_xlim(start, levels["step"].max())
    spacing.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    return figure


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
