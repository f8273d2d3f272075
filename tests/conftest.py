"""Make the `sgd_dyson` package importable, and run the small studies the tests share."""

import sys
from pathlib import Path

import pytest
from workflow_runs import CLUSTER_CONFIG, TINY_CONFIG, snakemake

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))


def completed_run(workdir: Path, config: Path) -> Path:
    result = snakemake(workdir, config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """tests/configs/tiny.yaml, run once to completion (report included)."""
    return completed_run(tmp_path_factory.mktemp("tiny"), TINY_CONFIG)


@pytest.fixture(scope="session")
def cluster_reference(tmp_path_factory) -> Path:
    """tests/configs/cluster.yaml, run once, locally and uninterrupted, with ``--cores 2``."""
    return completed_run(tmp_path_factory.mktemp("cluster-reference"), CLUSTER_CONFIG)
