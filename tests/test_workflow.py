"""The workflow end to end: a tiny study in a temporary folder, reruns, lint and format."""

import subprocess
import sys

import pandas as pd
import pytest
import yaml
from workflow_runs import REPOSITORY, TINY_CONFIG, job_counts, snakemake

from sgd_dyson.config import validate_config
from sgd_dyson.models import model_of
from sgd_dyson.plotting import figures_of
from sgd_dyson.simulation import snapshot_steps
from sgd_dyson.spectra import clusters_of_levels, layered_levels
from sgd_dyson.stages.scaling import RESIDUAL_COLUMNS
from sgd_dyson.stages.sweep import experiment_table
from sgd_dyson.tables import column_names, read_table

pytestmark = pytest.mark.workflow


def tiny_config() -> dict:
    return validate_config(yaml.safe_load(TINY_CONFIG.read_text()))


def test_tiny_study_tables_follow_the_contract(tiny_run):
    config = tiny_config()
    for name, experiment in config["experiments"].items():
        model = model_of(experiment)
        root = tiny_run / "results" / name
        sweep = read_table(root / "sweep.parquet", "sweep")
        expected_points = experiment_table(name, experiment, config["seed"])
        pd.testing.assert_frame_equal(sweep, expected_points, check_dtype=False)
        layers = model.layer_targets(experiment)
        clusters = (
            clusters_of_levels(
                layered_levels(layers, experiment["cluster_tolerance"]), experiment["observable"]
            )
            if all(targets != "auto" for _, targets in layers)
            else None
        )  # auto: found per point
        scaling = read_table(root / "scaling.parquet", "scaling")
        if clusters is not None:
            assert len(scaling) == len(sweep) * len(clusters)
        densities = read_table(root / "density_fits.parquet", "density_fits")
        fitted_points = scaling.loc[scaling["replicas"] >= 2, "point"]
        assert set(densities["point"]) == set(fitted_points)  # none without survivors
        snapshots = snapshot_steps(experiment["steps"], model.snapshot_every(experiment))
        for point in sweep["point"]:
            simulated = read_table(root / "simulate" / f"{point}.parquet", "simulate")
            spectrum = read_table(root / "spectrum" / f"{point}.parquet", "spectrum")
            fit = read_table(root / "fit" / f"{point}.parquet", "fit")
            read_table(root / "density_fit" / f"{point}.parquet", "density_fit")
            assert list(fit.columns) == column_names("fit")
            if clusters is not None:
                assert list(fit["levels"]) == list(clusters["levels"])
                assert list(fit["layer"]) == list(clusters["layer"])
            diverged = scaling.loc[scaling["point"] == point, "diverged_replicas"].iloc[0]
            rows = (experiment["replicas"] - diverged) * snapshots.size
            assert len(simulated) == rows * len(layers)
            # One row per level: min(rows, cols) singular values of every layer's matrix.
            levels = simulated.groupby("layer")[["rows", "cols"]].first().min(axis=1).sum()
            assert len(spectrum) == rows * levels
            if rows:  # every layer of every surviving replica
                assert sorted(spectrum["layer"].unique()) == [layer for layer, _ in layers]
        residuals = pd.read_csv(root / "residuals.csv")
        assert list(residuals.columns) == RESIDUAL_COLUMNS
        theory = scaling["mean_spacing_theory"].notna() | scaling["center_theory"].notna()
        predicted = (scaling["status"] == "ok") & theory  # a single level: a centre, no ⟨S⟩
        assert len(residuals) == predicted.sum()
        assert predicted.any() == model.has_theory(experiment)
        lines = read_table(root / "scaling_fit.parquet", "scaling_fit")
        if clusters is not None:
            fitted = (clusters["levels"] >= 2).sum() + ((clusters["levels"] == 2).sum() > 1)
            assert sorted(lines["quantity"]) == sorted(["mean_spacing", "sqrt_pi_sigma"] * fitted)
        drawn = figures_of(
            model.has_phase_diagram(experiment),
            model.has_wide_limit(experiment),
            first_of_series=True,  # the tiny study has one experiment per series
        )
        for plot in drawn:
            for extension in ["png", "pdf"]:
                assert (root / "plots" / f"{plot}.{extension}").stat().st_size > 0
    assert (tiny_run / "results" / "report.html").stat().st_size > 0


