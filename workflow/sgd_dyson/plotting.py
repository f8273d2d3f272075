"""The figures of one experiment, drawn from the pipeline's tables.

Every ``*_figure`` function takes tables in the schemas of `tables` (and, for
the level statistics, the spectra of the points) and returns a
`matplotlib.figure.Figure` built with the object API, without pyplot, so no
global state is touched; `save_figure` writes it as PNG and PDF. Only points
with status ``ok`` (no diverged replica) enter; the others are named as
excluded in small print under the figure.

``spectra`` maps a point id to the rows of its spectrum table that are
statistics (``step ≥ burn_in``); ``column`` is the spectrum column of the
analysed levels (``singular_value`` or ``gram_eigenvalue``).
"""

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .distributions import surmise_pdf, two_level_density
from .fits import neighbour_spacings

LEVEL_LABELS = {
    "singular_value": "singular value λ of W",
    "gram_eigenvalue": "eigenvalue x of X = WᵀW",
}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]
PNG_DPI = 200
PANEL_SIZE = (4.2, 3.6)
PANEL_COLUMNS = 3
MIN_FIGURE_WIDTH = 6.4
HISTOGRAM_HEADROOM = 1.5
"""Level histograms reach up to 1/HISTOGRAM_HEADROOM of the panel height, leaving room for text."""
TITLE_CHARACTERS_PER_INCH = 10
NOTE_CHARACTERS_PER_INCH = 14


def point_label(row: pd.Series) -> str:
    """``α = 0.1, |B| = 16, ε = 0.1`` for a row with the point columns."""
    return f"α = {row['learning_rate']:g}, |B| = {int(row['batch_size'])}, ε = {row['noise']:g}"


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


