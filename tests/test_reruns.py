"""Selective reruns: what a user changes, and the jobs Snakemake runs for it (never simulations)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_runs import REPOSITORY, TINY_CONFIG, finished_jobs, job_counts, snakemake

from sgd_dyson.config import validate_config
from sgd_dyson.models import MODELS
from sgd_dyson.plotting import figures_of
from sgd_dyson.stages.sweep import experiment_table

pytestmark = pytest.mark.workflow

TINY = validate_config(yaml.safe_load(TINY_CONFIG.read_text()))
EXPERIMENTS = TINY["experiments"]
POINTS = {
    name: len(experiment_table(name, experiment, TINY["seed"]))
    for name, experiment in EXPERIMENTS.items()
}
FIGURE_COUNT = len(figures_of(phase_diagram=False))
"""The figures of an experiment without a phase diagram or wide limit. Every figure reads the
scaling table: what reruns it reruns all of an experiment's figures."""
EVERY_FIGURE = sum(
    len(
        figures_of(
            MODELS[experiment["model"]].has_phase_diagram(experiment),
            MODELS[experiment["model"]].has_wide_limit(experiment),
            first_of_series=True,  # the tiny study has one experiment per series
        )
    )
    for experiment in EXPERIMENTS.values()
)
"""The figures of every experiment of the tiny study (a phase diagram has its maps too)."""


def planned(workdir: Path, *arguments: str, **options) -> dict[str, int]:
    """Jobs per rule that a dry run with ``arguments`` plans in ``workdir``."""
    result = snakemake(workdir, "--dry-run", *arguments, **options)
    assert result.returncode == 0, result.stderr[-5000:]
    if "Nothing to be done" in result.stdout + result.stderr:
        return {}
    return job_counts(result.stdout)


def edited_config(directory: Path, edit) -> Path:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    edit(config)
    path = directory / "edited.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def copy_of(run: Path, destination: Path) -> Path:
    """A copy of a finished run, timestamps and Snakemake's records included."""
    return shutil.copytree(run, destination, symlinks=True)


def test_changing_a_fit_setting_reruns_only_fit_and_later_stages(tiny_run, tmp_path):
    def finer_surmise_test(config):
        config["experiments"]["online"]["fit"] = {"surmise_bins": 10}

    config = edited_config(tmp_path, finer_surmise_test)
    assert planned(tiny_run, config=config) == {
        "fit": POINTS["online"],
        "scaling": 1,
        "plots": FIGURE_COUNT,
        "front_page": 1,
        "report": 1,
        "all": 1,
    }


def test_adding_a_point_runs_only_that_point_and_the_aggregation(tiny_run, tmp_path):
    def one_more_learning_rate(config):
        config["experiments"]["online"]["sweep"].append(
            {"learning_rate": [0.3], "batch_size": [16], "noise": [0.1]}
        )

    config = edited_config(tmp_path, one_more_learning_rate)
    per_point = {"simulate": 1, "spectrum": 1, "fit": 1, "theory": 1}
    aggregation = {
        "sweep": 1,
        "scaling": 1,
        "plots": FIGURE_COUNT,
        "front_page": 1,
        "report": 1,
        "all": 1,
    }
    assert planned(tiny_run, config=config) == per_point | aggregation


def test_until_simulate_runs_simulations_only(tmp_path):
    assert planned(tmp_path, "--until", "simulate") == {"simulate": sum(POINTS.values())}


def test_forcerun_scaling_reruns_scaling_and_what_reads_it(tiny_run):
    experiments = len(EXPERIMENTS)
    wide = sum(MODELS[e["model"]].has_wide_limit(e) for e in EXPERIMENTS.values())
    assert planned(tiny_run, "--forcerun", "scaling") == {
        "scaling": experiments,
        "wide_limit": wide,
        "plots": EVERY_FIGURE,
        "front_page": 1,
        "report": 1,
        "all": 1,
    }


def test_a_deleted_spectrum_is_rebuilt_alone(tiny_run, tmp_path):
    run = copy_of(tiny_run, tmp_path / "run")
    spectrum = Path("results/online/spectrum/lr~0.1_bs~8_noise~0.1.parquet")
    (run / spectrum).unlink()
    # A plain run rebuilds it and what reads it (Snakemake cannot know the new
    # file will be the same), but no simulation.
    assert planned(run) == {
        "spectrum": 1,
        "fit": 1,
        "scaling": 1,
        "plots": FIGURE_COUNT,
        "front_page": 1,
        "report": 1,
        "all": 1,
    }
    # Named as the target it is rebuilt alone, identical, and the workflow is complete.
    result = snakemake(run, str(spectrum))
    assert result.returncode == 0, result.stderr[-5000:]
    assert finished_jobs(result.stderr) == {"spectrum": 1}
    pd.testing.assert_frame_equal(
        pd.read_parquet(run / spectrum), pd.read_parquet(tiny_run / spectrum), check_exact=True
    )
    assert planned(run) == {}


def test_editing_a_plotting_script_reruns_only_plots(tiny_run, tmp_path):
    repository = tmp_path / "repository"
    repository.mkdir()
    shutil.copy2(REPOSITORY / "Snakefile", repository)
    shutil.copytree(REPOSITORY / "workflow", repository / "workflow", symlinks=True)
    run = copy_of(tiny_run, tmp_path / "run")
    snakefile = repository / "Snakefile"
    # The copy keeps timestamps: nothing is out of date but the report, whose
    # nested `snakemake --report` call names the Snakefile.
    assert planned(run, snakefile=snakefile) == {"report": 1, "all": 1}
    with open(repository / "workflow" / "scripts" / "plots.py", "a") as script:
        script.write("# an edit\n")
    assert planned(run, snakefile=snakefile) == {
        "plots": EVERY_FIGURE,
        "front_page": 1,
        "report": 1,
        "all": 1,
    }
