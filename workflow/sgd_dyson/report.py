"""The HTML report's front page and tables, as strings (Snakemake renders them).

`front_page` answers the study's question at a glance: per experiment, the
fitted slope of ⟨S⟩ against the scaling variable next to the theory, with the
scaling figure and the eigenvalue-flow picture; it is included in the report's
landing page (``workflow/report/workflow.rst``). `table_page` turns a table
into a small standalone HTML page, which the report shows as a table (it
offers other text files only as downloads).
"""

import base64
import html

import numpy as np
import pandas as pd

from .analysis import ALL_PAIRS
from .plotting import model_of, scale_label

MODEL_NAMES = {
    "teacher_student": "teacher–student SGD",
    "gaussian_rbm": "Gaussian RBM (persistent contrastive divergence)",
    "dyson": "Dyson null model",
    "external": "external weights",
}

TABLE_STYLE = """<style>
table.numbers { border-collapse: collapse; font-size: 0.85rem; }
table.numbers th, table.numbers td {
  border-bottom: 1px solid #ddd; padding: 0.15rem 0.6rem; text-align: right; }
</style>"""

LANDING_STYLE = """<style>
/* The report centres its landing page vertically, cutting the top of a long page. */
div.items-center.justify-center.h-screen.overflow-auto { align-items: flex-start; }
div.prose.max-w-lg { max-width: 72rem; }
#front-page img { max-width: 48%; display: inline-block; vertical-align: top; }
</style>"""


def with_error(value: float, error: float, digits: int = 2) -> str:
    """``1.873 ± 0.012``: the error to ``digits`` significant digits, the value alike; NaN ``–``."""
    if not np.isfinite(value):
        return "–"
    if not np.isfinite(error) or error <= 0:
        return f"{value:.4g}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(error))))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"


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


def theory_agreement(scaling: pd.DataFrame) -> tuple[float, int]:
    """``(Σ r² / n, n)`` of the standardised residuals ``r`` of ⟨S⟩ against the exact theory.

    Over the ok rows that have a prediction; ``(nan, 0)`` without any. For a
    correct theory and correct errors ``Σ r²/n`` is about 1 (± sqrt(2/n)).
    """
    residuals = scaling.loc[scaling["status"] == "ok", "residual"].dropna()
    if residuals.empty:
        return np.nan, 0
    return float(np.mean(residuals**2)), len(residuals)


def summary_row(name: str, model: str, scaling: pd.DataFrame, scaling_fit: pd.DataFrame) -> dict:
    """The front page's row of one experiment: its slope next to the theory."""
    line = headline_line(scaling_fit)
    chi2, predicted = theory_agreement(scaling)
    excluded = scaling.loc[scaling["status"] != "ok", "point"].nunique()
    row = {
        "experiment": name,
        "model": MODEL_NAMES[model],
        "scaling variable": scale_label(model_of(scaling)) if len(scaling) else "–",
        "slope a of ⟨S⟩ = a · scale": "no fit",
        "χ²/dof": "–",
        "points": 0,
        "continuum theory": "–",
        "exact theory Σr²/n": f"{chi2:.2f} ({predicted} points)" if predicted else "–",
        "excluded (diverged)": excluded,
    }
    if line is not None:
        row.update(
            {
                "slope a of ⟨S⟩ = a · scale": with_error(line["slope"], line["slope_err"])
                + (" (all pairs)" if line["cluster"] == ALL_PAIRS else ""),
                "χ²/dof": f"{line['chi2_dof']:.2f}",
                "points": int(line["n_points"]),
                "continuum theory": (
                    f"{line['continuum_slope']:.3f}"
                    if np.isfinite(line["continuum_slope"])
                    else "–"
                ),
            }
        )
    return row


