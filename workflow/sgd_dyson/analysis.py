"""The table-to-table steps of the pipeline: spectrum, per-cluster fits, scaling.

Each function takes and returns pandas tables (or column dictionaries) in the
schemas of `tables`; the rule scripts only read, call and write.
"""

import numpy as np
import pandas as pd

from . import theory
from .fits import (
    coulomb_gas_beta_fit,
    coulomb_gas_fit,
    gaussian_fit,
    goe_spacing_ratio,
    information_criteria,
    likelihood_ratio_test,
    neighbour_spacings,
    semicircle_fit,
    spacing_and_width,
    spacing_ratios,
    surmise_beta,
    surmise_chi2_test,
    two_component_fit,
)
from .seeding import Stream, seed_sequence
from .simulation import Snapshots
from .spectra import (
    OBSERVABLE_COLUMNS,
    cluster_targets,
    degenerate_clusters,
    gram_eigenvalues,
    singular_values,
    targets_from_gaps,
)
from .statistics import (
    equal_groups,
    integrated_autocorrelation_time,
    jackknife,
    line_through_origin,
)
from .tables import column_names

POINT_COLUMNS = ["learning_rate", "batch_size", "noise", "temperature"]
STATISTICS = ["mean_spacing", "center", "sigma", "beta", "spacing_ratio", "coulomb_beta"]


def simulate_columns(snapshots: Snapshots, point: dict) -> dict:
    """Snapshots as the columns of a simulate table, one row per (replica, step), replica-major."""
    count, replicas, rows, cols = snapshots.weights.shape
    table_rows = replicas * count
    return {
        "replica": np.repeat(snapshots.replica, count),
        "draw": np.repeat(snapshots.draw, count),
        "step": np.tile(snapshots.steps, replicas),
        "rows": np.full(table_rows, rows),
        "cols": np.full(table_rows, cols),
        "weights": snapshots.weights.swapaxes(0, 1).reshape(table_rows, rows * cols),
        **{name: np.full(table_rows, point.get(name)) for name in POINT_COLUMNS},
    }


def spectrum_columns(
    snapshots: pd.DataFrame,
    weights: np.ndarray,
    targets: list[float] | str,
    tolerance: float,
    burn_in: int = 0,
    separation: float | None = None,
) -> dict:
    """Levels of every snapshot, one row per (snapshot, level) (schema ``spectrum``).

    ``snapshots`` holds the scalar columns of a simulate table and ``weights``
    its matrices ``(rows, n, m)``. Level ``i`` (ascending) belongs to the
    cluster of the ``i``-th smallest target singular value. ``targets="auto"``
    finds them in the singular values at ``step ≥ burn_in``
    (`spectra.targets_from_gaps` with ``separation``).
    """
    sv = singular_values(weights) if len(weights) else np.empty((0, len(targets)))
    if isinstance(targets, str):
        stationary = sv[snapshots["step"].to_numpy() >= burn_in]
        if len(stationary) < 2:
            raise ValueError(
                f"burn_in = {burn_in} leaves {len(stationary)} snapshots to find the "
                "clusters in; lower burn_in"
            )
        targets = targets_from_gaps(stationary, separation)
    levels = len(targets)
    targets = np.sort(np.asarray(targets, dtype=float))
    clusters = degenerate_clusters(targets, tolerance)
    gram = gram_eigenvalues(weights) if len(weights) else np.empty((0, levels))
    repeated = {
        name: np.repeat(snapshots[name].to_numpy(), levels)
        for name in ["replica", "draw", "step", *POINT_COLUMNS]
    }
    rows = len(snapshots)
    return {
        **repeated,
        "level": np.tile(np.arange(levels), rows),
        "singular_value": sv.ravel(),
        "gram_eigenvalue": gram.ravel(),
        "cluster": np.tile(clusters, rows),
        "target_singular_value": np.tile(targets, rows),
    }


