"""Numbers written for reading, and the report's standalone table pages.

`with_error` and `formatted` write one number; `fits_display` and
`numbers_display` turn the scaling stage's tables into columns of text;
`table_page` puts such tables on a small HTML page of their own, which the
report shows as a table (``report(...)`` outputs of the scaling rule).
"""

import html

import numpy as np
import pandas as pd

from ..tables import ALL_PAIRS

TABLE_STYLE = """<style>
table.numbers { border-collapse: collapse; font-size: 0.85rem; }
table.numbers th, table.numbers td {
  border-bottom: 1px solid #ddd; padding: 0.15rem 0.6rem; text-align: right; }
</style>"""
"""The look of every table of numbers (class ``numbers``), on the front page and table pages."""

MISSING = "–"
"""How a number that is not there (NaN, no fit) is written."""


def with_error(value: float, error: float, digits: int = 2) -> str:
    """``1.873 ± 0.012``: the error to ``digits`` significant digits, the value alike; NaN ``–``.

    Without a usable error (NaN or ≤ 0) the value alone, to 4 significant digits.
    """
    if not np.isfinite(value):
        return MISSING
    if not np.isfinite(error) or error <= 0:
        return f"{value:.4g}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(error))))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"


def formatted(value: float, spec: str = ".4g") -> str:
    """``value`` in the format ``spec`` (4 significant digits by default); NaN or ±inf ``–``."""
    return format(value, spec) if np.isfinite(value) else MISSING


def cluster_label(cluster: int) -> str:
    """A scaling fit's cluster as the report names it: its index, or ``all pairs``."""
    return "all pairs" if cluster == ALL_PAIRS else str(cluster)


def numbers_table(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table of class ``numbers`` (`TABLE_STYLE`), no index, NaN ``–``."""
    return frame.to_html(index=False, border=0, classes="numbers", na_rep=MISSING)


FIT_COLUMNS = {
    "point": "point",
    "layer": "layer",
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

QUANTITY_NAMES = {"mean_spacing": "⟨S⟩", "sqrt_pi_sigma": "√π σ"}
"""The fitted quantities of the scaling_fit table, as the report names them."""


def fits_display(
    scaling: pd.DataFrame, scaling_fit: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's two tables of an experiment, as text: its fitted lines, and every point's fits.

    The lines (``scaling_fit``): quantity, cluster, slope ± error, χ²/dof,
    points used and continuum slope. The points (``scaling``, the columns of
    `FIT_COLUMNS` under their headers, ``layer`` only when there are several):
    a column with an ``_err`` partner as value ± error (`with_error`), other
    float columns to 4 significant digits.
    """
    lines = pd.DataFrame(
        {
            "quantity": scaling_fit["quantity"].map(QUANTITY_NAMES),
            "cluster": scaling_fit["cluster"].map(cluster_label),
            "slope a": [
                with_error(value, error)
                for value, error in zip(scaling_fit["slope"], scaling_fit["slope_err"], strict=True)
            ],
            "χ²/dof": scaling_fit["chi2_dof"].map("{:.2f}".format),
            "points": scaling_fit["n_points"],
            "continuum": scaling_fit["continuum_slope"].map(lambda v: formatted(v, ".3f")),
        }
    )
    one_matrix = scaling["layer"].nunique() <= 1  # the layer column only where it tells apart
    headers = {column: header for column, header in FIT_COLUMNS.items() if column != "layer"}
    return lines, columns_display(scaling, headers if one_matrix else FIT_COLUMNS)


def columns_display(frame: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """The columns of ``frame`` that ``headers`` names, under their headers, as text.

    A column with an ``_err`` partner is value ± error (`with_error`), other float
    columns have 4 significant digits (`formatted`), the rest are as they are.
    """
    shown = pd.DataFrame(index=frame.index)
    for column, header in headers.items():
        if f"{column}_err" in frame:
            shown[header] = [
                with_error(value, error)
                for value, error in zip(frame[column], frame[f"{column}_err"], strict=True)
            ]
        elif frame[column].dtype.kind == "f":
            shown[header] = frame[column].map(formatted)
        else:
            shown[header] = frame[column]
    return shown.reset_index(drop=True)


WIDE_LIMIT_COLUMNS = {
    "point": "point",
    "layer": "layer",
    "cluster": "cluster",
    "levels": "n",
    "rows": "rows",
    "cols": "cols",
    "initial_ks": "KS to MP (step 0)",
    "initial_mean": "mean level (step 0)",
    "initial_mean_exact": "exact",
    "semicircle_ks": "KS to semicircle",
    "radius": "R from σ",
    "spacing_ratio": "⟨r⟩",
    "spacing_ratio_goe": "⟨r⟩ GOE, same n",
    "status": "status",
}
"""Columns of the wide_limit table shown in the report, with their headers."""


def wide_limit_display(wide: pd.DataFrame) -> pd.DataFrame:
    """The report's wide-limit table (`stages.wide_limit.table`) as text (`columns_display`)."""
    return columns_display(wide, WIDE_LIMIT_COLUMNS)


def numbers_display(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns written to 4 significant digits (NaN ``–``)."""
    shown = frame.copy()
    for column in shown.columns[shown.dtypes.map(lambda dtype: dtype.kind == "f")]:
        shown[column] = shown[column].map(formatted)
    return shown


def table_page(title: str, tables: dict[str, pd.DataFrame], note: str = "") -> str:
    """A standalone HTML page of ``tables`` (heading → table) under ``title``.

    ``note``, if given, is a paragraph under the title; an empty table reads ``none``.
    """
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
        parts.append("<p>none</p>" if frame.empty else numbers_table(frame))
    parts.append("</body></html>")
    return "\n".join(parts)
