"""Figures of agreement: ⟨S⟩ against the model's theory, and the centres against the targets.

`residuals_figure` draws the standardised residuals of the ok (point, cluster)
rows with a theory; `centres_figure` every cluster's fitted centre. The theory
columns (``residual``, ...) are NaN for a model without a theory and at points
where the model has no stationary state (SGD unstable).
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .layout import (
    MARKERS,
    NO_OK_POINT,
    cluster_colour,
    empty_figure,
    mark_empty,
    ratio_axis_label,
    set_figure_title,
)
from .registry import CaptionContext, FigureData, figure, sentences
from .selection import cluster_table, finite, pair_statistics
from .series import (
    draw_theory,
    ratio_axis,
    ratio_colours,
    ratio_legend_handles,
    ratio_styles,
)

RESIDUAL_SETS = {
    "residual": ("against the exact stationary theory", True),
    "residual_continuum": ("against the continuum limit", False),
}
"""Residual column → (what it is measured against, filled marker)."""


# --- Residuals against the theory -------------------------------------------------------


def residual_summary(values: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard deviation (``ddof = 1``, NaN below two) and count of the finite values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan, 0
    spread = float(values.std(ddof=1)) if values.size > 1 else np.nan
    return float(values.mean()), spread, int(values.size)


def residuals_caption(context: CaptionContext) -> str:
    """The caption of `residuals_figure` after the shared header."""
    labels = context.labels
    if not labels.theory_note:
        return (
            f"There is no prediction of ⟨S⟩ to compare with ({labels.no_theory_reason}), so the "
            "figure is left empty."
        )
    if labels.discrete_time:
        continuum = ", which drops the O(α) and multiplicative mini-batch terms"
        verdict = (
            ", while the continuum's residuals trend with α: the O(α) discrete-time correction "
            "it drops. Points where SGD is not mean-square stable have no prediction and are "
            "not drawn."
        )
    else:
        continuum = ", which here is the same law, so the two sets agree up to Monte-Carlo noise"
        verdict = (
            "; a departure would be a bias of the pipeline's statistics or of the simulated "
            "update itself."
        )
    return sentences(
        "Standardised residuals (⟨S⟩ − prediction)/error of the mean neighbour spacing, the "
        "jackknife error of ⟨S⟩ and the Monte-Carlo error of the prediction added in "
        "quadrature, for every cluster of two or more levels at the points without diverged "
        f"replicas, against {labels.ratio} on a logarithmic axis.",
        "Filled markers: against the exact stationary theory (the crosses of the scaling "
        f"figure); hollow markers: against its continuum limit{continuum}.",
        ratio_colours(context),
        "Grey bands: ±1 and ±2. The legend gives the mean and standard deviation of each set.",
        f"If the exact theory holds, its residuals are noise, mean ≈ 0 and spread ≈ 1{verdict}",
    )


@figure("residuals", inputs=("scaling",), caption=residuals_caption)
def residuals_figure(data: FigureData) -> Figure:
    """Standardised residuals of ⟨S⟩ against the exact and the continuum theory, against the ratio.

    For every ok (point, cluster) of ≥ 2 levels: ``residual = (⟨S⟩ − theory)/error``
    against the exact stationary prediction (filled marker) and
    ``residual_continuum`` against the continuum limit (hollow marker), errors
    added in quadrature, on a logarithmic ratio axis, colour and marker as in
    the collapse (`series.ratio_styles`). Grey bands mark ±1 and ±2; the
    legend gives the mean and standard deviation of each set. If the theory
    holds, the residuals against it are noise (mean ≈ 0, spread ≈ 1), while
    those against the continuum trend with α. A model without a theory
    (`Labels.theory_note` empty) gets a figure giving its
    `Labels.no_theory_reason` and nothing else.
    """
    scaling, labels = data.scaling, data.labels
    title = "residuals of ⟨S⟩ against the exact and the continuum theory"
    if not labels.theory_note:
        return empty_figure(scaling, title, f"no theory: {labels.no_theory_reason}")
    usable = pair_statistics(scaling)
    predicted = usable[finite(usable, "residual") | finite(usable, "residual_continuum")]
    if predicted.empty:
        return empty_figure(
            scaling,
            title,
            NO_OK_POINT
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
    styles = ratio_styles(predicted, labels)
    colour_column, colours, marker_column, markers = styles
    handles = []
    for column, (against, filled) in RESIDUAL_SETS.items():
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
        mean, spread, count = residual_summary(predicted[column].to_numpy(dtype=float))
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
    values = predicted[list(RESIDUAL_SETS)].to_numpy(dtype=float)
    reach = max(3.0, 1.15 * float(np.abs(values[np.isfinite(values)]).max()))
    axes.set_ylim(-reach, reach)
    axes.set_xlabel(ratio_axis_label(labels))
    axes.set_ylabel("standardised residual (⟨S⟩ − prediction) / error")
    bands, _ = axes.get_legend_handles_labels()
    colour_handles, marker_handles = ratio_legend_handles(predicted, scaling, styles)
    key = figure.add_subplot(grid[0, 1])
    key.set_axis_off()
    key.add_artist(key.legend(handles=[*handles, *bands], fontsize="small", loc="upper left"))
    key.legend(handles=[*colour_handles, *marker_handles], fontsize="small", loc="lower left")
    return figure


# --- Centres ----------------------------------------------------------------------------


def centres_caption(context: CaptionContext) -> str:
    """The caption of `centres_figure` after the shared header."""
    labels = context.labels
    return sentences(
        "Relative offset (x0 − target)/target of each cluster's fitted centre x0 (the β = 1 "
        "Coulomb-gas centre; the mean, for a single level) from its target, with jackknife "
        f"errors δx0/target, against {labels.ratio_name}, one colour and marker per cluster, "
        "points without diverged replicas only; the solid line is centre = target.",
        "Relative offsets put clusters of different targets on one axis.",
        "Small black crosses, where the model has a theory: its predicted centres."
        if labels.theory_note
        else "",
        labels.centres_note,
    )


@figure("centres", inputs=("scaling",), caption=centres_caption)
def centres_figure(data: FigureData) -> Figure:
    """Relative offset of the fitted centre from the target against the ratio.

    ``(x0 − target)/target`` with error ``δx0/target``, x0 the β = 1
    Coulomb-gas centre of each cluster (the mean, for a single level), one
    series per cluster (colour and marker), ok points only, with the zero
    line. Relative offsets put clusters of different targets on one axis. Where the
    table has the theory's centre ``center_theory``, it is drawn as a small black
    cross (`series.draw_theory`) at each (point, cluster).
    """
    scaling = data.scaling
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
            label=cluster.label,
        )
    predicted = usable[finite(usable, "center_theory")]
    scale = np.where(predicted["target"] != 0, np.abs(predicted["target"]), 1.0)
    draw_theory(
        axes,
        predicted["ratio"],
        (predicted["center_theory"] - predicted["target"]) / scale,
        "theory",
    )
    axes.axhline(0.0, color="k", linewidth=0.8, label="centre = target")
    ratios = (usable if len(usable) else scaling)["ratio"]
    axes.set_xlim(0, 1.08 * ratios.max())
    axes.set_xlabel(ratio_axis_label(data.labels))
    axes.set_ylabel("(x0 − target) / target (dimensionless)")
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    if usable.empty:
        mark_empty(axes, NO_OK_POINT)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure
