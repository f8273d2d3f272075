"""Stage scaling: every point's fits against the scaling variable, and the fitted lines."""

import numpy as np
import pandas as pd

from ..config import canonical
from ..models import model_of
from ..models.base import AMPLITUDE_KINDS, CONTINUUM_KINDS, coulomb_gas_slope
from ..statistics import line_through_origin, weighted_least_squares
from ..tables import ALL_PAIRS, column_names


def settings(experiment: dict) -> dict:
    """What the scaling stage reads of an experiment: amplitude, observable, continuum kind."""
    model = model_of(experiment)
    return canonical(
        {
            "amplitude": model.amplitude(experiment),
            "observable": experiment["observable"],
            "continuum": model.continuum(experiment),
        }
    )


def standardised_residual(
    value: pd.Series, error: pd.Series, prediction: pd.Series, prediction_error: pd.Series
) -> pd.Series:
    """``(value − prediction) / sqrt(error² + prediction_error²)``."""
    return (value - prediction) / np.hypot(error, prediction_error)


def amplitudes(table: pd.DataFrame, amplitude: str) -> pd.Series:
    """The noise amplitude A of every row: ε² (``noise_squared``), the target, or 1."""
    if amplitude == "noise_squared":
        return table["noise"] ** 2
    if amplitude == "target":
        return table["target"]
    return pd.Series(1.0, index=table.index)


def continuum_slopes(table: pd.DataFrame, continuum: str | None, observable: str) -> np.ndarray:
    """The continuum prediction of ⟨S⟩ / scale of every row, NaN where none is known.

    ``coulomb_gas``: the two-level Coulomb gas (`models.base.coulomb_gas_slope`);
    ``theory``: the continuum limit of the model's theory at the row's point,
    ``mean_spacing_continuum / scale`` (behind a hidden layer, for example,
    the continuum is the Lyapunov solution with ``G = ZᵀZ``, not √π); None:
    no continuum prediction.
    """
    if continuum is None:
        return np.full(len(table), np.nan)
    if continuum == "coulomb_gas":
        return coulomb_gas_slope(observable, table["target"].to_numpy())
    if "mean_spacing_continuum" not in table:
        return np.full(len(table), np.nan)
    return (table["mean_spacing_continuum"] / table["scale"]).to_numpy()


