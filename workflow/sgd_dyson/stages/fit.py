"""Stage fit: per-cluster Coulomb-gas, Wigner-surmise and density fits with jackknife errors."""

import numpy as np
import pandas as pd

from ..config import canonical
from ..fits import (
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
from ..models import model_of
from ..spectra import OBSERVABLE_COLUMNS, clusters_of_levels, layered_levels
from ..stationarity import snapshot_levels, stationarity_check, stationary_start
from ..statistics import equal_groups, integrated_autocorrelation_time, jackknife
from ..tables import POINT_COLUMNS, column_names
from . import spectrum

STATISTICS = ("mean_spacing", "center", "sigma", "beta", "spacing_ratio", "coulomb_beta")
"""The jackknifed estimates of a cluster, in the order `cluster_estimates` returns them."""


def settings(experiment: dict) -> dict:
    """What the fit stage reads of an experiment: the spectrum's settings, and how to fit."""
    return canonical(
        {
            **spectrum.settings(experiment),
            "observable": experiment["observable"],
            "burn_in": model_of(experiment).burn_in(experiment),
            # External weights: replicas of one draw share their data (if the files say so).
            "shared_dataset": experiment.get("dataset", "paper") == "paper",
            **experiment["fit"],
        }
    )


def cluster_estimates(levels: np.ndarray) -> np.ndarray:
    """The `STATISTICS` of one cluster's samples ``(samples, n)``, in that order.

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
    estimate, error = jackknife(cluster_estimates, levels, groups)
    row = {"n_samples": len(levels), "error_groups": int(np.unique(groups).size)}
    for name, value, value_error in zip(STATISTICS, estimate, error, strict=True):
        row[name], row[f"{name}_err"] = value, value_error
    n = levels.shape[1]
    if n >= 2:
        spacing = neighbour_spacings(levels).ravel() / row["mean_spacing"]
        # β and the unfolding mean are both estimated from these spacings.
        chi2, dof, pvalue = surmise_chi2_test(
            spacing, row["beta"], fit["surmise_bins"], estimated_parameters=2
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


def point_status(replicas: int, diverged_replicas: int, stationarity: str = "untested") -> str:
    """The point's status; only ``ok`` enters the scaling lines.

    ``all_diverged`` without survivors, ``diverged`` with some diverged
    replicas; else ``non_stationary`` when the halves check failed
    (`stationarity.stationarity_check`), ``ok`` otherwise (passed or untested).
    """
    if diverged_replicas:
        return "all_diverged" if diverged_replicas == replicas else "diverged"
    return "non_stationary" if stationarity == "failed" else "ok"


def independent_units(
    spectrum_table: pd.DataFrame, replicas: np.ndarray, by_draw: bool
) -> np.ndarray:
    """The independent unit of each of ``replicas``: its dataset draw (``by_draw``), or itself."""
    if not by_draw:
        return replicas
    return spectrum_table.groupby("replica")["draw"].first().loc[replicas].to_numpy()


def chosen_burn_in(spectrum_table: pd.DataFrame, settings: dict, point: dict) -> int:
    """The first step of the statistics: ``burn_in``, or with ``auto`` `stationary_start`.

    ``auto`` is chosen on the singular values (whatever the observable, so that
    the spectrum stage finds the same step for its clusters), errors from the
    independent units (`independent_units`). Raises ValueError naming the
    point and its steps when ``burn_in`` is beyond every snapshot.
    """
    steps = np.unique(spectrum_table["step"])
    burn_in = settings["burn_in"]
    if burn_in == "auto":
        levels, steps, replicas = snapshot_levels(*wide_levels(spectrum_table, "singular_value"))
        by_draw = settings["shared_dataset"] and spectrum_table["draw"].nunique() >= 2
        units = independent_units(spectrum_table, replicas, by_draw)
        return stationary_start(levels, steps, units)
    if steps.size and steps[-1] < burn_in:
        raise ValueError(
            f"burn_in = {burn_in} is beyond every snapshot of point {point['point']}: its "
            f"snapshots are at steps {steps.tolist()}; lower burn_in"
        )
    return int(burn_in)


def snapshot_rows(table: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.DataFrame]:
    """``column`` of ``table`` as ``(snapshots, levels)``, and one row per snapshot.

    Both ordered by (replica, step); the levels of a snapshot by ``level``.
    """
    ordered = table.sort_values(["replica", "step", "level"])
    snapshots = ordered.drop_duplicates(["replica", "step"])
    return ordered[column].to_numpy().reshape(len(snapshots), -1), snapshots


def wide_levels(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(replica, step, values)``: one row per snapshot, ``values`` ``(snapshots, levels)``."""
    values, snapshots = snapshot_rows(table, column)
    return snapshots["replica"].to_numpy(), snapshots["step"].to_numpy(), values


def point_stationarity(used: pd.DataFrame, column: str, by_draw: bool) -> dict:
    """The halves check of the snapshots ``used`` (`stationarity.stationarity_check`).

    On the analysed ``column``, per cluster of the table's ``cluster`` column,
    errors from the independent units. Returns cluster → its fit-table
    columns ``stationarity``, ``stationarity_z``, ``stationarity_threshold``.
    """
    levels, _, replicas = snapshot_levels(*wide_levels(used, column))
    clusters = used.drop_duplicates("level").sort_values("level")["cluster"].to_numpy()
    check = stationarity_check(levels, clusters, independent_units(used, replicas, by_draw))
    return {
        cluster: {
            "stationarity": check.status,
            "stationarity_z": z,
            "stationarity_threshold": check.threshold,
        }
        for cluster, z in zip(np.unique(clusters), check.cluster_z, strict=True)
    }


def analysed_clusters(spectrum_table: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """The clusters of every analysed layer: ``layer``, ``cluster``, ``levels``, ``target``.

    As the spectrum stage assigned them (`spectra.clusters_of_levels` of its
    table; ``auto`` targets were found there); a table without snapshots (every
    replica diverged) gets them from the given targets (`spectra.layered_levels`).
    """
    levels = spectrum_table
    given = [(layer["layer"], layer["targets"]) for layer in settings["layers"]]
    if levels.empty and all(targets != "auto" for _, targets in given):
        levels = layered_levels(given, settings["cluster_tolerance"])
    return clusters_of_levels(levels, settings["observable"])


def cluster_samples(used: pd.DataFrame, cluster, column: str) -> tuple[np.ndarray, pd.DataFrame]:
    """A cluster's levels ``(samples, n)`` and one row per sample, ordered by (replica, step)."""
    return snapshot_rows(used[used["cluster"] == cluster.cluster], column)


def measured_cluster(
    levels: np.ndarray, samples: pd.DataFrame, by_draw: bool, settings: dict
) -> tuple[dict, pd.DataFrame]:
    """The fit-table statistics of one cluster and its density fits.

    Jackknife groups are the dataset draws (``by_draw``) or ``error_groups``
    equal groups of replicas.
    """
    labels = samples["draw" if by_draw else "replica"].to_numpy()
    groups = labels if by_draw else equal_groups(labels, settings["error_groups"])
    row = fit_cluster(levels, groups, settings)
    row["autocorrelation_steps"] = autocorrelation_steps(levels, samples)
    densities = density_fits(levels)
    row.update(density_comparison(densities))
    return row, densities


def tables(
    spectrum_table: pd.DataFrame, point: dict, settings: dict, run: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cluster fits of one sweep point: the ``fit`` and ``density_fit`` tables.

    Uses snapshots at ``step ≥ burn_in`` (`chosen_burn_in`; the column
    ``burn_in``). Errors are a delete-one-group jackknife: over dataset draws
    when the dataset is shared by replicas and there are several draws (the
    quenched dataset is then part of the error), otherwise over
    ``error_groups`` groups of replicas. ``run`` gives ``replicas`` and
    ``diverged_replicas``; a point with diverged replicas is marked
    (``status``), and one with fewer than two survivors gets no statistics and
    no density fits at all. The snapshots used get the halves check
    (`point_stationarity`); a point failing it has status ``non_stationary``.
    """
    survivors = run["replicas"] - run["diverged_replicas"]
    burn_in = chosen_burn_in(spectrum_table, settings, point) if survivors else None
    used = spectrum_table[spectrum_table["step"] >= (burn_in or 0)]
    by_draw = settings["shared_dataset"] and used["draw"].nunique() >= 2
    point_columns = {"point": point["point"], **{name: point.get(name) for name in POINT_COLUMNS}}
    column = OBSERVABLE_COLUMNS[settings["observable"]]
    stationarity = point_stationarity(used, column, by_draw) if survivors >= 2 else {}
    halves = "failed" if any(c["stationarity"] == "failed" for c in stationarity.values()) else ""
    rows, densities = [], []
    for cluster in analysed_clusters(spectrum_table, settings).itertuples(index=False):
        row = {
            **point_columns,
            "layer": cluster.layer,
            "cluster": cluster.cluster,
            "levels": cluster.levels,
            "target": cluster.target,
            "replicas": survivors,
            "diverged_replicas": run["diverged_replicas"],
            "error_grouping": "draw" if by_draw else "replica",
            "burn_in": burn_in,
            "status": point_status(run["replicas"], run["diverged_replicas"], halves),
            **stationarity.get(cluster.cluster, {"stationarity": "untested"}),
        }
        if survivors >= 2:  # the jackknife needs two independent groups
            levels, samples = cluster_samples(used, cluster, column)
            statistics, cluster_densities = measured_cluster(levels, samples, by_draw, settings)
            row.update(statistics)
            densities.append(cluster_densities.assign(cluster=cluster.cluster, **point_columns))
        rows.append(row)
    fit = pd.DataFrame(rows).reindex(columns=column_names("fit"))
    density = pd.concat(densities, ignore_index=True) if densities else pd.DataFrame()
    return fit, density.reindex(columns=column_names("density_fit"))
