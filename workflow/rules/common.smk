"""The sweep points, the layout of results/, and what each rule reads of the config."""

import functools
import math
import os
import re
import subprocess
import sys

from pandas import notna

from sgd_dyson.config import POINT_TYPES, ConfigError, canonical, point_id
from sgd_dyson import plotting
from sgd_dyson.models import MODELS
from sgd_dyson.models.base import SECONDS_PER_WORK_UNIT
from sgd_dyson.report import partial as partial_report
from sgd_dyson.stages import sweep


wildcard_constraints:
    experiment="|".join(re.escape(name) for name in config["experiments"]),
    point=r"[A-Za-z]+~[^/]+",


RESULTS = config["results"]
# A partial-report run (`sgd_dyson.report.partial`, after a failed `--keep-going` run)
# leaves out the experiments that did not finish; every other run has them all.
UNFINISHED = partial_report.read_unfinished(config["experiments"])
EXPERIMENTS = {
    name: experiment
    for name, experiment in config["experiments"].items()
    if name not in UNFINISHED
}


def model_of(experiment):
    """The `Model` of the experiment named ``experiment``."""
    return MODELS[EXPERIMENTS[experiment]["model"]]


# The points of every experiment, found once: external points are read from their
# files (only the small columns).
POINTS = {
    name: model_of(name).points(f"experiments.{name}", experiment)
    for name, experiment in EXPERIMENTS.items()
}
SWEEPS = {
    name: sweep.table(name, POINTS[name], config["seed"]).set_index("point", drop=False)
    for name in EXPERIMENTS
}
# Each point's row of its sweep table as a dict, looked up by id in every job's params: a
# pandas row per job (`DataFrame.loc`) took a third of the params' time of a large sweep.
POINT_ROWS = {
    name: dict(zip(SWEEPS[name]["point"], SWEEPS[name].to_dict("records")))
    for name in EXPERIMENTS
}
EXTERNAL_FILES = {
    (name, point_id(point)): point["files"]
    for name in EXPERIMENTS
    if not model_of(name).simulated
    for point in POINTS[name]
}


# Paths: one helper per kind of file; the defaults are the rules' wildcards.
def sweep_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/sweep.parquet"


def simulate_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/simulate/{point}.parquet"


def imported_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/imported/{point}.parquet"


def weights_file(experiment, point):
    """The snapshots of a point: simulated, or imported from external files."""
    path = simulate_file if model_of(experiment).simulated else imported_file
    return path(experiment, point)


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


def phase_replica_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/phase/{point}.parquet"


def phase_cell_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/phase_cell/{point}.parquet"


def initial_spectrum_file(experiment="{experiment}", point="{point}"):
    return f"{RESULTS}/{experiment}/initial_spectrum/{point}.parquet"


def wide_limit_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/wide_limit.parquet"


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


def scaling_exponents_file(experiment="{experiment}"):
    return f"{RESULTS}/{experiment}/scaling_exponents.parquet"


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
    files = [flow_file(e) for e in EXPERIMENTS if model_of(e).simulated]
    for experiment in EXPERIMENTS:
        per_point = [weights_file, spectrum_file, fit_file, density_fit_file]
        if model_of(experiment).has_theory(EXPERIMENTS[experiment]):
            per_point.append(theory_file)
        if model_of(experiment).has_phase_diagram(EXPERIMENTS[experiment]):
            per_point += [phase_replica_file, phase_cell_file]
        if experiment in WIDE_SERIES_OF:
            per_point.append(initial_spectrum_file)
            files.append(wide_limit_file(experiment))
        files += [
            path(experiment, point)
            for point in points(experiment)
            for path in per_point
        ]
    return files


def points(experiment):
    return SWEEPS[experiment]["point"].tolist()


def point_weights(wildcards):
    return weights_file(wildcards.experiment, wildcards.point)


def flow_input(wildcards):
    """The flow run; for external weights, the snapshots of the flow point itself."""
    experiment = wildcards.experiment
    if not model_of(experiment).simulated:
        return weights_file(experiment, flow_point(experiment)["point"])
    return flow_file(experiment)


def external_files(wildcards):
    """The source files holding an external point."""
    return EXTERNAL_FILES[wildcards.experiment, wildcards.point]


def theory_inputs(wildcards):
    """The theory files of an experiment whose model has a theory; none otherwise."""
    experiment = wildcards.experiment
    if not model_of(experiment).has_theory(EXPERIMENTS[experiment]):
        return []
    return per_point(theory_file)(wildcards)