def image(png: bytes, alt: str) -> str:
    """An ``<img>`` holding ``png`` inline (the report is one self-contained file)."""
    encoded = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def front_page(experiments: list[dict]) -> str:
    """The landing page's HTML: the summary table, then each experiment's two figures.

    ``experiments`` holds per experiment ``name``, ``model``, its ``scaling``
    and ``scaling_fit`` tables, and the PNG bytes of its ``scaling_png`` and
    ``flow_png`` figures.
    """
    rows = [summary_row(e["name"], e["model"], e["scaling"], e["scaling_fit"]) for e in experiments]
    parts = [
        LANDING_STYLE,
        TABLE_STYLE,
        '<div id="front-page">',
        "<h2>The answer at a glance</h2>",
        "<p>The mean level spacing ⟨S⟩ of the degenerate clusters grows linearly with the "
        "scaling variable √(α/|B| × A): the slope <em>a</em> of the weighted line through "
        "the origin, its χ²/dof, the continuum Coulomb-gas slope (√π for a pair), and the "
        "agreement Σr²/n of the measured ⟨S⟩ with the exact stationary theory "
        "(≈ 1 when theory and errors are right). The sections per experiment hold every "
        "figure with its caption and the tables of fits and residuals.</p>",
        pd.DataFrame(rows).to_html(index=False, border=0, classes="numbers", escape=True),
    ]
    for experiment, row in zip(experiments, rows, strict=True):
        name = html.escape(experiment["name"])
        parts += [
            f'<h3 id="front-{name}">{name}: a = {html.escape(row["slope a of ⟨S⟩ = a · scale"])}'
            f" ({html.escape(row['model'])})</h3>",
            image(experiment["scaling_png"], f"{experiment['name']}: ⟨S⟩ against the scale"),
            image(experiment["flow_png"], f"{experiment['name']}: eigenvalue flow"),
        ]
    parts.append("</div>")
    return "\n".join(parts)


FIT_COLUMNS = {
    "point": "point",
    "cluster": "cluster",
    "levels": "levels",
    "target": "target",
    "scale": "scale",
    "mean_spacing": "⟨S⟩",
    "sigma": "σ",
    "center": "centre x0",
    "beta": "surmise β",
    "surmise_pvalue": "surmise p",
    "best_density": "best density",
    "status": "status",
}
"""Columns of the scaling table shown in the report's fits table, with their headers."""


def fits_display(scaling: pd.DataFrame, scaling_fit: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """The report's tables of an experiment: its fitted lines, and every point's cluster fits."""
    lines = pd.DataFrame(
        {
            "quantity": scaling_fit["quantity"].map(
                {"mean_spacing": "⟨S⟩", "sqrt_pi_sigma": "√π σ"}
            ),
            "cluster": scaling_fit["cluster"].map(
                lambda c: "all pairs" if c == ALL_PAIRS else str(c)
            ),
            "slope a": [
                with_error(v, e)
                for v, e in zip(scaling_fit["slope"], scaling_fit["slope_err"], strict=True)
            ],
            "χ²/dof": scaling_fit["chi2_dof"].map("{:.2f}".format),
            "points": scaling_fit["n_points"],
            "continuum": scaling_fit["continuum_slope"].map(
                lambda v: f"{v:.3f}" if np.isfinite(v) else "–"
            ),
        }
    )
    points = pd.DataFrame(index=scaling.index)
    for column, header in FIT_COLUMNS.items():
        if f"{column}_err" in scaling:
            points[header] = [
                with_error(v, e)
                for v, e in zip(scaling[column], scaling[f"{column}_err"], strict=True)
            ]
        elif scaling[column].dtype.kind == "f":
            points[header] = scaling[column].map(lambda v: f"{v:.4g}" if np.isfinite(v) else "–")
        else:
            points[header] = scaling[column]
    return lines, points.reset_index(drop=True)


def numbers_display(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns written to 4 significant digits."""
    shown = frame.copy()
    for column in shown.columns[shown.dtypes.map(lambda kind: kind.kind == "f")]:
        shown[column] = shown[column].map(lambda v: f"{v:.4g}" if np.isfinite(v) else "–")
    return shown


def table_page(title: str, tables: dict[str, pd.DataFrame], note: str = "") -> str:
    """A standalone HTML page of ``tables`` (heading → table) under ``title``."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        TABLE_STYLE,
        "<style>body { font-family: sans-serif; margin: 1rem; }</style>",
        "</head><body>",
        f"<h2>{html.escape(title)}</h2>",
    ]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    for heading, frame in tables.items():
        parts.append(f"<h3>{html.escape(heading)}</h3>")
        if frame.empty:
            parts.append("<p>none</p>")
        else:
            parts.append(frame.to_html(index=False, border=0, classes="numbers", na_rep="–"))
    parts.append("</body></html>")
    return "\n".join(parts)
