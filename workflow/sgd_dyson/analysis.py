"""The table-to-table steps of the pipeline: spectrum, per-cluster fits, scaling.

Each function takes and returns pandas tables (or column dictionaries) in the
schemas of `tables`; the rule scripts only read, call and write.
"""

import numpy as np
import pandas as pd

from .fits import coulomb_gas_width, neighbour_spacings, surmise_beta, surmise_chi2_test
from .simulation import Snapshots
from .spectra import degenerate_clusters, gram_eigenvalues, singular_values
from .statistics import equal_groups, jackknife, line_through_origin
from .tables import column_names

OBSERVABLE_COLUMNS = {
    "singular_values": "singular_value",
    "gram_eigenvalues": "gram_eigenvalue",
}
POINT_COLUMNS = ["learning_rate", "batch_size", "noise"]
STATISTICS = ["mean_spacing", "center", "sigma", "beta"]


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
        **{name: np.full(table_rows, point[name]) for name in POINT_COLUMNS},
    }


def spectrum_columns(
    snapshots: pd.DataFrame, weights: np.ndarray, teacher: list[float], tolerance: float
) -> dict:
    """Levels of every snapshot, one row per (snapshot, level) (schema ``spectrum``).

    ``snapshots`` holds the scalar columns of a simulate table and ``weights``
    its matrices ``(rows, N, N)``. Level ``i`` (ascending) belongs to the
    cluster of the ``i``-th smallest teacher singular value.
    """
    levels = len(teacher)
    targets = np.sort(np.asarray(teacher, dtype=float))
    clusters = degenerate_clusters(targets, tolerance)
    sv = singular_values(weights) if len(weights) else np.empty((0, levels))
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


def cluster_targets(teacher: list[float], tolerance: float, observable: str) -> pd.DataFrame:
    """Clusters of the teacher: ``cluster``, ``levels`` and the observable's ``target``."""
    targets = np.sort(np.asarray(teacher, dtype=float))
    clusters = degenerate_clusters(targets, tolerance)
    if observable == "gram_eigenvalues":
        targets = targets**2
    frame = pd.DataFrame({"cluster": clusters, "target": targets})
    return frame.groupby("cluster", as_index=False).agg(
        levels=("target", "size"), target=("target", "mean")
    )


def _cluster_estimates(levels: np.ndarray) -> np.ndarray:
    """[⟨S⟩, x0, σ, β] of one cluster's samples ``(samples, n)``; ⟨S⟩ and β need n ≥ 2."""
    center, sigma = coulomb_gas_width(levels)
    if levels.shape[1] < 2:
        return np.array([np.nan, center, sigma, np.nan])
    spacing = neighbour_spacings(levels).ravel()
    mean_spacing = spacing.mean()
    return np.array([mean_spacing, center, sigma, surmise_beta(spacing / mean_spacing)])


def fit_cluster(levels: np.ndarray, groups: np.ndarray, surmise_bins: int) -> dict:
    """Estimates of one cluster with jackknife errors over ``groups``, and the surmise test.

    ``levels`` is ``(samples, n)``: ⟨S⟩ (mean neighbour spacing), the β = 1
    Coulomb-gas centre and width (`fits.coulomb_gas_width`), the surmise β
    (`fits.surmise_beta`) and the χ² test of ``s = S/⟨S⟩`` against ``P_β``.
    """
    estimate, error = jackknife(_cluster_estimates, levels, groups)
    row = {"n_samples": len(levels), "error_groups": int(np.unique(groups).size)}
    for name, value, value_error in zip(STATISTICS, estimate, error, strict=True):
        row[name], row[f"{name}_err"] = value, value_error
    if levels.shape[1] >= 2:
        spacing = neighbour_spacings(levels).ravel() / estimate[0]
        # β and the unfolding mean are both estimated from these spacings.
        chi2, dof, pvalue = surmise_chi2_test(
            spacing, estimate[3], surmise_bins, estimated_parameters=2
        )
        row.update(surmise_chi2=chi2, surmise_dof=dof, surmise_pvalue=pvalue)
    return row


def point_status(replicas: int, diverged_replicas: int) -> str:
    """``ok`` without divergence, ``all_diverged`` without survivors, else ``diverged``."""
    if not diverged_replicas:
        return "ok"
    return "all_diverged" if diverged_replicas == replicas else "diverged"