def per_point(path):
    """Input function: ``path(experiment, point)`` for every point of the experiment."""
    return lambda wildcards: [
        path(wildcards.experiment, point) for point in points(wildcards.experiment)
    ]


# The wide-limit series: experiments sharing a `wide_limit` name, in config order.
WIDE_SERIES_OF = {
    name: EXPERIMENTS[name]["wide_limit"]
    for name in EXPERIMENTS
    if model_of(name).has_wide_limit(EXPERIMENTS[name])
}
WIDE_SERIES = {
    series: [name for name in WIDE_SERIES_OF if WIDE_SERIES_OF[name] == series]
    for series in dict.fromkeys(WIDE_SERIES_OF.values())
}


def report_tables(experiment):
    """The table pages of an experiment in the report."""
    wide = ["wide_limit"] if experiment in WIDE_SERIES_OF else []
    return ["fits", "residuals", *wide]


# The figures, drawn by the plots rule.
FIGURES = list(plotting.FIGURES)
"""Every figure, in report order (`sgd_dyson.plotting.FIGURES`)."""


def figures_of(experiment):
    """The figures of ``experiment`` (`sgd_dyson.plotting.figures_of`)."""
    series = WIDE_SERIES_OF.get(experiment)
    return plotting.figures_of(
        phase_diagram=model_of(experiment).has_phase_diagram(EXPERIMENTS[experiment]),
        wide_limit=series is not None,
        first_of_series=series is not None and WIDE_SERIES[series][0] == experiment,
    )


def figure_inputs(wildcards):
    """The tables the figure declares it reads (`FigureEntry.inputs`), by name."""
    files = {
        "scaling": scaling_file,
        "scaling_fit": scaling_fit_file,
        "scaling_exponents": scaling_exponents_file,
        "density_fits": density_fits_file,
        "spectra": lambda: [
            spectrum_file(wildcards.experiment, point)
            for point in points(wildcards.experiment)
        ],
        "flow": lambda: flow_input(wildcards),
        "phase_cells": lambda: per_point(phase_cell_file)(wildcards),
        "initial_spectra": lambda: per_point(initial_spectrum_file)(wildcards),
        "wide_limit": lambda: wide_limit_file(wildcards.experiment),
        "wide_series": lambda: [
            wide_limit_file(member)
            for member in WIDE_SERIES[WIDE_SERIES_OF[wildcards.experiment]]
        ],
    }
    return {name: files[name]() for name in plotting.FIGURES[wildcards.figure].inputs}


def figure_category(wildcards):
    """Report section of a figure: the eigenvalue flows open the report (sections sort by name)."""
    if wildcards.figure == "eigenvalue_flow":
        return "1. Eigenvalue flow"
    if "wide_series" in plotting.FIGURES[wildcards.figure].inputs:
        return f"2. Wide limit: {WIDE_SERIES_OF[wildcards.experiment]}"
    return wildcards.experiment


# What each rule reads of the config (a stage module's settings) is passed as params
# so that a config edit reruns exactly the jobs it touches.
def experiment_settings(stage_settings):
    """Params function: ``stage_settings(experiment)`` of the job's experiment.

    Built once per experiment, not once per job: every point's job of the rule
    shares them.
    """
    settings_of = functools.cache(
        lambda experiment: stage_settings(EXPERIMENTS[experiment])
    )
    return lambda wildcards: settings_of(wildcards.experiment)


def point_settings_of(stage_settings):
    """Params function: ``stage_settings(experiment, point)`` of the job's point."""
    return lambda wildcards: stage_settings(
        EXPERIMENTS[wildcards.experiment], point_of(wildcards)
    )


def flow_point(experiment):
    """The point of the eigenvalue-flow picture: the smallest α/|B| (or T)."""
    return SWEEPS[experiment].sort_values("ratio", kind="stable").iloc[0].to_dict()


def point_of(wildcards):
    return POINT_ROWS[wildcards.experiment][wildcards.point]


def point_settings(wildcards):
    """The point's id and swept parameters (the point columns of its tables)."""
    return point_columns(wildcards.experiment, wildcards.point)


@functools.cache
def point_columns(experiment, point):
    """`point_settings` of a point, built once for the several rules that pass it."""
    row = POINT_ROWS[experiment][point]
    return canonical(
        {key: row[key] for key in ["point", *POINT_TYPES] if notna(row[key])}
    )


# Cluster resources (workflow/profiles/slurm): runtime and memory per job.


