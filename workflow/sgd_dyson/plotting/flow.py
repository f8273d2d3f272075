"""The eigenvalue flow: the levels of a few replicas against the step, learning as Dyson motion.

It reads the snapshots of the flow run (a rerun of the point with the
smallest ratio with fine snapshots, or, for external weights, the first
replicas of that point's own snapshots) and the scaling table for the
targets and the ensemble's statistics at that point.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..spectra import gram_eigenvalues, singular_values
from .layout import (
    LEVEL_LABELS,
    empty_figure,
    point_label,
    set_figure_title,
    unique_legend,
)
from .registry import CaptionContext, FigureData, figure, sentences
from .selection import cluster_table, rows_at_point

LEVEL_FUNCTIONS = {"singular_value": singular_values, "gram_eigenvalue": gram_eigenvalues}
MAX_FLOW_REPLICAS = 6
"""At most this many replicas of the flow run are drawn."""
LATE_SNAPSHOTS = 10
"""The late window starts at ``burn_in`` if that leaves this many snapshots, else mid-run."""


def flow_levels(
    snapshots: pd.DataFrame, weights: Mapping[int, np.ndarray], column: str
) -> pd.DataFrame:
    """The analysed levels of a flow run: one row per (replica, step), ``level_<i>`` ascending.

    ``snapshots`` are the scalar columns of a simulate table and ``weights``
    its matrices per layer, ``(rows, n, m)`` each (`tables.weight_matrices` of
    `tables.layer_tables`); the levels of the layers follow each other, as the
    spectrum stage numbers them.
    """
    layer_of = snapshots["layer"].to_numpy() if "layer" in snapshots else np.zeros(len(snapshots))
    frames, values = [], []
    for layer, matrices in weights.items():
        rows = snapshots.loc[layer_of == layer, ["replica", "step"]].reset_index(drop=True)
        order = np.lexsort((rows["step"].to_numpy(), rows["replica"].to_numpy()))
        frames.append(rows.iloc[order].reset_index(drop=True))
        if len(matrices):
            values.append(LEVEL_FUNCTIONS[column](matrices)[order])
    if not values:
        return snapshots[["replica", "step"]].iloc[0:0]
    joined = np.hstack(values)
    levels = pd.DataFrame(joined, columns=[f"level_{i}" for i in range(joined.shape[1])])
    return pd.concat([frames[0], levels], axis=1)


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
    if burn_in is not None and np.sum(unique >= burn_in) >= LATE_SNAPSHOTS:
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


def draw_spacings(
    axes: Axes, levels: pd.DataFrame, replicas: list[int], cluster: pd.Series, measured: float
) -> None:
    """The neighbour spacings of one cluster in every replica, the ensemble's ⟨S⟩ dashed."""
    names = [f"level_{i}" for i in cluster["members"]]
    for index, replica in enumerate(replicas):
        rows = levels[levels["replica"] == replica]
        gaps = np.diff(rows[names].to_numpy(), axis=1)
        axes.plot(rows["step"], gaps, color=f"C{index % 10}", linewidth=0.7, alpha=0.85)
    if np.isfinite(measured):
        axes.axhline(measured, color="k", linestyle="--", label=f"ensemble ⟨S⟩ = {measured:.3g}")
        axes.legend(fontsize="x-small", loc="upper left")
    axes.set_ylim(0, 1.3 * axes.get_ylim()[1])
    axes.set_title("its neighbour spacings S, every replica", fontsize="medium")
    axes.set_ylabel("spacing S")


def cluster_members(clusters: pd.DataFrame, levels: int) -> pd.DataFrame:
    """``clusters`` with the ``members`` (level indices) of each; none if they do not add up.

    Levels that do not match the target's clusters (another number of them) get no zoom.
    """
    if clusters["levels"].sum() != levels:
        return clusters.iloc[0:0].assign(members=[])
    bounds = np.cumsum([0, *clusters["levels"]])
    return clusters.assign(
        members=[list(range(bounds[i], bounds[i + 1])) for i in range(len(clusters))]
    )