def fit_table(spectrum: pd.DataFrame, point: dict, settings: dict, run: dict) -> pd.DataFrame:
    """Per-cluster fits of one sweep point (schema ``fit``).

    Uses snapshots at ``step ≥ burn_in``. Errors are a delete-one-group
    jackknife: over dataset draws when the dataset is shared by replicas and
    there are several draws (the quenched dataset is then part of the error),
    otherwise over ``error_groups`` groups of replicas. ``run`` gives
    ``replicas`` and ``diverged_replicas``; a point with diverged replicas is
    marked (``status``), and one with fewer than two survivors gets no
    statistics at all.
    """
    clusters = cluster_targets(
        settings["teacher"], settings["cluster_tolerance"], settings["observable"]
    )
    value = OBSERVABLE_COLUMNS[settings["observable"]]
    used = spectrum[spectrum["step"] >= settings["burn_in"]]
    by_draw = settings["shared_dataset"] and used["draw"].nunique() >= 2
    survivors = run["replicas"] - run["diverged_replicas"]
    status = point_status(run["replicas"], run["diverged_replicas"])
    rows = []
    for cluster in clusters.itertuples(index=False):
        row = {
            "point": point["point"],
            **{name: point[name] for name in POINT_COLUMNS},
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
            row.update(fit_cluster(levels, groups, settings["surmise_bins"]))
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=column_names("fit"))


def continuum_slope(observable: str, target: np.ndarray) -> np.ndarray:
    """Continuum Coulomb-gas ⟨S⟩ / sqrt(α A/|B|) of a degenerate pair (β = 1).

    ``√π`` for singular values λ (Aarts, Lucini & Park 2025); eigenvalues ``x = λ²`` of
    ``X = WᵀW`` near ``x* = λ*²`` spread ``dx = 2λ* dλ``, giving ``2√π sqrt(x*)``.
    """
    if observable == "gram_eigenvalues":
        return 2 * np.sqrt(np.pi) * np.sqrt(target)
    return np.full(np.shape(target), np.sqrt(np.pi))


def scaling_table(
    sweep: pd.DataFrame, fits: pd.DataFrame, amplitude: str, observable: str
) -> pd.DataFrame:
    """Fits joined with the sweep, plus ``amplitude``, ``scale`` and ``continuum_slope``.

    ``amplitude`` names how the model's noise amplitude follows from the point:
    ``noise_squared`` (teacher–student, ``A = ε²``); ``scale = sqrt(ratio ×
    amplitude)``; `continuum_slope` depends on the ``observable``.
    """
    if amplitude != "noise_squared":
        raise ValueError(f"unknown amplitude {amplitude!r}")
    table = fits.merge(
        sweep[["experiment", "point", "ratio", "scans"]], on="point", validate="many_to_one"
    )
    table["amplitude"] = table["noise"] ** 2
    table["scale"] = np.sqrt(table["ratio"] * table["amplitude"])
    table["continuum_slope"] = continuum_slope(observable, table["target"].to_numpy())
    return table.sort_values(["cluster", "ratio", "point"], ignore_index=True)


def scaling_fits(scaling: pd.DataFrame) -> pd.DataFrame:
    """Lines through the origin of ⟨S⟩ and √π σ against ``scale`` per cluster (``scaling_fit``).

    Only points with status ``ok`` and clusters of at least two levels enter;
    ``continuum_slope`` is the cluster's continuum value (`continuum_slope`).
    """
    usable = scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]
    rows = []
    for (experiment, cluster), points in usable.groupby(["experiment", "cluster"]):
        quantities = {
            "mean_spacing": (points["mean_spacing"], points["mean_spacing_err"]),
            "sqrt_pi_sigma": (
                np.sqrt(np.pi) * points["sigma"],
                np.sqrt(np.pi) * points["sigma_err"],
            ),
        }
        for quantity, (value, error) in quantities.items():
            slope, slope_err, chi2_dof = line_through_origin(points["scale"], value, error)
            rows.append(
                {
                    "experiment": experiment,
                    "quantity": quantity,
                    "cluster": cluster,
                    "slope": slope,
                    "slope_err": slope_err,
                    "chi2_dof": chi2_dof,
                    "n_points": len(points),
                    "continuum_slope": points["continuum_slope"].iloc[0],
                }
            )
    return pd.DataFrame(rows, columns=column_names("scaling_fit"))