def scaling_table(
    sweep: pd.DataFrame,
    fits: pd.DataFrame,
    amplitude: str,
    observable: str,
    continuum: str | None,
    theory: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fits joined with the sweep, plus ``amplitude``, ``scale``, ``continuum_slope`` and theory.

    ``amplitude`` names how the noise amplitude follows from the point
    (`amplitudes`); ``scale = sqrt(ratio × amplitude)``. With a ``theory``
    table (`theory.table` of every point) the exact and continuum predictions
    join, with standardised residuals of ⟨S⟩ against each and of the centre against the
    exact one. ``continuum``
    (`models.base.CONTINUUM_KINDS` or None) says where ``continuum_slope``
    comes from (`continuum_slopes`). Every point must have the same clusters
    (levels per cluster).
    """
    if amplitude not in AMPLITUDE_KINDS:
        raise ValueError(f"unknown amplitude {amplitude!r}, expected one of {AMPLITUDE_KINDS}")
    if continuum is not None and continuum not in CONTINUUM_KINDS:
        raise ValueError(f"unknown continuum {continuum!r}, expected one of {CONTINUUM_KINDS}")
    structures = fits.groupby("point")["levels"].agg(tuple)
    if structures.nunique() > 1:
        raise ValueError(
            "the points have different degenerate clusters (levels per cluster: "
            f"{structures.to_dict()}); with targets found in the data (auto), give the "
            "experiment's targets or raise cluster_separation"
        )
    table = fits.merge(
        sweep[["experiment", "point", "ratio", "scans"]], on="point", validate="many_to_one"
    )
    table["amplitude"] = amplitudes(table, amplitude)
    table["scale"] = np.sqrt(table["ratio"] * table["amplitude"])
    if theory is not None and len(theory):
        table = table.merge(_theory_columns(theory), on=["point", "cluster"], how="left")
        table["residual"] = standardised_residual(
            table["mean_spacing"],
            table["mean_spacing_err"],
            table["mean_spacing_theory"],
            table["mean_spacing_theory_err"],
        )
        table["residual_continuum"] = standardised_residual(
            table["mean_spacing"],
            table["mean_spacing_err"],
            table["mean_spacing_continuum"],
            table.pop("mean_spacing_continuum_err"),
        )
        table["residual_center"] = standardised_residual(
            table["center"], table["center_err"], table["center_theory"], table["center_theory_err"]
        )
    table["continuum_slope"] = continuum_slopes(table, continuum, observable)
    table = table.reindex(columns=column_names("scaling"))
    return table.sort_values(["cluster", "ratio", "point"], ignore_index=True)


def _theory_columns(theory: pd.DataFrame) -> pd.DataFrame:
    """The theory's ⟨S⟩, σ and centre per (point, cluster): exact and continuum ⟨S⟩ side by
    side."""
    stable = theory[theory["status"] == "ok"]
    exact = stable[stable["prediction"] == "exact"].set_index(["point", "cluster"])
    continuum = stable[stable["prediction"] == "continuum"].set_index(["point", "cluster"])
    columns = pd.DataFrame(
        {
            "mean_spacing_theory": exact["mean_spacing"],
            "mean_spacing_theory_err": exact["mean_spacing_err"],
            "sigma_theory": exact["sigma"],
            "sigma_theory_err": exact["sigma_err"],
            "center_theory": exact["center"],
            "center_theory_err": exact["center_err"],
        }
    ).join(
        continuum[["mean_spacing", "mean_spacing_err"]].rename(
            columns=lambda name: name.replace("mean_spacing", "mean_spacing_continuum")
        ),
        how="outer",
    )
    return columns.reset_index()


RESIDUAL_COLUMNS = [
    "point",
    "ratio",
    "cluster",
    "mean_spacing",
    "mean_spacing_err",
    "mean_spacing_theory",
    "mean_spacing_continuum",
    "residual",
    "residual_continuum",
    "center",
    "center_err",
    "center_theory",
    "residual_center",
]


def residual_table(scaling: pd.DataFrame) -> pd.DataFrame:
    """Per-point standardised residuals of ⟨S⟩ against the exact theory and the continuum,
    and of the centre against the exact theory.

    The rows of the scaling table with a theory (status ok; a single level has a centre
    but no ⟨S⟩), for the report.
    """
    predicted = scaling["mean_spacing_theory"].notna() | scaling["center_theory"].notna()
    rows = scaling[(scaling["status"] == "ok") & predicted]
    return rows[RESIDUAL_COLUMNS].sort_values(["cluster", "ratio", "point"], ignore_index=True)


def density_fits_table(sweep: pd.DataFrame, densities: pd.DataFrame) -> pd.DataFrame:
    """Every point's density fits with the experiment and the ratio (schema ``density_fits``)."""
    table = densities.merge(
        sweep[["experiment", "point", "ratio"]], on="point", validate="many_to_one"
    )
    return table.sort_values(["cluster", "ratio", "point", "density"], ignore_index=True)


def line_continuum(points: pd.DataFrame) -> float:
    """The continuum slope of a line through ``points``: their common ``continuum_slope``.

    Per-point continuum slopes from a theory (`continuum_slopes`) carry its
    Monte-Carlo noise: for one cluster their mean; across several clusters,
    whose continua differ, none (NaN).
    """
    slopes = points["continuum_slope"].unique()
    if slopes.size == 1:
        return slopes[0]
    if points["cluster"].nunique() == 1:
        return float(points["continuum_slope"].mean())
    return np.nan


def _scaling_lines(points: pd.DataFrame, cluster: int) -> list[dict]:
    """Lines through the origin of ⟨S⟩ and √π σ against ``scale`` through ``points``."""
    quantities = {
        "mean_spacing": (points["mean_spacing"], points["mean_spacing_err"]),
        "sqrt_pi_sigma": (np.sqrt(np.pi) * points["sigma"], np.sqrt(np.pi) * points["sigma_err"]),
    }
    continuum = line_continuum(points)
    rows = []
    for quantity, (value, error) in quantities.items():
        slope, slope_err, chi2_dof = line_through_origin(points["scale"], value, error)
        rows.append(
            {
                "experiment": points["experiment"].iloc[0],
                "quantity": quantity,
                "cluster": cluster,
                "slope": slope,
                "slope_err": slope_err,
                "chi2_dof": chi2_dof,
                "n_points": len(points),
                "continuum_slope": continuum,
            }
        )
    return rows


def scaling_fits(scaling: pd.DataFrame) -> pd.DataFrame:
    """Lines of ⟨S⟩ and √π σ against ``scale`` per cluster, and through all pairs (``scaling_fit``).

    Only points with status ``ok`` and clusters of at least two levels enter.
    With several pair clusters, a line through all their points together
    (``cluster = ALL_PAIRS``) gives the headline slope (the RBM's, where
    ``scale = sqrt(α/|B| × x*)`` puts every pair on one line).
    """
    usable = scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]
    rows = []
    for cluster, points in usable.groupby("cluster"):
        rows += _scaling_lines(points, cluster)
    pairs = usable[usable["levels"] == 2]
    if pairs["cluster"].nunique() > 1:
        rows += _scaling_lines(pairs, ALL_PAIRS)
    return pd.DataFrame(rows, columns=column_names("scaling_fit"))