def eigenvalue_flow_caption(context: CaptionContext) -> str:
    """The caption of `eigenvalue_flow_figure` after the shared header."""
    labels, flow = context.labels, context.flow
    replicas = flow["replicas"]
    drawn = f" (the first {MAX_FLOW_REPLICAS} drawn)" if replicas > MAX_FLOW_REPLICAS else ""
    if labels.simulated:
        run = (
            f"{replicas} replicas{drawn} of the sweep point with the smallest "
            f"{labels.ratio_name} (named in the title), rerun with the same seeds and "
            f"{flow['snapshots']} evenly spaced snapshots."
        )
    else:
        run = (
            f"The first {replicas} replicas{drawn} of the point with the smallest "
            f"{labels.ratio_name} (named in the title), at the snapshots of the files."
        )
    return sentences(
        "Learning as Dyson Brownian motion.",
        run,
        f"Left: every analysed level ({context.levels}) against the {labels.step} on a "
        "logarithmic axis, one thin line per level, one colour per replica; dotted: the targets.",
        "The levels leave their small initial values, approach their targets and then fluctuate "
        "about them; degenerate levels do not merge but keep apart (level repulsion).",
        (
            "Shaded: the late window (the second half of the run; burn_in: auto chooses the "
            "statistics' first step per point)"
            if context.burn_in == "auto"
            else f"Shaded: the late window (steps ≥ {context.burn_in}, or the second half of "
            f"the run if that leaves fewer than {LATE_SNAPSHOTS} snapshots)"
        )
        + ", drawn on a linear axis on the right.",
        "Top right: the levels of one degenerate cluster (of the pairs, the one closest to its "
        "target in units of its spread) in the first replica, the gap between them shaded, the "
        "target dotted and the ensemble's fitted centre x0 dashed.",
        "Bottom right: the neighbour spacings S of that cluster in every replica, with the "
        "ensemble's mean spacing ⟨S⟩ at this point dashed: they fluctuate about ⟨S⟩ and seldom "
        "come near zero.",
    )


@figure("eigenvalue_flow", inputs=("scaling", "flow"), caption=eigenvalue_flow_caption)
def eigenvalue_flow_figure(data: FigureData) -> Figure:
    """Learning as Dyson Brownian motion: the levels of a few replicas against the step.

    Left: every analysed level (`flow_levels`) of every replica of the flow
    run (at most `MAX_FLOW_REPLICAS`), one thin line per level, coloured by
    replica, on a logarithmic step axis (`Labels.step`); the targets dotted;
    the late-time window (steps ≥ ``burn_in``, or the second half of the run)
    shaded. Right, on a linear step axis over the late window: top, the
    levels of one degenerate cluster (`flow_pair`) of the first replica,
    which fluctuate about the target without crossing, with the ensemble's
    fitted centre; bottom, that cluster's neighbour spacings for every
    replica, with the point's measured ⟨S⟩ dashed: they stay away from zero
    (level repulsion). Without a cluster of ≥ 2 levels only the left panel
    is drawn.
    """
    scaling, labels, column = data.scaling, data.labels, data.column
    snapshots, weights = data.flow
    levels = flow_levels(snapshots, weights, column)
    point = snapshots.iloc[0].to_dict() if len(snapshots) else {}
    title = f"the {LEVEL_LABELS[column]} during {labels.process}" + (
        f", {point_label(point)}" if point else ""
    )
    if levels.empty:
        return empty_figure(scaling, title, "no surviving replica in the flow run")
    level_columns = [name for name in levels.columns if name.startswith("level_")]
    clusters = cluster_table(scaling)
    targets = clusters["target"]
    clusters = cluster_members(clusters, len(level_columns))
    replicas = sorted(levels["replica"].unique())[:MAX_FLOW_REPLICAS]
    start = late_window(levels["step"].to_numpy(), data.burn_in)
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
    flow.set_xlabel(f"{labels.step} (log scale)")
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
        f"late times: {cluster['label']}, replica {replicas[0]}",
        fontsize="medium",
    )
    pair.set_ylabel(LEVEL_LABELS[column].split(" of ")[0])
    draw_spacings(
        spacing,
        levels[late],
        replicas,
        cluster,
        measured["mean_spacing"].iloc[0] if len(measured) else np.nan,
    )
    spacing.set_xlabel(labels.step)
    pair.sharex(spacing)
    pair.tick_params(labelbottom=False)
    spacing.set_xlim(start, levels["step"].max())
    spacing.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    return figure