def _cluster_estimates(levels: np.ndarray) -> np.ndarray:
    """[⟨S⟩, x0, σ, surmise β, ⟨r⟩, Coulomb-gas β] of one cluster's samples ``(samples, n)``.

    ⟨S⟩ and both β need n ≥ 2 levels, the spacing ratio ⟨r⟩ n ≥ 3; otherwise NaN.
    """
    mean_spacing, center, sigma = spacing_and_width(levels)
    if levels.shape[1] < 2:
        return np.array([np.nan, center, sigma, np.nan, np.nan, np.nan])
    beta = surmise_beta(neighbour_spacings(levels).ravel() / mean_spacing)
    ratio = spacing_ratios(levels).mean() if levels.shape[1] >= 3 else np.nan
    coulomb_beta = coulomb_gas_beta_fit(levels).beta
    return np.array([mean_spacing, center, sigma, beta, ratio, coulomb_beta])


def fit_cluster(levels: np.ndarray, groups: np.ndarray, fit: dict) -> dict:
    """Estimates of one cluster with jackknife errors over ``groups``, and the surmise test.

    ``levels`` is ``(samples, n)``: ⟨S⟩ (mean neighbour spacing), the β = 1
    Coulomb-gas centre and width (`fits.coulomb_gas_width`), the surmise β
    (`fits.surmise_beta`) and the χ² test of ``s = S/⟨S⟩`` against ``P_β``,
    the β of the joint Coulomb-gas fit (`fits.coulomb_gas_beta_fit`), and for
    n ≥ 3 the spacing ratio ⟨r⟩ with the same-size GOE reference.
    ``fit`` holds ``surmise_bins`` and ``reference_samples``.
    """
    estimate, error = jackknife(_cluster_estimates, levels, groups)
    row = {"n_samples": len(levels), "error_groups": int(np.unique(groups).size)}
    for name, value, value_error in zip(STATISTICS, estimate, error, strict=True):
        row[name], row[f"{name}_err"] = value, value_error
    n = levels.shape[1]
    if n >= 2:
        spacing = neighbour_spacings(levels).ravel() / estimate[0]
        # β and the unfolding mean are both estimated from these spacings.
        chi2, dof, pvalue = surmise_chi2_test(
            spacing, estimate[3], fit["surmise_bins"], estimated_parameters=2
        )
        row.update(surmise_chi2=chi2, surmise_dof=dof, surmise_pvalue=pvalue)
    if n >= 3:
        reference = np.random.default_rng(n)  # a fixed reference per cluster size
        row["spacing_ratio_goe"] = goe_spacing_ratio(n, fit["reference_samples"], reference)
    return row


WIDTHS = ("sigma", "sigma1", "sigma2", "radius")
"""Names of the width parameters of the fitted densities, in the order they are reported."""


def density_fits(levels: np.ndarray) -> pd.DataFrame:
    """Density models of one cluster's ``(samples, n)`` levels, compared by AIC and BIC.

    Single levels: a Gaussian. Pairs: the equal-width two-level Coulomb gas
    and the two-component density (σ1 ≠ σ2). Three or more levels: the
    equal-width Coulomb gas and the semicircle. One row per model (schema
    ``density_fit`` without the point columns); ``delta_aic`` is the AIC
    above the best model's.
    """
    n = levels.shape[1]
    candidates = {"gaussian": gaussian_fit} if n == 1 else {"equal_width": coulomb_gas_fit}
    if n == 2:
        candidates["two_component"] = two_component_fit
    elif n >= 3:
        candidates["semicircle"] = semicircle_fit
    rows = []
    for density, fit_function in candidates.items():
        fitted = fit_function(levels)
        aic, bic = information_criteria(fitted.log_likelihood, fitted.free_parameters, len(levels))
        widths = [value for key, value in fitted._asdict().items() if key in WIDTHS]
        rows.append(
            {
                "levels": n,
                "density": density,
                "parameters": fitted.free_parameters,
                "observations": len(levels),
                "center": fitted.center,
                "width": widths[0],
                "second_width": widths[1] if len(widths) > 1 else np.nan,
                "log_likelihood": fitted.log_likelihood,
                "aic": aic,
                "bic": bic,
            }
        )
    table = pd.DataFrame(rows)
    table["delta_aic"] = table["aic"] - table["aic"].min()
    return table


