"""A real run, hard-killed mid-simulation, finished by the documented resume commands."""

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from workflow_runs import (
    CLUSTER_CONFIG,
    assert_same_tables,
    finished_jobs,
    incomplete_files,
    result_files,
    snakemake,
    snakemake_command,
)

pytestmark = pytest.mark.workflow

LONG_POINT = "long/simulate/lr~0.1_bs~16_noise~0.1.parquet"


def stamp(path: Path) -> tuple[int, str]:
    """Modification time and content hash: a recomputed file changes the first."""
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run did not get far enough to be killed"
        time.sleep(0.1)


def test_a_hard_killed_run_resumes_without_losing_or_repeating_work(cluster_reference, tmp_path):
    results = tmp_path / "results"
    checkpoints = results / "checkpoints" / "long"
    run = subprocess.Popen(
        snakemake_command(tmp_path, config=CLUSTER_CONFIG),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: Snakemake and every job
    )

    def finished_simulations() -> set[Path]:
        tables = {path.relative_to(tmp_path) for path in results.glob("short/simulate/*")}
        return tables - incomplete_files(tmp_path)

    try:
        # Kill once the long simulation has saved a checkpoint and a short one has finished.
        wait_for(lambda: any(checkpoints.glob("*.npz")) and finished_simulations(), run)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert not (results / LONG_POINT).exists()
    finished = {
        path: stamp(tmp_path / path)
        for path in result_files(tmp_path)
        if path not in incomplete_files(tmp_path)
    }
    assert finished_simulations() <= finished.keys()

    unlock = snakemake(tmp_path, "--unlock", config=CLUSTER_CONFIG)
    assert unlock.returncode == 0, unlock.stderr[-5000:]
    resume = snakemake(tmp_path, "--rerun-incomplete", config=CLUSTER_CONFIG)
    assert resume.returncode == 0, resume.stderr[-5000:]

    assert {path: stamp(tmp_path / path) for path in finished} == finished
    simulations = len(list(cluster_reference.glob("results/*/simulate/*.parquet")))
    simulations_finished = sum(path.parts[2] == "simulate" for path in finished)
    assert finished_jobs(resume.stderr)["simulate"] == simulations - simulations_finished
    log = results / "logs" / "simulate" / "long" / "lr~0.1_bs~16_noise~0.1.log"
    assert "resuming from the checkpoint" in log.read_text()
    assert not any(checkpoints.glob("*"))
    assert_same_tables(tmp_path, cluster_reference)
