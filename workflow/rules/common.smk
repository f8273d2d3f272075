"""The sweep points, the layout of results/, and what each rule reads of the config."""

import math
import os
import re

from sgd_dyson.config import (
    fit_settings,
    simulation_settings,
    spectrum_settings,
    sweep_settings,
    sweep_table,
)

RESULTS = config["results"]
EXPERIMENTS = config["experiments"]
SWEEPS = {
    name: sweep_table(name, experiment, config["seed"]).set_index("point", drop=False)
    for name, experiment in EXPERIMENTS.items()
}
PLOTS = [
    "spectrum_histograms",
    "spacing_distribution",
    "scaling",
    "sigma_vs_spacing",
    "collapse",
]


wildcard_constraints:
    experiment="|".join(re.escape(name) for name in EXPERIMENTS),
    point=r"lr~[^_/]+_bs~[0-9]+_noise~[^_/]+",
    plot="|".join(PLOTS),


# Paths: one helper per kind of file; the defaults are the rules' wildcards.
def sweep_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/sweep.parquet"


def simulate_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/simulate/{point}.parquet"


def spectrum_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/spectrum/{point}.parquet"


def fit_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/fit/{point}.parquet"


def scaling_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/scaling.parquet"


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


def points(experiment):
    return SWEEPS[experiment]["point"].tolist()


def per_point(path):
    """Input function: ``path(experiment, point)`` for every point of the experiment."""
    return lambda wildcards: [
        path(wildcards.experiment, point) for point in points(wildcards.experiment)
    ]


# What each rule reads of the config, passed as params so that a config edit
# reruns exactly the jobs it touches.
def point_of(wildcards):
    return SWEEPS[wildcards.experiment].loc[wildcards.point].to_dict()


def simulation_params(wildcards):
    return simulation_settings(EXPERIMENTS[wildcards.experiment], point_of(wildcards))


def replica_steps(wildcards):
    experiment = EXPERIMENTS[wildcards.experiment]
    return experiment["replicas"] * experiment["steps"] * experiment["size"] ** 2


def simulate_runtime(wildcards):
    """Minutes: ~1e-7 s per replica-step-entry measured on one core, with a 20× margin."""
    return max(10, math.ceil(20 * 1e-7 * replica_steps(wildcards) / 60))


def simulate_memory(wildcards):
    experiment = EXPERIMENTS[wildcards.experiment]
    snapshots = experiment["steps"] // experiment["snapshot_every"] + 1
    weights = experiment["replicas"] * snapshots * experiment["size"] ** 2
    return 1000 + math.ceil(3 * 8 * weights / 1e6)


def point_settings(wildcards):
    point = point_of(wildcards)
    return {
        key: point[key] for key in ["point", "learning_rate", "batch_size", "noise"]
    }