def density_comparison(densities: pd.DataFrame) -> dict:
    """``best_density`` (lowest AIC) and, for pairs, the two-component likelihood-ratio test.

    The test compares the two-component density with the nested equal-width
    one; σ1 = σ2 lies on the boundary of the identified parameter, so the
    null law is the χ² mixture of `fits.likelihood_ratio_test`.
    """
    by_density = densities.set_index("density")
    comparison = {"best_density": by_density["aic"].idxmin()}
    if "two_component" in by_density.index:
        statistic, pvalue = likelihood_ratio_test(
            by_density.loc["equal_width", "log_likelihood"],
            by_density.loc["two_component", "log_likelihood"],
            extra_parameters=1,
            boundary=True,
        )
        comparison.update(two_component_lr=statistic, two_component_pvalue=pvalue)
    return comparison


def autocorrelation_steps(levels: np.ndarray, samples: pd.DataFrame) -> float:
    """Integrated autocorrelation time, in steps, of a cluster's snapshots; NaN with one snapshot.

    ``levels`` ``(samples, n)`` ordered by (replica, step) as ``samples`` (its
    ``replica`` and ``step`` columns). The series is the mean neighbour spacing
    per snapshot (the level itself for single levels).
    """
    steps = np.unique(samples["step"])
    if steps.size < 2:
        return np.nan
    observable = neighbour_spacings(levels).mean(axis=1) if levels.shape[1] > 1 else levels[:, 0]
    series = observable.reshape(samples["replica"].nunique(), steps.size)
    return integrated_autocorrelation_time(series) * float(np.median(np.diff(steps)))


def point_status(replicas: int, diverged_replicas: int) -> str:
    """``ok`` without divergence, ``all_diverged`` without survivors, else ``diverged``."""
    if not diverged_replicas:
        return "ok"
    return "all_diverged" if diverged_replicas == replicas else "diverged"