def test_stable_points_have_statistics_and_diverged_points_have_none(tiny_run):
    statistics = ["mean_spacing", "mean_spacing_err", "sigma", "sigma_err", "beta", "beta_err"]
    for name in ["paper", "online"]:
        scaling = read_table(tiny_run / "results" / name / "scaling.parquet", "scaling")
        assert (scaling["status"] == "ok").all()
        assert scaling[statistics].notna().all().all()
    unstable = read_table(tiny_run / "results" / "unstable" / "scaling.parquet", "scaling")
    unstable = unstable.set_index("learning_rate")
    assert unstable.loc[0.1, "status"] == "ok"
    assert unstable.loc[3.0, "status"] == "all_diverged"
    assert unstable.loc[3.0, "diverged_replicas"] == 20
    assert unstable.loc[3.0, statistics].isna().all()
    # Some replicas diverged: the survivors' statistics are reported, the point is marked,
    # warned about and left out of the fitted line.
    edge = unstable.loc[1.0]
    assert edge["status"] == "diverged" and 0 < edge["diverged_replicas"] < 20
    assert edge["replicas"] + edge["diverged_replicas"] == 20
    assert pd.notna(edge["mean_spacing"])
    lines = read_table(tiny_run / "results" / "unstable" / "scaling_fit.parquet", "scaling_fit")
    assert (lines["n_points"] == 1).all()  # only α = 0.1
    log = (tiny_run / "results" / "logs" / "scaling" / "unstable.log").read_text()
    assert "point lr~3.0_bs~8_noise~0.1: 20 of 20 replicas diverged (all_diverged)" in log
    assert f"point lr~1.0_bs~1_noise~0.1: {edge['diverged_replicas']} of 20 replicas" in log
    simulate_log = (
        tiny_run / "results" / "logs" / "simulate" / "unstable" / "lr~1.0_bs~1_noise~0.1.log"
    )
    assert "replicas diverged" in simulate_log.read_text()


def test_a_second_run_does_nothing(tiny_run):
    result = snakemake(tiny_run, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def test_results_do_not_depend_on_the_number_of_cores(tiny_run, tmp_path):
    result = snakemake(tmp_path, "--until", "simulate", "--cores", "1")
    assert result.returncode == 0, result.stderr[-5000:]
    for path in (tiny_run / "results").glob("*/simulate/*.parquet"):
        single_core = tmp_path / path.relative_to(tiny_run)
        pd.testing.assert_frame_equal(
            read_table(single_core, "simulate"), read_table(path, "simulate")
        )


def test_an_invalid_config_fails_early_naming_the_key(tmp_path):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["experiments"]["paper"]["teacher"] = [2.0, 2.0, 2.0]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", config=broken)
    assert result.returncode != 0
    assert "experiments.paper.teacher has 3 values but experiments.paper.size is 2" in (
        result.stdout + result.stderr
    )
    assert not (tmp_path / "results").exists()


def test_the_default_config_plans_the_paper_study(tmp_path):
    result = snakemake(tmp_path, "--dry-run", config=None)
    assert result.returncode == 0, result.stderr[-5000:]
    counts = job_counts(result.stdout)
    # The paper's 14 points, the 6 × 5 online grid, 3 + 3 hidden-layer points, 3 Dyson
    # temperatures, 5 RBM points, the tanh network's 6, the 6 × 6 phase diagram, the
    # three widths of the wide limit (one point each, and one series figure), and the 2 × 3
    # momentum and Adam grids and the AdamW network's 4.
    assert counts["simulate"] == 14 + 30 + 3 + 3 + 3 + 5 + 6 + 36 + 3 + 6 + 6 + 4
    assert counts["phase"] == 36
    assert counts["initial_spectrum"] == counts["wide_limit"] == 3
    assert counts["report"] == 1


def python_module(*arguments: str) -> subprocess.CompletedProcess:
    """Run ``python -m <arguments>`` in the repository."""
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        check=False,
    )


def test_ruff_finds_no_python_problems():
    for check in (["check"], ["format", "--check"]):
        result = python_module("ruff", *check, ".")
        assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean():
    result = python_module("snakemake", "--lint", "--configfile", str(TINY_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_finds_nothing_to_reformat():
    result = python_module("snakefmt", "--check", "Snakefile", "workflow")
    assert result.returncode == 0, result.stderr
