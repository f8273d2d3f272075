"""The report's landing page: per experiment, the fitted slope of ⟨S⟩ next to the theory.

`front_page` answers the study's question at a glance: a summary table with
one row per experiment (`summary_row`: the slope against the scaling variable,
the optimiser and the fitted exponents of α and |B| next to the two scaling
rules), then each experiment's scaling figure and eigenvalue-flow picture. It
is included in the report's landing page (``workflow/report/workflow.rst``).
How an experiment's model and scaling variable are named comes with the
experiment (its model's `title` and `Labels.scale`).
"""

import base64
import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..tables import ALL_PAIRS, SCALING_RULES
from .tables import MISSING, TABLE_STYLE, cluster_label, formatted, numbers_table, with_error

LANDING_STYLE = """<style>
/* The report centres its landing page vertically, cutting the top of a long page. */
div.items-center.justify-center.h-screen.overflow-auto { align-items: flex-start; }
div.prose.max-w-lg { max-width: 72rem; }
#front-page img { max-width: 48%; display: inline-block; vertical-align: top; }
</style>"""

SLOPE = "slope a of ⟨S⟩ = a · scale"
"""The summary table's column of the headline slope."""
LR_EXPONENT, BATCH_EXPONENT = "p of α^p", "q of |B|^(−q)"
"""The summary table's columns of the headline exponents of ⟨S⟩ = c α^p |B|^(−q)."""

INTRODUCTION = (
    "<p>The mean level spacing ⟨S⟩ of the degenerate clusters grows linearly with the "
    "scaling variable √(α/|B| × A): the slope <em>a</em> of the weighted line through "
    "the origin, its χ²/dof, the slope of the continuum theory (√π for a pair in a "
    "Coulomb gas, or the continuum limit of the model's stationary theory), and the "
    "agreement Σr²/n of the measured ⟨S⟩ and of the cluster centres with the exact "
    "stationary theory (≈ 1 when theory and errors are right).</p>"
    "<p>Which scaling rule holds: where the sweep varies both α and |B|, the exponents "
    "<em>p</em> and <em>q</em> of ⟨S⟩ = c α<sup>p</sup> |B|<sup>−q</sup> (weighted least "
    "squares on log ⟨S⟩, one cluster), next to the linear rule of SGD (p = q = ½: ⟨S⟩ "
    "depends on α/|B|) and the square-root rule of Adam (p = ½, q = ¼: on α/√|B|), with "
    "each experiment's optimiser. The sections per experiment hold every figure with its "
    "caption (the scaling_rules figure draws ⟨S⟩ against both variables) and the tables of "
    "fits and residuals.</p>"
)


def headline_line(scaling_fit: pd.DataFrame) -> pd.Series | None:
    """The fitted line of ⟨S⟩ that answers the study.

    The line through all pairs together (``cluster = ALL_PAIRS``) when there
    are several, else the line of the lowest cluster with a fit; ``None``
    when no point could be fitted.
    """
    lines = scaling_fit[scaling_fit["quantity"] == "mean_spacing"]
    if lines.empty:
        return None
    pooled = lines[lines["cluster"] == ALL_PAIRS]
    return (pooled if len(pooled) else lines.sort_values("cluster")).iloc[0]


def headline_exponents(scaling_exponents: pd.DataFrame) -> pd.Series | None:
    """The power-law fit of ⟨S⟩ = c α^p |B|^(−q) the front page shows.

    The fit through the most points (one ε and σ_W), the lowest cluster among
    equals; ``None`` when the sweep gave none (it does not vary both α and |B|).
    """
    if scaling_exponents.empty:
        return None
    return scaling_exponents.sort_values(["n_points", "cluster"], ascending=[False, True]).iloc[0]


def rule_values(rule: str) -> str:
    """``(0.5, 0.25)``: the (p, q) of a scaling rule (`tables.SCALING_RULES`)."""
    p, q = SCALING_RULES[rule]
    return f"({p:g}, {q:g})"


def exponent_columns(scaling_exponents: pd.DataFrame) -> dict:
    """The summary row's exponents: p ± error and q ± error of `headline_exponents`, the fit
    they come from (cluster, points, χ²/dof), and each rule's (p, q); ``–`` where not fitted."""
    fit = headline_exponents(scaling_exponents)
    columns = {LR_EXPONENT: MISSING, BATCH_EXPONENT: MISSING, "power-law fit": MISSING}
    if fit is not None:
        columns = {
            LR_EXPONENT: with_error(fit["lr_exponent"], fit["lr_exponent_err"]),
            BATCH_EXPONENT: with_error(fit["batch_exponent"], fit["batch_exponent_err"]),
            "power-law fit": f"cluster {int(fit['cluster'])}, {int(fit['n_points'])} points, "
            f"χ²/dof {formatted(fit['chi2_dof'], '.2f')}",
        }
    return columns | {f"{rule} rule (p, q)": rule_values(rule) for rule in SCALING_RULES}


def theory_agreement(scaling: pd.DataFrame, column: str = "residual") -> tuple[float, int]:
    """``(Σ r² / n, n)`` of the standardised residuals ``r`` against the exact theory.

    ``column`` ``residual`` (of ⟨S⟩) or ``residual_center`` (of the centres), over the
    ok rows that have a prediction; ``(nan, 0)`` without any. For a correct theory
    and correct errors ``Σ r²/n`` is about 1 (± sqrt(2/n)).
    """
    if column not in scaling:
        return np.nan, 0
    residuals = scaling.loc[scaling["status"] == "ok", column].dropna()
    if residuals.empty:
        return np.nan, 0
    return float(np.mean(residuals**2)), len(residuals)


