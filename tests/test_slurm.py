"""The SLURM profile against a real single-node SLURM cluster started for these tests.

Skipped, with the reason, where SLURM is not installed; `.ci/run` installs it
and sets SGD_DYSON_REQUIRE_SLURM=1, which turns that skip into a failure.
"""

import os
import re
import signal
from pathlib import Path

import pytest
import yaml
from slurm_cluster import job_table, single_node_cluster, unavailable_reason
from workflow_runs import CLUSTER_CONFIG, REPOSITORY, assert_same_tables, snakemake

pytestmark = pytest.mark.workflow

PROFILE = REPOSITORY / "workflow" / "profiles" / "slurm"
# What a cluster without an accounting database needs, and quick status checks.
TEST_CLUSTER_OPTIONS = [
    "--workflow-profile",
    str(PROFILE),
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    # A one-node test cluster answers at once: poll every 2 s, not Snakemake's 10.
    "--seconds-between-status-checks",
    "2",
    "--latency-wait",
    "5",
]
LOCAL_RULES = {"sweep", "scaling", "plots", "report", "all"}
TIMEOUT = 900
"""Seconds before a run counts as hung (a job SLURM can never schedule waits forever)."""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("SGD_DYSON_REQUIRE_SLURM") == "1":
            pytest.fail(f"SGD_DYSON_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    # A terminated test run still stops the daemons (pytest tears down on KeyboardInterrupt).
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with single_node_cluster(tmp_path_factory.mktemp("slurm")) as directory:
            yield directory
    finally:
        signal.signal(signal.SIGTERM, previous)


def submitted_jobs(output: str) -> list[str]:
    """SLURM job ids that Snakemake reports having submitted, in order."""
    return re.findall(r"submitted with SLURM jobid (\d+)", output)


def jobs_of(ids: list[str]) -> list[dict[str, str]]:
    table = {job["id"]: job for job in job_table()}
    return [table[job_id] for job_id in ids]


def show_jobs(jobs: list[dict[str, str]], capsys) -> None:
    """Print the jobs as a table into the test log, even when the test passes."""
    columns = ["id", "state", "time_limit", "elapsed", "cpus", "memory", "comment"]
    with capsys.disabled():
        print("\nSLURM jobs of the run (" + " | ".join(columns) + "):")
        for job in jobs:
            print("  " + " | ".join(job[column] for column in columns))


def test_the_profile_runs_the_study_through_sbatch_with_identical_results(
    slurm, cluster_reference, tmp_path, capsys
):
    result = snakemake(
        tmp_path, *TEST_CLUSTER_OPTIONS, config=CLUSTER_CONFIG, cores=None, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr[-5000:]
    jobs = jobs_of(submitted_jobs(result.stderr))
    show_jobs(jobs, capsys)
    assert jobs and all(job["state"] == "COMPLETED" for job in jobs)
    # Snakemake names the rules of each SLURM job in its comment, e.g.
    # "rule_point_fit_simulate_spectrum_theory" for a group job.
    rules = {rule for job in jobs for rule in re.findall(r"[a-z]+", job["comment"])}
    assert {"simulate", "spectrum", "fit", "theory", "flow"} <= rules
    assert not rules & LOCAL_RULES
    assert_same_tables(tmp_path, cluster_reference)


def test_a_job_killed_at_its_time_limit_comes_back_with_more_time_and_resumes(
    slurm, tmp_path, capsys
):
    """One simulation of about two minutes on one core, given one minute by its first attempt.

    The second attempt (two minutes) resumes from the first one's checkpoint.
    """
    config = {
        "seed": 11,
        "checkpoint_every": 2,
        "cluster": {"minimum_runtime": 1, "runtime_margin": 1.0e-6},
        "experiments": {
            "slow": {
                "model": "teacher_student",
                "size": 2,
                "teacher": [2.0, 2.0],
                "dataset": "online",
                "steps": 1000000,
                "replicas": 500,
                "snapshot_every": 100000,
                "burn_in": 300000,
                "sweep": [{"learning_rate": [0.1], "batch_size": [16], "noise": [0.1]}],
            }
        },
    }
    config_file = tmp_path / "slow.yaml"
    config_file.write_text(yaml.safe_dump(config))
    target = "results/slow/simulate/lr~0.1_bs~16_noise~0.1.parquet"
    result = snakemake(
        tmp_path, target, *TEST_CLUSTER_OPTIONS, config=config_file, cores=None, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr[-5000:]
    jobs = jobs_of(submitted_jobs(result.stderr))
    show_jobs(jobs, capsys)
    assert [(job["state"], job["time_limit"]) for job in jobs] == [
        ("TIMEOUT", "1:00"),
        ("COMPLETED", "2:00"),
    ]
    log = Path(tmp_path / "results" / "logs" / "simulate" / "slow" / "lr~0.1_bs~16_noise~0.1.log")
    assert "resuming from the checkpoint" in log.read_text()
    assert (tmp_path / target).exists()