HELD_PARAMETERS = ["noise", "init_width"]
"""The swept parameters other than α and |B|: a power-law fit never mixes their values."""
POWER_LAW_PARAMETERS = 3
"""log c, p and q of ⟨S⟩ = c α^p |B|^(−q)."""


def power_law_exponents(points: pd.DataFrame) -> dict:
    """p, q and their errors of ``⟨S⟩ = c · α^p · |B|^(−q)`` through ``points``.

    Weighted least squares (`statistics.weighted_least_squares`) of
    ``log ⟨S⟩ = log c + p log α − q log |B|``, the error of ``log ⟨S⟩`` being
    ``δ⟨S⟩/⟨S⟩`` (first-order propagation of the jackknife error); the errors
    of p and q come from the covariance, scaled by sqrt(χ²/dof) when that
    exceeds 1. ``points``: rows of a scaling table.
    """
    design = np.column_stack(
        [
            np.ones(len(points)),
            np.log(points["learning_rate"].to_numpy(dtype=float)),
            -np.log(points["batch_size"].to_numpy(dtype=float)),
        ]
    )
    spacing = points["mean_spacing"].to_numpy(dtype=float)
    relative_error = points["mean_spacing_err"].to_numpy(dtype=float) / spacing
    coefficients, covariance, chi2_dof = weighted_least_squares(
        design, np.log(spacing), relative_error
    )
    errors = np.sqrt(np.diag(covariance))
    return {
        "lr_exponent": coefficients[1],
        "lr_exponent_err": errors[1],
        "batch_exponent": coefficients[2],
        "batch_exponent_err": errors[2],
        "chi2_dof": chi2_dof,
        "n_points": len(points),
    }


def varies_rate_and_batch(points: pd.DataFrame) -> bool:
    """Whether ``points`` fix p and q: two or more α, two or more |B|, more points than c, p, q."""
    return (
        points["learning_rate"].nunique() >= 2
        and points["batch_size"].nunique() >= 2
        and len(points) > POWER_LAW_PARAMETERS
    )


def scaling_exponents(scaling: pd.DataFrame) -> pd.DataFrame:
    """Which scaling rule holds: ``⟨S⟩ = c · α^p · |B|^(−q)`` per cluster (``scaling_exponents``).

    ⟨S⟩ depends on α/|B| alone under the linear scaling rule of SGD, where
    ⟨S⟩ ∝ sqrt(α/|B|): p = q = ½; on α/√|B| under the square-root rule of
    Adam (Malladi, Lyu, Panigrahi & Arora 2022): p = ½, q = ¼
    (`tables.SCALING_RULES`). Only points with status ``ok`` and clusters of
    at least two levels enter (`power_law_exponents` fits each group).
    Points at different noise ε or initial width σ_W are never mixed: the
    points are grouped by cluster, ε and σ_W (`HELD_PARAMETERS`), and every
    group holding two or more learning rates, two or more batch sizes and
    more points than the three parameters is fitted, its ε and σ_W in the
    row (null where not swept). So an ε scan beside an α × |B| grid leaves
    the grid's fit alone, and grids at two noise levels give a fit each. A
    sweep in which no group varies both α and |B| gives an empty table.
    """
    usable = scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]
    rows = [
        {
            "experiment": points["experiment"].iloc[0],
            "cluster": cluster,
            "noise": noise,
            "init_width": init_width,
            **power_law_exponents(points),
        }
        for (cluster, noise, init_width), points in usable.groupby(
            ["cluster", *HELD_PARAMETERS], dropna=False
        )
        if varies_rate_and_batch(points)
    ]
    return pd.DataFrame(rows, columns=column_names("scaling_exponents"))