def summary_row(experiment: dict) -> dict:
    """The front page's row of one experiment: its slope next to the theory, its exponents
    next to the scaling rules.

    ``experiment`` as `front_page` takes it. The headline line
    (`headline_line`) gives the slope ± error, χ²/dof, points and its
    ``continuum_slope`` (``–`` where none is known); `theory_agreement` the
    exact theory's Σr²/n of ⟨S⟩ and of the centres; `exponent_columns` the fitted p and q with the
    rules' values; the points excluded because replicas diverged are
    counted, those excluded as not stationary (status ``non_stationary``) named.
    """
    scaling = experiment["scaling"]
    diverged = scaling["status"].isin(["diverged", "all_diverged"])
    non_stationary = sorted(scaling.loc[scaling["status"] == "non_stationary", "point"].unique())
    line = headline_line(experiment["scaling_fit"])
    chi2, predicted = theory_agreement(scaling)
    centres_chi2, centres = theory_agreement(scaling, "residual_center")
    row = {
        "experiment": experiment["name"],
        "model": experiment["title"],
        "optimiser": experiment["optimizer"] or MISSING,
        "scaling variable": experiment["scale"],
        SLOPE: "no fit",
        "χ²/dof": MISSING,
        "points": 0,
        "continuum theory": MISSING,
        "exact theory Σr²/n": f"{chi2:.2f} ({predicted} points)" if predicted else MISSING,
        "centres Σr²/n": f"{centres_chi2:.2f} ({centres} points)" if centres else MISSING,
        **exponent_columns(experiment["scaling_exponents"]),
        "excluded (diverged)": scaling.loc[diverged, "point"].nunique(),
        "excluded (non-stationary)": ", ".join(non_stationary) or MISSING,
    }
    if line is not None:
        pooled = f" ({cluster_label(ALL_PAIRS)})" if line["cluster"] == ALL_PAIRS else ""
        row.update(
            {
                SLOPE: with_error(line["slope"], line["slope_err"]) + pooled,
                "χ²/dof": f"{line['chi2_dof']:.2f}",
                "points": int(line["n_points"]),
                "continuum theory": formatted(line["continuum_slope"], ".3f"),
            }
        )
    return row


def image(png: bytes, alt: str) -> str:
    """An ``<img>`` holding ``png`` inline (the report is one self-contained file)."""
    encoded = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def unfinished_notice(unfinished: Mapping[str, Sequence[str]]) -> str:
    """A warning naming the experiments left out of a partial report, with their failed logs.

    ``unfinished`` maps each experiment with a job that did not finish to the
    logs of its failed jobs (none: it waited for a failed job of the study).
    """
    if not unfinished:
        return ""
    items = []
    for name, logs in unfinished.items():
        where = (
            "failed jobs' logs: " + ", ".join(f"<code>{html.escape(log)}</code>" for log in logs)
            if logs
            else "waiting for a failed job"
        )
        items.append(f"<li><strong>{html.escape(name)}</strong>: {where}</li>")
    return (
        '<div id="unfinished"><h3>Not in this report: experiments that did not finish</h3>'
        "<p>The run stopped with failed jobs; this report holds the experiments that "
        "finished. Fix the cause (see the logs) and run Snakemake again to add these:</p>"
        f"<ul>{''.join(items)}</ul></div>"
    )


def front_page(
    experiments: list[dict], unfinished: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The landing page's HTML: the summary table, then each experiment's two figures.

    ``experiments`` holds per experiment its ``name``, its model's ``title``,
    its ``optimizer``'s name (None without one), the ``scale`` label of its scaling variable
    (`Labels.scale`), its ``scaling``, ``scaling_fit`` and
    ``scaling_exponents`` tables, and the PNG bytes of its
    ``scaling_png`` and ``flow_png`` figures, and optionally a ``theory_remark`` printed
    under its heading (`Model.theory_remark`). ``unfinished`` names the
    experiments left out of a partial report (`unfinished_notice`).
    """
    rows = [summary_row(experiment) for experiment in experiments]
    parts = [
        LANDING_STYLE,
        TABLE_STYLE,
        '<div id="front-page">',
        "<h2>The answer at a glance</h2>",
        unfinished_notice(unfinished or {}),
        INTRODUCTION,
        numbers_table(pd.DataFrame(rows)),
    ]
    for experiment, row in zip(experiments, rows, strict=True):
        name = html.escape(experiment["name"])
        parts += [
            f'<h3 id="front-{name}">{name}: a = {html.escape(row[SLOPE])}'
            f" ({html.escape(row['model'])})</h3>",
            f"<p>{html.escape(experiment['theory_remark'])}</p>"
            if experiment.get("theory_remark")
            else "",
            image(experiment["scaling_png"], f"{experiment['name']}: ⟨S⟩ against the scale"),
            image(experiment["flow_png"], f"{experiment['name']}: eigenvalue flow"),
        ]
    parts.append("</div>")
    return "\n".join(parts)