def fit_tables(
    spectrum: pd.DataFrame, point: dict, settings: dict, run: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cluster fits of one sweep point: the ``fit`` and ``density_fit`` tables.

    Uses snapshots at ``step ≥ burn_in``. Errors are a delete-one-group
    jackknife: over dataset draws when the dataset is shared by replicas and
    there are several draws (the quenched dataset is then part of the error),
    otherwise over ``error_groups`` groups of replicas. ``run`` gives
    ``replicas`` and ``diverged_replicas``; a point with diverged replicas is
    marked (``status``), and one with fewer than two survivors gets no
    statistics and no density fits at all.
    """
    targets = settings["targets"]
    if targets == "auto":  # found in the data by the spectrum stage
        targets = spectrum.drop_duplicates("level").sort_values("level")["target_singular_value"]
    clusters = cluster_targets(targets, settings["cluster_tolerance"], settings["observable"])
    value = OBSERVABLE_COLUMNS[settings["observable"]]
    used = spectrum[spectrum["step"] >= settings["burn_in"]]
    by_draw = settings["shared_dataset"] and used["draw"].nunique() >= 2
    survivors = run["replicas"] - run["diverged_replicas"]
    status = point_status(run["replicas"], run["diverged_replicas"])
    point_columns = {"point": point["point"], **{name: point.get(name) for name in POINT_COLUMNS}}
    rows, densities = [], []
    for cluster in clusters.itertuples(index=False):
        row = {
            **point_columns,
            "cluster": cluster.cluster,
            "levels": cluster.levels,
            "target": cluster.target,
            "replicas": survivors,
            "diverged_replicas": run["diverged_replicas"],
            "error_grouping": "draw" if by_draw else "replica",
            "status": status,
        }
        if survivors >= 2:  # the jackknife needs two independent groups
            members = used[used["cluster"] == cluster.cluster]
            members = members.sort_values(["replica", "step", "level"])
            samples = members.drop_duplicates(["replica", "step"])
            levels = members[value].to_numpy().reshape(len(samples), cluster.levels)
            labels = samples["draw" if by_draw else "replica"].to_numpy()
            groups = labels if by_draw else equal_groups(labels, settings["error_groups"])
            row.update(fit_cluster(levels, groups, settings))
            row["autocorrelation_steps"] = autocorrelation_steps(levels, samples)
            cluster_densities = density_fits(levels).assign(cluster=cluster.cluster)
            row.update(density_comparison(cluster_densities))
            densities.append(cluster_densities.assign(**point_columns))
        rows.append(row)
    fit = pd.DataFrame(rows).reindex(columns=column_names("fit"))
    density = pd.concat(densities, ignore_index=True) if densities else pd.DataFrame()
    return fit, density.reindex(columns=column_names("density_fit"))


def continuum_slope(amplitude: str, observable: str, target: np.ndarray) -> np.ndarray:
    """Continuum Coulomb-gas ⟨S⟩ / scale of a degenerate pair (β = 1), or NaN if none is known.

    With a quadratic well of width σ² = ratio × amplitude for the singular
    values (teacher–student, Aarts, Lucini & Park 2025) or the levels
    themselves (Dyson model), ``⟨S⟩ = √π σ``: slope ``√π``. Eigenvalues
    ``x = λ²`` of ``X = WᵀW`` near ``x* = λ*²`` spread ``dx = 2λ* dλ``,
    giving ``2√π sqrt(x*)``. The RBM's drift is not a quadratic well of known
    width (its slope is non-universal), so it has no continuum prediction.
    """
    if amplitude == "target":
        return np.full(np.shape(target), np.nan)
    if observable == "gram_eigenvalues":
        return 2 * np.sqrt(np.pi) * np.sqrt(target)
    return np.full(np.shape(target), np.sqrt(np.pi))


AMPLITUDE_KINDS = ("noise_squared", "target", "one")


PREDICTIONS = {"exact": True, "continuum": False}
"""The theory's predictions: the exact discrete-time one, and its continuum (α → 0) limit."""


def theory_table(settings: dict, point: dict) -> pd.DataFrame:
    """Predicted stationary cluster statistics of one point (schema ``theory``).

    Teacher–student: Gaussian weights around the teacher with the exact
    stationary covariance of online SGD (`theory.teacher_student_moments`,
    the O(α) and multiplicative mini-batch terms included) and with its
    continuum limit; Dyson model: the exact GOE stationary law (both rows
    equal). Each is sampled ``samples`` times (seeded by the point) and
    analysed like the measurements (`theory.predicted_cluster_statistics`).
    Where SGD is not mean-square stable the rows say ``unstable``.
    """
    targets, tolerance = settings["targets"], settings["cluster_tolerance"]
    clusters = cluster_targets(targets, tolerance, settings["observable"])
    rows = []
    for index, (prediction, exact) in enumerate(PREDICTIONS.items()):
        seed = seed_sequence(settings["root_seed"], settings["point_seed"], index, 0, Stream.THEORY)
        try:
            if settings["model"] == "dyson":
                center = np.diag(settings["target"])
                moments = theory.dyson_moments(len(center), settings["temperature"])
            else:
                center = np.diag(settings["teacher"])
                moments = theory.teacher_student_moments(
                    settings["teacher"],
                    settings["hidden"],
                    settings["noise_kind"],
                    settings["noise"],
                    settings["learning_rate"],
                    settings["batch_size"],
                    settings["root_seed"],
                    exact=exact,
                )
        except ValueError:  # no stationary state: nothing to predict
            statistics = clusters.assign(status="unstable")
        else:
            levels = theory.predicted_levels(
                center,
                moments,
                settings["samples"],
                np.random.default_rng(seed),
                settings["observable"],
            )
            statistics = theory.predicted_cluster_statistics(
                levels, targets, tolerance, settings["observable"]
            ).assign(status="ok")
        rows.append(statistics.assign(prediction=prediction))
    table = pd.concat(rows, ignore_index=True)
    table = table.assign(point=point["point"], **{c: point.get(c) for c in POINT_COLUMNS})
    return table.reindex(columns=column_names("theory"))


def standardised_residual(
    value: pd.Series, error: pd.Series, prediction: pd.Series, prediction_error: pd.Series
) -> pd.Series:
    """``(value − prediction) / sqrt(error² + prediction_error²)``."""
    return (value - prediction) / np.hypot(error, prediction_error)


def scaling_table(
    sweep: pd.DataFrame,
    fits: pd.DataFrame,
    amplitude: str,
    observable: str,
    theory: pd.DataFrame | None = None,
    continuum: bool = True,
) -> pd.DataFrame:
    """Fits joined with the sweep, plus ``amplitude``, ``scale``, ``continuum_slope`` and theory.

    ``amplitude`` names how the noise amplitude follows from the point:
    ``noise_squared`` (teacher–student, ``A = ε²``), ``target`` (Gaussian
    RBM, ``A = x*``, the cluster's target) or ``one`` (Dyson model, whose
    ratio is the temperature); ``scale = sqrt(ratio × amplitude)``. With a
    ``theory`` table (`theory_table` of every point) the exact and continuum
    predictions join, with standardised residuals of ⟨S⟩ against each.
    ``continuum=False`` (external weights, whose noise is not known to form a
    quadratic well of width σ² = ratio × amplitude) leaves ``continuum_slope``
    NaN. Every point must have the same clusters (levels per cluster).
    """
    if amplitude not in AMPLITUDE_KINDS:
        raise ValueError(f"unknown amplitude {amplitude!r}, expected one of {AMPLITUDE_KINDS}")
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
    table["amplitude"] = {
        "noise_squared": lambda: table["noise"] ** 2,
        "target": lambda: table["target"],
        "one": lambda: pd.Series(1.0, index=table.index),
    }[amplitude]()
    table["scale"] = np.sqrt(table["ratio"] * table["amplitude"])
    target = table["target"].to_numpy()
    table["continuum_slope"] = (
        continuum_slope(amplitude, observable, target) if continuum else np.nan
    )
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
    table = table.reindex(columns=column_names("scaling"))
    return table.sort_values(["cluster", "ratio", "point"], ignore_index=True)


def _theory_columns(theory: pd.DataFrame) -> pd.DataFrame:
    """The theory's ⟨S⟩ and σ per (point, cluster): exact and continuum side by side."""
    stable = theory[theory["status"] == "ok"]
    exact = stable[stable["prediction"] == "exact"].set_index(["point", "cluster"])
    continuum = stable[stable["prediction"] == "continuum"].set_index(["point", "cluster"])
    columns = pd.DataFrame(
        {
            "mean_spacing_theory": exact["mean_spacing"],
            "mean_spacing_theory_err": exact["mean_spacing_err"],
            "sigma_theory": exact["sigma"],
            "sigma_theory_err": exact["sigma_err"],
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
]


def residual_table(scaling: pd.DataFrame) -> pd.DataFrame:
    """Per-point standardised residuals of ⟨S⟩ against the exact theory and the continuum.

    The rows of the scaling table with a theory (status ok, clusters of at
    least two levels), for the report.
    """
    rows = scaling[(scaling["status"] == "ok") & scaling["mean_spacing_theory"].notna()]
    return rows[RESIDUAL_COLUMNS].sort_values(["cluster", "ratio", "point"], ignore_index=True)


def density_fits_table(sweep: pd.DataFrame, densities: pd.DataFrame) -> pd.DataFrame:
    """Every point's density fits with the experiment and the ratio (schema ``density_fits``)."""
    table = densities.merge(
        sweep[["experiment", "point", "ratio"]], on="point", validate="many_to_one"
    )
    return table.sort_values(["cluster", "ratio", "point", "density"], ignore_index=True)


ALL_PAIRS = -1
"""The ``cluster`` of a scaling fit through the points of every pair cluster together."""


def _scaling_lines(points: pd.DataFrame, cluster: int) -> list[dict]:
    """Lines through the origin of ⟨S⟩ and √π σ against ``scale`` through ``points``."""
    quantities = {
        "mean_spacing": (points["mean_spacing"], points["mean_spacing_err"]),
        "sqrt_pi_sigma": (np.sqrt(np.pi) * points["sigma"], np.sqrt(np.pi) * points["sigma_err"]),
    }
    continuum = points["continuum_slope"].unique()
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
                "continuum_slope": continuum[0] if continuum.size == 1 else np.nan,
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
