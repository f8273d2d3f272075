"""Figures of the scaling table: the mean spacing against the scale and the ratio, the theory.

Each draws the ok (point, cluster) rows of clusters of ≥ 2 levels
(`selection.pair_statistics`), except `centres_figure`, which draws every
cluster's fitted centre. The theory columns (``mean_spacing_theory``,
``residual``, ...) are NaN for a model without a theory and at points where
the model has no stationary state (SGD unstable).
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..tables import ALL_PAIRS
from .layout import (
    MARKERS,
    NO_OK_POINT,
    cluster_colour,
    cluster_name,
    empty_figure,
    mark_empty,
    ratio_axis_label,
    readable_log_axis,
    set_figure_title,
)
from .registry import CaptionContext, FigureData, figure, sentences
from .selection import cluster_table, finite, pair_statistics, several_clusters, theory_rows
from .series import (
    continuum_slopes,
    draw_continuum,
    draw_continuum_levels,
    draw_points,
    draw_theory,
    point_legend_handles,
    ratio_axis,
    ratio_legend_handles,
    ratio_styles,
)

EXACT_THEORY = "exact stationary theory"
RESIDUAL_SETS = {
    "residual": ("against the exact stationary theory", True),
    "residual_continuum": ("against the continuum limit", False),
}
"""Residual column → (what it is measured against, filled marker)."""


def ratio_colours(context: CaptionContext) -> str:
    """The caption's key to `series.ratio_styles`: colour α or the cluster, marker |B|."""
    if "batch_size" not in context.labels.parameters:
        return "Colour: the cluster."
    return (
        r"Colour: α, or the cluster when there are several; hollow marker: \|B\|, so points of "
        rf"equal {context.labels.ratio} from different (α, \|B\|) share an abscissa."
    )


# --- Mean spacing against the scale --------------------------------------------------------


def scaling_caption(context: CaptionContext) -> str:
    """The caption of `scaling_figure` after the shared header."""
    labels = context.labels
    lower = (
        "a trend with α is the discrete-time correction, about (1 − α/2)^(−1/2)"
        if labels.discrete_time
        else "without a time-step correction it should be flat"
    )
    return sentences(
        "Mean neighbour spacing ⟨S⟩ of the degenerate clusters (jackknife errors) against the "
        f"scaling variable {labels.scale}, one hollow marker per scan; with several clusters of "
        "two or more levels the colour is the cluster.",
        "Points with diverged replicas are excluded and listed under the figure.",
        f"Lines: weighted fits through the origin ⟨S⟩ = a · {labels.scale}, a ± da in the "
        "legend; with several pairs, thin lines per cluster and, thick and black, the fit "
        "pooling all pairs.",
        labels.continuum_note,
        labels.theory_note,
        f"Lower panel: ⟨S⟩/{labels.scale} per point"
        + (", the crosses likewise," if labels.theory_note else "")
        + f" with the pooled (or single) fit's band and the other fits as lines; {lower}.",
    )


@figure("scaling", inputs=("scaling", "scaling_fit"), caption=scaling_caption)
def scaling_figure(data: FigureData) -> Figure:
    """Mean spacing ⟨S⟩ against ``scale = sqrt(ratio × A)``, and ⟨S⟩/scale below it.

    Top: ⟨S⟩ ± its jackknife error for the ok points of every cluster of ≥ 2
    levels, hollow marker per scan (and colour per cluster when there are
    several); the weighted lines through the origin ``⟨S⟩ = a · scale`` of
    the scaling fit: the fit through all pairs (``cluster = ALL_PAIRS``) thick
    and black, the per-cluster fits thin in the cluster's colour (black when
    there is one cluster); the continuum prediction ``⟨S⟩ = c · scale``
    dashed (`series.continuum_slopes`; none without one); and, where the
    table has it, the exact stationary prediction ``mean_spacing_theory`` of
    each (point, cluster) as a small black cross (`series.draw_theory`),
    which carries the O(α) departure from the straight line. Bottom:
    ``⟨S⟩/scale`` per point with the pooled (or single) fit's ``a ± da`` as
    a band, the other fits as thin lines, ``c`` dashed, and the theory's
    ``mean_spacing_theory/scale`` as crosses. The x axis names the scale as
    the model does (`Labels.scale`).
    """
    scaling = data.scaling
    usable = pair_statistics(scaling)
    fits = data.scaling_fit[data.scaling_fit["quantity"] == "mean_spacing"]
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
    pooled = fits[fits["cluster"] == ALL_PAIRS]
    single = fits[fits["cluster"] != ALL_PAIRS]
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
    draw_continuum_levels(bottom, slopes, 1)
    theory = theory_rows(usable)
    draw_theory(top, theory["scale"], theory["mean_spacing_theory"], EXACT_THEORY)
    draw_theory(
        bottom, theory["scale"], theory["mean_spacing_theory"] / theory["scale"], f"_{EXACT_THEORY}"
    )
    top.set_xlim(x[0], x[-1])
    top.set_ylim(bottom=0)
    top.set_ylabel("mean spacing ⟨S⟩ (dimensionless)")
    bottom.set_ylabel("⟨S⟩ / scale (dimensionless)")
    bottom.set_xlabel(f"scale {data.labels.scale} (dimensionless)")
    if by_cluster and len(usable):
        lines = [line for line in top.get_lines() if not line.get_label().startswith("_")]
        top.add_artist(top.legend(handles=lines, fontsize="small", loc="upper left"))
        top.legend(handles=point_legend_handles(usable), fontsize="small", loc="lower right")
    else:
        top.legend(fontsize="small", loc="upper left")
    return figure


# --- Width against spacing -------------------------------------------------------------------


