"""Figures of the scaling table: the mean spacing against the scale, the ratio and α/√|B|.

Each draws the ok (point, cluster) rows of clusters of ≥ 2 levels
(`selection.pair_statistics`). The theory columns (``mean_spacing_theory``,
``residual``, ...) are NaN for a model without a theory and at points where
the model has no stationary state (SGD unstable).
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..report.tables import with_error
from ..tables import ALL_PAIRS, SCALING_RULES
from .layout import (
    MARKERS,
    POINT_SYMBOLS,
    cluster_colour,
    empty_figure,
    ratio_axis_label,
    readable_log_axis,
    set_figure_title,
)
from .registry import CaptionContext, FigureData, figure, sentences
from .selection import (
    cluster_table,
    pair_statistics,
    power_law_points,
    several_clusters,
    theory_rows,
)
from .series import (
    batch_handles,
    continuum_slopes,
    draw_continuum,
    draw_continuum_levels,
    draw_points,
    draw_theory,
    point_legend_handles,
    ratio_axis,
    ratio_colours,
    ratio_legend_handles,
    ratio_styles,
)

EXACT_THEORY = "exact stationary theory"
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
                clusters.loc[fit["cluster"], "label"]
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


# --- Which scaling rule holds ------------------------------------------------------------------

RULE_PANELS = (("linear", "α/|B|", 1.0), ("square-root", "α/√|B|", 0.5))
"""Per panel: the scaling rule, the variable α/|B|^power of which it makes ⟨S⟩ a function
alone, and that power of |B|."""
RULES_TITLE = "which scaling rule holds: ⟨S⟩ against α/|B| and α/√|B|"


def exponents_label(fit: pd.Series) -> str:
    """``p = 0.487 ± 0.006, q = 0.322 ± 0.005, χ²/dof 0.87`` of one power-law fit."""
    return (
        f"p = {with_error(fit['lr_exponent'], fit['lr_exponent_err'])}, "
        f"q = {with_error(fit['batch_exponent'], fit['batch_exponent_err'])}, "
        f"χ²/dof {fit['chi2_dof']:.2f}"
    )


def fit_names(exponents: pd.DataFrame, scaling: pd.DataFrame) -> dict[int, str]:
    """Each fit's name: its cluster (`selection.cluster_table`), and its ε or σ_W where they
    differ between the fits."""
    clusters = cluster_table(scaling).set_index("cluster")["label"]
    names = {}
    for index, fit in exponents.iterrows():
        held = [
            f"{POINT_SYMBOLS[column]} = {fit[column]:g}"
            for column in ("noise", "init_width")
            if pd.notna(fit[column]) and exponents[column].nunique() > 1
        ]
        names[index] = ", ".join([clusters[fit["cluster"]], *held])
    return names


def scaling_rules_caption(context: CaptionContext) -> str:
    """The caption of `scaling_rules_figure` after the shared header."""
    return sentences(
        "Which scaling rule holds: the mean neighbour spacing ⟨S⟩ (jackknife errors) of every "
        r"cluster of two or more levels against α/\|B\| (left) and against α/√\|B\| (right), "
        r"logarithmic axes, hollow marker per \|B\|, colour per α (per fit when there are "
        "several clusters or noise levels).",
        r"Under the linear scaling rule of SGD ⟨S⟩ depends on α/\|B\| alone, so points of equal "
        r"α/\|B\| from different (α, \|B\|) coincide in the left panel; under the square-root "
        r"rule of adaptive optimisers such as Adam (Malladi et al. 2022) they coincide in the "
        "right one. The dotted line has slope ½: both rules have ⟨S⟩ ∝ (variable)^½.",
        r"The legend gives the exponents of ⟨S⟩ = c α^p \|B\|^(−q), fitted by weighted least "
        "squares on log ⟨S⟩ per cluster (errors scaled by √(χ²/dof) when that exceeds 1): the "
        "linear rule is p = q = ½, the square-root rule p = ½, q = ¼.",
        "Only the fitted points are drawn: status ok, at one noise level ε and initial width "
        "σ_W, in groups with two or more learning rates, two or more batch sizes and more "
        r"than three points; a sweep that does not vary both α and \|B\| has no fit, and the "
        "figure says so.",
    )


@figure("scaling_rules", inputs=("scaling", "scaling_exponents"), caption=scaling_rules_caption)
def scaling_rules_figure(data: FigureData) -> Figure:
    """⟨S⟩ against α/|B| (left) and α/√|B| (right): the panel where points coincide is the rule.

    The points of each power-law fit of the ``scaling_exponents`` table
    (`selection.power_law_points`: ok, clusters of ≥ 2 levels, one ε and σ_W)
    with their jackknife errors, log–log, hollow marker per |B|; colour per α
    with one fit, per fit (its cluster, and ε or σ_W where they differ)
    otherwise. Under the linear rule (p = q = ½, `tables.SCALING_RULES`)
    points of equal α/|B| coincide on the left, under the square-root rule
    (p = ½, q = ¼) points of equal α/√|B| on the right; a dotted guide of
    slope ½ runs through the points' geometric centre in each panel. The
    fitted p and q (`exponents_label`) are in the legend. A sweep without a
    fit gets a titled figure saying so.
    """
    scaling, exponents = data.scaling, data.scaling_exponents
    if exponents.empty:
        return empty_figure(
            scaling,
            RULES_TITLE,
            "no power law fitted: no cluster's ok points at one ε and σ_W vary both α and |B| "
            "(two or more of each, more than three points)",
        )
    points = power_law_points(scaling, exponents).reset_index(drop=True)
    by_fit = len(exponents) > 1
    colour_column = "fit" if by_fit else "learning_rate"
    colours = {
        key: f"C{index % 10}" for index, key in enumerate(sorted(points[colour_column].unique()))
    }
    batches = sorted(points["batch_size"].unique())
    markers = {batch: MARKERS[index % len(MARKERS)] for index, batch in enumerate(batches)}
    figure = Figure(figsize=(11.0, 5.4), layout="constrained")
    set_figure_title(figure, scaling, RULES_TITLE)
    panels = figure.subplots(1, 2, sharey=True)
    spacing = points["mean_spacing"].to_numpy(dtype=float)
    for axes, (rule, variable, power) in zip(panels, RULE_PANELS, strict=True):
        x = (
            points["learning_rate"].to_numpy(dtype=float)
            / points["batch_size"].to_numpy(dtype=float) ** power
        )
        for (colour, batch), rows in points.groupby([colour_column, "batch_size"]):
            axes.errorbar(
                x[rows.index],
                rows["mean_spacing"],
                yerr=rows["mean_spacing_err"],
                linestyle="none",
                marker=markers[batch],
                color=colours[colour],
                markerfacecolor="none",
                markersize=7,
                capsize=2,
            )
        guide = np.geomspace(x.min(), x.max(), 2)
        centre = np.exp(np.mean(np.log(spacing)) - 0.5 * np.mean(np.log(x)))
        axes.plot(guide, centre * np.sqrt(guide), ":", color="0.4", label="slope ½")
        axes.set_xscale("log")
        axes.set_yscale("log")
        readable_log_axis(axes.xaxis)
        readable_log_axis(axes.yaxis)
        axes.set_xlabel(f"{variable} (dimensionless)")
        p, q = SCALING_RULES[rule]
        axes.set_title(
            f"{rule} rule (p = {p:g}, q = {q:g}): equal {variable} coincide", fontsize="medium"
        )
    panels[0].set_ylabel("mean spacing ⟨S⟩ (dimensionless)")
    if by_fit:
        names = fit_names(exponents, scaling)
        labels = {key: f"{names[key]}: {exponents_label(exponents.loc[key])}" for key in colours}
    else:
        labels = {rate: f"α = {rate:g}" for rate in colours}
    colour_handles = [
        Line2D([], [], linestyle="none", marker="o", color=colour, label=labels[key])
        for key, colour in colours.items()
    ]
    if not by_fit:
        label = f"fit: {exponents_label(exponents.iloc[0])}"
        colour_handles.append(Line2D([], [], linestyle="none", label=label))
    marker_handles = batch_handles({batch: markers[batch] for batch in batches})
    guide_handles, _ = panels[0].get_legend_handles_labels()
    panels[0].legend(handles=[*colour_handles, *guide_handles], fontsize="small", loc="upper left")
    panels[1].legend(handles=marker_handles, fontsize="small", loc="lower right")
    return figure