def set_figure_title(figure: Figure, scaling: pd.DataFrame, title: str) -> None:
    """Title ``"<experiment>: <title>"``; the points excluded as diverged in small print below.

    Both are wrapped to the figure's width.
    """
    width = figure.get_figwidth()
    heading = f"{scaling['experiment'].iloc[0]}: {title}"
    figure.suptitle(textwrap.fill(heading, int(TITLE_CHARACTERS_PER_INCH * width)))
    note = excluded_points_note(scaling)
    if note:
        figure.supxlabel(
            textwrap.fill(note, int(NOTE_CHARACTERS_PER_INCH * width)),
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
    """The ok points with the smallest, median and largest ``scale`` (fewer if fewer exist)."""
    points = (
        scaling[scaling["status"] == "ok"]
        .drop_duplicates("point")
        .sort_values(["scale", "point"], ignore_index=True)
    )
    if points.empty:
        return points
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


def draw_level_histogram(axes: Axes, levels: np.ndarray, statistics: pd.Series) -> None:
    """Histogram of one cluster's levels, its target and, for a pair, the fitted density.

    The overlay is the two-level Coulomb gas (β = 1) with the fitted centre x0
    and width σ, ``ρ(x) = e^{−y²/2σ²}/(4√π σ) · [2 e^{−y²/2σ²} +
    √(2π) (y/σ) erf(y/(√2 σ))]``, ``y = x − x0``.
    """
    values = levels.ravel()
    bins = int(np.clip(np.sqrt(values.size), 10, 50))
    axes.hist(values, bins=bins, density=True, color="0.75", edgecolor="0.45", label="levels")
    if statistics["levels"] == 2:
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


def spectrum_histograms_figure(
    scaling: pd.DataFrame, spectra: Mapping[str, pd.DataFrame], column: str
) -> Figure:
    """Densities of the analysed levels at the smallest, median and largest ``scale``.

    One column of panels per chosen point (`histogram_points`), one row per
    cluster of the target. Each panel is a normalised histogram of the
    cluster's levels with the target marked and, for a pair, the fitted
    two-level Coulomb-gas density (`draw_level_histogram`).
    """
    points = histogram_points(scaling)
    clusters = sorted(scaling["cluster"].unique())
    figure = panels_figure(max(len(points), 1), len(clusters))
    set_figure_title(figure, scaling, f"distribution of the {LEVEL_LABELS[column]}")
    if points.empty:
        axes = figure.add_subplot()
        axes.set_axis_off()
        mark_empty(axes, "no point without diverged replicas")
        return figure
    grid = figure.subplots(len(clusters), len(points), squeeze=False)
    for column_index, (_, point) in enumerate(points.iterrows()):
        levels = cluster_levels(spectra[point["point"]], column)
        rows = scaling[scaling["point"] == point["point"]].set_index("cluster")
        for row_index, cluster in enumerate(clusters):
            axes = grid[row_index, column_index]
            axes.set_title(
                f"{point_label(point)}\nscale √(αε²/|B|) = {point['scale']:.3g}"
                + (f", cluster {cluster}" if len(clusters) > 1 else ""),
                fontsize="medium",
            )
            axes.set_xlabel(f"{LEVEL_LABELS[column]} (dimensionless)")
            axes.set_ylabel("probability density (dimensionless)")
            if cluster in levels:
                draw_level_histogram(axes, levels[cluster], rows.loc[cluster])
            else:
                mark_empty(axes, "no samples")
    handles = {}
    for axes in grid.flat:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    grid[0, 0].legend(handles.values(), handles.keys(), loc="upper right", fontsize="small")
    return figure


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


def spacing_distribution_figure(
    scaling: pd.DataFrame, spectra: Mapping[str, pd.DataFrame], column: str
) -> Figure:
    """Distribution of the unfolded spacing ``s = S/⟨S⟩``, one panel per scan of the sweep.

    Pools, over the scan's ok points and their clusters of ≥ 2 levels, the
    neighbour spacings each divided by the mean spacing of its own point and
    cluster. Overlays the GOE Wigner surmise ``P(s) = (π/2) s exp(−π s²/4)``
    and shades the surmises ``P_β`` over the range of the per-point fitted β.
    """
    scans = scan_names(scaling)
    usable = pair_statistics(scaling)
    figure = panels_figure(min(len(scans), PANEL_COLUMNS), -(-len(scans) // PANEL_COLUMNS))
    set_figure_title(
        figure, scaling, f"level spacings against the Wigner surmise ({LEVEL_LABELS[column]})"
    )
    for axes, scan in zip(panel_grid(figure, len(scans)), scans, strict=True):
        rows = usable[scan_mask(usable, scan)]
        pooled = [
            unfolded_spacings(cluster_levels(spectra[row["point"]], column)[row["cluster"]])
            for _, row in rows.iterrows()
        ]
        points = rows["point"].nunique()
        axes.set_title(f"{scan} ({points} point{'s' if points != 1 else ''})", fontsize="medium")
        axes.set_xlabel("unfolded spacing s = S/⟨S⟩ (dimensionless)")
        axes.set_ylabel("P(s) (dimensionless)")
        s = np.concatenate(pooled) if pooled else np.empty(0)
        grid = np.linspace(0, max(3.5, s.max(initial=0.0)), 400)
        if s.size:
            bins = int(np.clip(np.sqrt(s.size) / 1.5, 8, 40))
            axes.hist(
                s,
                bins=np.linspace(0, grid[-1], bins + 1),
                density=True,
                color="0.75",
                edgecolor="0.45",
                label=f"{s.size} spacings",
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
    return figure


def draw_points_by_scan(
    axes: Axes,
    rows: pd.DataFrame,
    x: str,
    y: np.ndarray,
    y_error: np.ndarray,
    x_error: np.ndarray | None = None,
) -> None:
    """Error-bar points of ``rows``, drawn once per scan holding them, hollow marker per scan."""
    for scan, style in scan_styles(scan_names(rows)).items():
        chosen = scan_mask(rows, scan)
        axes.errorbar(
            rows.loc[chosen, x],
            y[chosen],
            yerr=y_error[chosen],
            xerr=None if x_error is None else x_error[chosen],
            linestyle="none",
            markerfacecolor="none",
            capsize=2,
            label=scan,
            **style,
        )


def continuum_slope(scaling: pd.DataFrame) -> float:
    """The continuum ⟨S⟩/scale of the experiment's pairs (``continuum_slope`` column).

    √π for singular values; for eigenvalues of X it depends on the pair's
    target (`analysis.continuum_slope`), and the first pair cluster's is used.
    """
    pairs = scaling[scaling["levels"] == 2]
    return float((pairs if len(pairs) else scaling)["continuum_slope"].iloc[0])


def mean_spacing_fits(scaling_fit: pd.DataFrame) -> pd.DataFrame:
    """Rows of the scaling-fit table for the line ⟨S⟩ = slope × scale."""
    return scaling_fit[scaling_fit["quantity"] == "mean_spacing"]


def scaling_figure(scaling: pd.DataFrame, scaling_fit: pd.DataFrame) -> Figure:
    """Mean spacing ⟨S⟩ against ``scale = sqrt(α ε²/|B|)``, and ⟨S⟩/scale below it.

    Top: ⟨S⟩ ± its jackknife error for the ok points, marker per scan; the
    weighted line through the origin ``⟨S⟩ = a · scale`` of the scaling fit
    (solid, ``a ± da`` in the legend); the continuum Coulomb-gas prediction
    ``⟨S⟩ = c · scale`` (dashed; ``c = √π`` for singular values,
    `continuum_slope`). Bottom: ``⟨S⟩/scale`` per point with the fitted
    ``a ± da`` as a band and ``c`` dashed.
    """
    usable = pair_statistics(scaling)
    fits = mean_spacing_fits(scaling_fit)
    figure = Figure(figsize=(6.4, 6.4), layout="constrained")
    set_figure_title(figure, scaling, "mean level spacing against the scaling variable")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    spacing = usable["mean_spacing"].to_numpy()
    spacing_error = usable["mean_spacing_err"].to_numpy()
    scale = usable["scale"].to_numpy()
    draw_points_by_scan(top, usable, "scale", spacing, spacing_error)
    draw_points_by_scan(bottom, usable, "scale", spacing / scale, spacing_error / scale)
    x = np.linspace(0, 1.08 * (usable if len(usable) else scaling)["scale"].max(), 2)
    label_cluster = fits["cluster"].nunique() > 1
    for _, fit in fits.iterrows():
        suffix = f", cluster {fit['cluster']}" if label_cluster else ""
        top.plot(
            x,
            fit["slope"] * x,
            color="k",
            label=f"fit: slope = {fit['slope']:.3f} ± {fit['slope_err']:.3f}{suffix}",
        )
        bottom.axhspan(
            fit["slope"] - fit["slope_err"], fit["slope"] + fit["slope_err"], color="0.8"
        )
    if fits.empty:
        top.plot([], [], " ", label="no line fitted (no usable point)")
    continuum = continuum_slope(scaling)
    top.plot(x, continuum * x, "k--", label=f"continuum Coulomb gas (slope {continuum:.3f})")
    bottom.axhline(continuum, color="k", linestyle="--")
    top.set_xlim(x[0], x[-1])
    top.set_ylim(bottom=0)
    top.set_ylabel("mean spacing ⟨S⟩ (dimensionless)")
    bottom.set_ylabel("⟨S⟩ / scale (dimensionless)")
    bottom.set_xlabel("scale √(α ε²/|B|) (dimensionless)")
    top.legend(fontsize="small", loc="upper left")
    return figure


def sigma_vs_spacing_figure(scaling: pd.DataFrame) -> Figure:
    """Width-based spacing √π σ against the measured mean spacing ⟨S⟩, with the diagonal.

    σ is the β = 1 Coulomb-gas maximum-likelihood width of the pair; for the
    two-level Coulomb gas ``⟨S⟩ = √π σ``, so the points lie on the diagonal
    ``√π σ = ⟨S⟩`` when the pair's spacing and spread agree with it. Both axes
    carry jackknife errors; marker per scan, ok points only.
    """
    usable = pair_statistics(scaling)
    figure = Figure(figsize=(5.4, 5.0), layout="constrained")
    axes = figure.add_subplot()
    set_figure_title(figure, scaling, "Coulomb-gas width against mean spacing")
    root_pi = np.sqrt(np.pi)
    draw_points_by_scan(
        axes,
        usable,
        "mean_spacing",
        root_pi * usable["sigma"].to_numpy(),
        root_pi * usable["sigma_err"].to_numpy(),
        x_error=usable["mean_spacing_err"].to_numpy(),
    )
    upper = 1.08 * np.nanmax([usable["mean_spacing"].max(), root_pi * usable["sigma"].max(), 0.0])
    diagonal = np.array([0.0, upper if upper > 0 else 1.0])
    axes.plot(diagonal, diagonal, "k--", label="√π σ = ⟨S⟩ (two-level Coulomb gas)")
    axes.set_xlim(diagonal)
    axes.set_ylim(diagonal)
    axes.set_aspect("equal")
    axes.set_xlabel("mean spacing ⟨S⟩ (dimensionless)")
    axes.set_ylabel("√π σ (dimensionless)")
    axes.legend(fontsize="small", loc="upper left")
    return figure


def collapse_figure(scaling: pd.DataFrame) -> Figure:
    """⟨S⟩²/A against α/|B|: points of equal ratio coincide under the linear scaling rule.

    Top (log–log): ``⟨S⟩²/A`` with error ``2⟨S⟩ δ⟨S⟩/A``, A the noise amplitude
    (``amplitude``; ε² for the teacher–student model), and the continuum
    Coulomb-gas line ``⟨S⟩²/A = c² α/|B|`` (dashed; ``c² = π`` for singular
    values, `continuum_slope`). Bottom: the same divided by α/|B|, against
    ``c²`` (dashed), where O(α) departures from the rule show as a
    vertical spread of points of equal ratio. Colour encodes α, hollow marker
    |B|; ok points only.
    """
    usable = pair_statistics(scaling)
    figure = Figure(figsize=(6.4, 6.8), layout="constrained")
    set_figure_title(figure, scaling, "collapse onto the ratio α/|B|")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    collapsed = usable["mean_spacing"] ** 2 / usable["amplitude"]
    error = 2 * usable["mean_spacing"] * usable["mean_spacing_err"] / usable["amplitude"]
    rates = sorted(usable["learning_rate"].unique())
    batches = sorted(usable["batch_size"].unique())
    colours = {rate: f"C{index % 10}" for index, rate in enumerate(rates)}
    markers = {batch: MARKERS[index % len(MARKERS)] for index, batch in enumerate(batches)}
    for (rate, batch), rows in usable.groupby(["learning_rate", "batch_size"]):
        style = {
            "linestyle": "none",
            "marker": markers[batch],
            "color": colours[rate],
            "markerfacecolor": "none",
            "markersize": 7,
            "capsize": 2,
        }
        ratio = rows["ratio"]
        top.errorbar(ratio, collapsed[rows.index], yerr=error[rows.index], **style)
        bottom.errorbar(
            ratio, collapsed[rows.index] / ratio, yerr=error[rows.index] / ratio, **style
        )
    ratios = (usable if len(usable) else scaling)["ratio"]
    x = np.geomspace(ratios.min() / 1.3, ratios.max() * 1.3, 50)
    squared_slope = continuum_slope(scaling) ** 2
    (continuum,) = top.plot(
        x, squared_slope * x, "k--", label=f"continuum {squared_slope:.3f} · α/|B|"
    )
    bottom.axhline(squared_slope, color="k", linestyle="--")
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("⟨S⟩² / A (dimensionless)")
    bottom.set_ylabel("⟨S⟩² / (A α/|B|)\n(dimensionless)")
    bottom.set_xlabel("α/|B| (dimensionless)")
    rate_handles = [
        Line2D([], [], color=colours[rate], marker="o", linestyle="none", label=f"α = {rate:g}")
        for rate in rates
    ]
    batch_handles = [
        Line2D(
            [],
            [],
            color="0.3",
            marker=markers[batch],
            markerfacecolor="none",
            linestyle="none",
            label=f"|B| = {batch}",
        )
        for batch in batches
    ]
    top.add_artist(
        top.legend(handles=[continuum, *rate_handles], fontsize="small", loc="upper left")
    )
    if batch_handles:
        top.legend(handles=batch_handles, fontsize="small", loc="lower right")
    return figure


def save_figure(figure: Figure, png_path: str | Path, pdf_path: str | Path) -> None:
    """Write ``figure`` as PNG and PDF, each atomically, then clear it.

    Each file is written to a hidden temporary name in its own folder and
    renamed over the target with `os.replace`, so a reader never sees a
    partial figure. The figure is cleared afterwards (it was made without
    pyplot, so nothing else holds it).
    """
    try:
        for path, file_format in ((Path(png_path), "png"), (Path(pdf_path), "pdf")):
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                figure.savefig(temporary, format=file_format, dpi=PNG_DPI)
                os.replace(temporary, path)
            finally:
                temporary.unlink(missing_ok=True)
    finally:
        figure.clear()
