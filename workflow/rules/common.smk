"""The sweep points, the layout of results/, and what each rule reads of the config."""

import math
import os
import re

from pandas import notna

from sgd_dyson.external import external_points
from sgd_dyson.config import (
    FIGURES,
    POINT_TYPES,
    point_id,
    canonical,
    flow_settings,
    fit_settings,
    import_settings,
    matrix_size,
    THEORY_MODELS,
    scaling_settings,
    theory_settings,
    simulation_settings,
    spectrum_settings,
    sweep_settings,
    sweep_table,
)

RESULTS = config["results"]
EXPERIMENTS = config["experiments"]
# External weights: the points are those found in the files (only their small columns are read).
for name, experiment in EXPERIMENTS.items():
    if experiment["model"] == "external":
        experiment["points"] = external_points(f"experiments.{name}", experiment)
EXTERNAL_FILES = {
    (name, point_id(point)): point["files"]
    for name, experiment in EXPERIMENTS.items()
    if experiment["model"] == "external"
    for point in experiment["points"]
}
SWEEPS = {
    name: sweep_table(name, experiment, config["seed"]).set_index("point", drop=False)
    for name, experiment in EXPERIMENTS.items()
}


wildcard_constraints:
    experiment="|".join(re.escape(name) for name in EXPERIMENTS),
    point=r"[A-Za-z]+~[^/]+",


# Paths: one helper per kind of file; the defaults are the rules' wildcards.
def sweep_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/sweep.parquet"


def simulate_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/simulate/{point}.parquet"


def imported_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/imported/{point}.parquet"


def is_external(experiment):
    return EXPERIMENTS[experiment]["model"] == "external"


def weights_file(experiment, point):
    """The snapshots of a point: simulated, or imported from external files."""
    return (imported_file if is_external(experiment) else simulate_file)(
        experiment, point
    )


def spectrum_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/spectrum/{point}.parquet"


def fit_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/fit/{point}.parquet"


def flow_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/flow.parquet"


def checkpoint_file(experiment="{experiment}", point="{point}"):
    """In-job checkpoint of a simulation: undeclared, so Snakemake never deletes it."""
    return f"{RESULTS}/checkpoints/{experiment}/{point}.npz"


def density_fit_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/density_fit/{point}.parquet"


def density_fits_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/density_fits.parquet"


def theory_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/theory/{point}.parquet"


def scaling_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/scaling.parquet"


def residuals_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/residuals.csv"


def table_file(table, experiment="{experiment}"):
    """A table of the report, as an HTML page."""
    return f"{RESULTS}/{experiment}/tables/{table}.html"


def front_page_file():
    return f"{RESULTS}/front_page.html"


def scaling_fit_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/scaling_fit.parquet"


def plot_file(plot, extension, experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/plots/{plot}.{extension}"


def log_file(rule, *wildcards):
    return os.path.join(RESULTS, "logs", rule, *(wildcards or ["all"])) + ".log"


def benchmark_file(rule, *wildcards):
    return os.path.join(RESULTS, "benchmarks", rule, *(wildcards or ["all"])) + ".tsv"


def report_file():
    return f"{RESULTS}/report.html"


def all_results():
    """Every per-point table and flow table of every experiment (the report needs the rest)."""
    files = [flow_file(e) for e in EXPERIMENTS if not is_external(e)]
    for experiment in EXPERIMENTS:
        per_point = [weights_file, spectrum_file, fit_file, density_fit_file]
        if EXPERIMENTS[experiment]["model"] in THEORY_MODELS:
            per_point.append(theory_file)
        files += [
            path(experiment, point)
            for point in points(experiment)
            for path in per_point
        ]
    return files


def report_category(plot):
    """Report section of a figure: the eigenvalue flows open the report (sections sort by name)."""
    return "1. Eigenvalue flow" if plot == "eigenvalue_flow" else "{experiment}"


def points(experiment):
    return SWEEPS[experiment]["point"].tolist()


def point_weights(wildcards):
    return weights_file(wildcards.experiment, wildcards.point)


def flow_input(wildcards):
    """The flow run; for external weights, the snapshots of the flow point itself."""
    experiment = wildcards.experiment
    if is_external(experiment):
        return weights_file(experiment, flow_point(experiment)["point"])
    return flow_file(experiment)


def external_files(wildcards):
    """The source files holding an external point."""
    return EXTERNAL_FILES[wildcards.experiment, wildcards.point]


def theory_inputs(wildcards):
    """The theory files of an experiment whose model has a theory; none otherwise."""
    if EXPERIMENTS[wildcards.experiment]["model"] not in THEORY_MODELS:
        return []
    return per_point(theory_file)(wildcards)


def per_point(path):
    """Input function: ``path(experiment, point)`` for every point of the experiment."""
    return lambda wildcards: [
        path(wildcards.experiment, point) for point in points(wildcards.experiment)
    ]


# What each rule reads of the config, passed as params so that a config edit
# reruns exactly the jobs it touches.
def flow_point(experiment):
    """The point of the eigenvalue-flow picture: the smallest α/|B| (or T)."""
    return SWEEPS[experiment].sort_values("ratio", kind="stable").iloc[0].to_dict()


def point_of(wildcards):
    return SWEEPS[wildcards.experiment].loc[wildcards.point].to_dict()


def simulation_params(wildcards):
    return simulation_settings(EXPERIMENTS[wildcards.experiment], point_of(wildcards))


SECONDS_PER_WORK_UNIT = 4e-7
"""Measured cost of a simulation per replica, step and weight entry (× Gibbs work for the RBM),
start-up included, on one core of the development machine (an upper bound over the models)."""


def simulation_work(wildcards):
    """Replicas × steps × N², times Gibbs sweeps × |B| for the RBM (its chains dominate)."""
    experiment = EXPERIMENTS[wildcards.experiment]
    work = experiment["replicas"] * experiment["steps"] * matrix_size(experiment) ** 2
    if experiment["model"] == "gaussian_rbm":
        work *= experiment["gibbs_steps"] * point_of(wildcards)["batch_size"]
    return work


def simulate_runtime(wildcards, attempt):
    """Minutes: the estimated cost times ``runtime_margin``, at least ``minimum_runtime``.

    A job killed at its wall-time limit and resubmitted by ``--retries`` asks
    for ``attempt`` times as much and resumes from its in-job checkpoint.
    """
    cluster = config["cluster"]
    estimate = (
        cluster["runtime_margin"] * SECONDS_PER_WORK_UNIT * simulation_work(wildcards)
    )
    return attempt * max(cluster["minimum_runtime"], math.ceil(estimate / 60))


def runtime(minutes):
    """Resource function: ``minutes`` of wall time per attempt (grows on every retry)."""
    return lambda wildcards, attempt: attempt * max(
        minutes, config["cluster"]["minimum_runtime"]
    )


def simulate_memory(wildcards):
    """Megabytes: the kept snapshots, three copies of them (table, arrays, Arrow), plus 1 GB.

    For external weights: ten times the size of the files holding the point.
    """
    experiment = EXPERIMENTS[wildcards.experiment]
    if experiment["model"] == "external":
        size = sum(os.path.getsize(path) for path in external_files(wildcards))
        return 1000 + math.ceil(10 * size / 1e6)
    snapshots = experiment["steps"] // experiment["snapshot_every"] + 1
    weights = experiment["replicas"] * snapshots * matrix_size(experiment) ** 2
    return 1000 + math.ceil(3 * 8 * weights / 1e6)


def point_settings(wildcards):
    point = point_of(wildcards)
    return canonical(
        {key: point[key] for key in ["point", *POINT_TYPES] if notna(point[key])}
    )