def sigma_vs_spacing_caption(context: CaptionContext) -> str:
    """The caption of `sigma_vs_spacing_figure` after the shared header."""
    return sentences(
        "√π σ, from the maximum-likelihood Coulomb-gas width σ (β = 1) of each pair, against "
        "its measured mean spacing ⟨S⟩, both with jackknife errors, one hollow marker per scan "
        "(colour per pair when there are several), points without diverged replicas only.",
        "Two degenerate levels in a quadratic well have a Rayleigh spacing with ⟨S⟩ = √π σ, so "
        "the points lie on the dashed diagonal if spread and spacing follow one equal-width "
        "Coulomb gas; a systematic offset means they do not.",
        "Only clusters of exactly two levels enter: for larger clusters the relation between "
        "⟨S⟩ and σ is different.",
    )


@figure("sigma_vs_spacing", inputs=("scaling",), caption=sigma_vs_spacing_caption)
def sigma_vs_spacing_figure(data: FigureData) -> Figure:
    """Width-based spacing √π σ against the measured mean spacing ⟨S⟩, with the diagonal.

    σ is the β = 1 Coulomb-gas maximum-likelihood width of a pair; for the
    two-level Coulomb gas ``⟨S⟩ = √π σ``, so the points lie on the diagonal
    ``√π σ = ⟨S⟩`` when the pair's spacing and spread agree with it. Only
    clusters of exactly two levels enter (the relation is the pair's). Both
    axes carry jackknife errors; marker per scan (colour per cluster when
    there are several pairs), ok points only.
    """
    scaling = data.scaling
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


# --- Collapse onto the ratio -------------------------------------------------------------------


def collapse_caption(context: CaptionContext) -> str:
    """The caption of `collapse_figure` after the shared header."""
    labels = context.labels
    target = ", the cluster's target" if labels.cluster_scale else ""
    comparison = (
        f", so that the O(α) departures of points of equal {labels.ratio} can be compared "
        "between measurement and prediction"
        if labels.discrete_time
        else ""
    )
    lower = (
        "the vertical spread at equal ratio measures the O(α) discrete-time departures"
        if labels.discrete_time
        else "it should be flat"
    )
    return sentences(
        f"Linear scaling rule: ⟨S⟩²/A ({labels.amplitude}{target}; errors 2⟨S⟩ δ⟨S⟩/A) against "
        f"{labels.ratio} on logarithmic axes, for every cluster of two or more levels at the "
        "points without diverged replicas.",
        ratio_colours(context),
        f"Dashed, where the model has a continuum prediction: ⟨S⟩²/A = a² {labels.ratio}, a "
        "the continuum slope of the scaling figure (a² = π for the two-level Coulomb gas of "
        "singular values); the pairs' points lie on it if the rule holds, and with or without "
        "it the points of all pairs should fall on one line through the origin.",
        labels.theory_note,
        f"Here the crosses show the predicted ⟨S⟩ as ⟨S⟩²/A, in both panels{comparison}."
        if labels.theory_note
        else "",
        f"The lower panel divides by {labels.ratio}: {lower}.",
    )


@figure("collapse", inputs=("scaling",), caption=collapse_caption)
def collapse_figure(data: FigureData) -> Figure:
    """⟨S⟩²/A against the ratio: points of equal ratio coincide under the scaling rule.

    Top (log–log): ``⟨S⟩²/A`` with error ``2⟨S⟩ δ⟨S⟩/A``, A the noise amplitude
    (``amplitude``: ε², the cluster's target x*, or 1), and the continuum line
    ``⟨S⟩²/A = c² · ratio`` (dashed; ``c² = π`` for singular values,
    `series.continuum_slopes`; none without a continuum prediction). Bottom:
    the same divided by the ratio, against ``c²`` (dashed), where O(α)
    departures from the rule show as a vertical spread of points of equal
    ratio. Colour and marker by `series.ratio_styles`; ok points only. Where
    the table has the exact stationary theory, its predicted
    ``mean_spacing_theory²/A`` (and that over the ratio) is drawn as small
    black crosses in both panels, so measured and predicted O(α) departures
    of points of equal ratio can be compared. Axes name the ratio and the
    amplitude as the model does (`Labels.ratio`, `Labels.amplitude`).
    """
    scaling, labels = data.scaling, data.labels
    usable = pair_statistics(scaling)
    figure = Figure(figsize=(6.4, 6.8), layout="constrained")
    set_figure_title(figure, scaling, f"collapse onto the ratio {labels.ratio}")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    collapsed = usable["mean_spacing"] ** 2 / usable["amplitude"]
    error = 2 * usable["mean_spacing"] * usable["mean_spacing_err"] / usable["amplitude"]
    styles = ratio_styles(usable, labels)
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
    template = f"continuum two-level Coulomb gas: {{value:.3f}} {labels.ratio}"
    draw_continuum(top, x, slopes, 2, template)
    draw_continuum_levels(bottom, slopes, 2)
    top.set_yscale("log")
    readable_log_axis(top.yaxis)
    top.set_ylabel(f"⟨S⟩² / A (dimensionless, {labels.amplitude})")
    bottom.set_ylabel(f"⟨S⟩² / (A {labels.ratio})\n(dimensionless)")
    bottom.set_xlabel(ratio_axis_label(labels))
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
        labels.centres_note,
    )


@figure("centres", inputs=("scaling",), caption=centres_caption)
def centres_figure(data: FigureData) -> Figure:
    """Relative offset of the fitted centre from the target against the ratio.

    ``(x0 − target)/target`` with error ``δx0/target``, x0 the β = 1
    Coulomb-gas centre of each cluster (the mean, for a single level), one
    series per cluster (colour and marker), ok points only, with the zero
    line. Relative offsets put clusters of different targets on one axis.
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
            label=cluster_name(cluster.levels, cluster.target),
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