def simulate_runtime(wildcards, attempt):
    """Minutes: the estimated cost times ``runtime_margin``, at least ``minimum_runtime``.

    A job killed at its wall-time limit and resubmitted by ``--retries`` asks
    for ``attempt`` times as much and resumes from its in-job checkpoint.
    """
    return attempt * point_runtime(wildcards.experiment, wildcards.point)


def point_runtime(experiment, point):
    """Minutes of a point's simulation at its first attempt (`simulate_runtime`)."""
    cluster = config["cluster"]
    row = POINT_ROWS[experiment][point]
    work = model_of(experiment).work(EXPERIMENTS[experiment], row)
    estimate = cluster["runtime_margin"] * SECONDS_PER_WORK_UNIT * work
    return max(cluster["minimum_runtime"], math.ceil(estimate / 60))


def runtime(minutes):
    """Resource function: ``minutes`` of wall time per attempt (grows on every retry)."""
    return lambda wildcards, attempt: attempt * max(
        minutes, config["cluster"]["minimum_runtime"]
    )


@functools.cache
def point_memory(experiment, point):
    """Megabytes a point's simulate or import job needs at its peak.

    Simulated: `Model.memory_bytes` (kept snapshots, working and chunk arrays).
    External weights: ten times the size of the files holding the point, plus 1 GB.
    Found once per point (the files are sized once), for the check of every point
    and the several rules that ask it.
    """
    model = model_of(experiment)
    if not model.simulated:
        size = sum(os.path.getsize(path) for path in EXTERNAL_FILES[experiment, point])
        return 1000 + math.ceil(10 * size / 1e6)
    row = POINT_ROWS[experiment][point]
    return math.ceil(model.memory_bytes(EXPERIMENTS[experiment], row) / 2**20)


def simulate_memory(wildcards):
    """Megabytes of a simulate or import job (`point_memory`)."""
    return point_memory(wildcards.experiment, wildcards.point)


def memory_limit():
    """Megabytes a job may use: ``cluster.max_memory_mb``, or this machine's physical memory."""
    limit = config["cluster"]["max_memory_mb"]
    if limit == "machine":
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return limit


def refuse_too_large_points():
    """Raise `ConfigError` before any job for the points whose job exceeds `memory_limit`.

    Names each such point with its memory and wall-time estimates (`point_memory`,
    `simulate_runtime` at the first attempt).
    """
    limit, too_large = memory_limit(), []
    source = (
        "cluster.max_memory_mb"
        if config["cluster"]["max_memory_mb"] != "machine"
        else "this machine's memory"
    )
    for experiment in EXPERIMENTS:
        for point in points(experiment):
            needed = point_memory(experiment, point)
            if needed > limit:
                runtime = (
                    f" and {point_runtime(experiment, point)} min"
                    if model_of(experiment).simulated
                    else ""
                )
                too_large.append(
                    f"experiments.{experiment}, point {point}: about {needed} MB"
                    f"{runtime} per job"
                )
    if too_large:
        raise ConfigError(
            f"config: {len(too_large)} job(s) would exceed {source} ({limit} MB): "
            + "; ".join(too_large)
            + " (fewer replicas, snapshots or a smaller size; on a cluster, set "
            "cluster.max_memory_mb to a node's memory)"
        )


refuse_too_large_points()


def build_partial_report():
    """After a failed ``--keep-going`` run: the report of the experiments that finished.

    Runs Snakemake once more for the report alone, leaving out the experiments
    with a job that did not finish (`sgd_dyson.report.partial`); the front page
    names them with the logs of their failed jobs.
    """
    if not workflow.execution_settings.keep_going or UNFINISHED:
        return
    failed = workflow.scheduler.failed
    unfinished = partial_report.unfinished_experiments(
        (job.wildcards_dict.get("experiment"), list(job.log), job in failed)
        for job in workflow.dag.needrun_jobs()
    )
    finished = [name for name in EXPERIMENTS if name not in unfinished]
    if not unfinished or not finished:
        return
    log = log_file("partial_report")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    print(
        f"Not finished: {', '.join(unfinished)}. Building {report_file()} for the "
        f"experiments that finished ({', '.join(finished)}); log: {log}",
        file=sys.stderr,
    )
    command = partial_report.partial_report_command(
        sys.executable,
        workflow.main_snakefile,
        workflow.config_settings.configfiles,
        workflow.config_settings.config_args,
        report_file(),
    )
    with open(log, "w") as output:
        built = subprocess.run(
            command,
            env=partial_report.unfinished_environment(unfinished),
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    outcome = "built" if built.returncode == 0 else "could not be built (see its log)"
    print(f"The partial report {report_file()} {outcome}.", file=sys.stderr)
