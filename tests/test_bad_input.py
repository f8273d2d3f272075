"""Bad input end to end: a clear early error, a non-zero exit, earlier results untouched.

Each case runs Snakemake on a copy of the finished tiny study, so that there are
earlier results to keep. The unit-level checks of every config key and every
rule of the weights format are in test_config.py and test_external.py.
"""

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from workflow_runs import TINY_CONFIG, result_files, snakemake

pytestmark = pytest.mark.workflow

POINT = "lr~0.1_bs~8_noise~0.1"


@pytest.fixture
def finished(tiny_run, tmp_path) -> Path:
    """A copy of the finished tiny study (results and Snakemake's records)."""
    copy = tmp_path / "study"
    shutil.copytree(tiny_run, copy, symlinks=True)
    return copy


def fingerprints(workdir: Path) -> dict[Path, str]:
    return {
        path: hashlib.sha256((workdir / path).read_bytes()).hexdigest()
        for path in result_files(workdir)
    }


def broken_config(folder: Path, edit) -> Path:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    edit(config["experiments"])
    for experiment in config["experiments"].values():  # None: leave the key out
        for key in [key for key, value in experiment.items() if value is None]:
            del experiment[key]
    path = folder / "broken.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda e: e["paper"].update(model="mlp"),
            "experiments.paper.model: 'mlp' is not one of",
        ),
        (
            lambda e: e["online"]["sweep"][0].update(learning_rate=[-0.1]),
            "experiments.online.sweep[0].learning_rate[0]: -0.1 is less than or equal to "
            "the minimum of 0",
        ),
        (
            lambda e: e["paper"].update(dataset_size=10, batches_per_epoch=None),
            "experiments.paper.sweep[0].batch_size has 16, larger than the dataset",
        ),
        (lambda e: e["rbm"].update(replicas=20.5), "experiments.rbm.replicas: 20.5 is not of type"),
        (
            lambda e: e["dyson"]["sweep"][0].update(temperature=["1e-3"]),
            "experiments.dyson.sweep[0].temperature[0]: '1e-3' is not of type 'number' "
            "(YAML reads 1e-3 as a string: write numbers like 1.0e-3)",
        ),
        (
            lambda e: e["online"].update(sweep=[]),
            "experiments.online.sweep: [] should be non-empty",
        ),
        (
            lambda e: e["online"]["sweep"][0].update(batch_size=[8, 16, 8]),
            "experiments.online.sweep[0].batch_size lists a value twice: [8, 16, 8]",
        ),
        (
            lambda e: e["online"].update(observable="eigenvalues"),
            "experiments.online.observable: 'eigenvalues' is not one of",
        ),
        (
            lambda e: e.update(
                mine={"model": "external", "source": "runs/*.parquet", "targets": "auto"}
                | {"amplitude": "one"}
            ),
            "experiments.mine.source: 'runs/*.parquet' matches no file",
        ),
    ],
)
def test_a_bad_config_fails_before_any_job_and_touches_nothing(finished, edit, message):
    before = fingerprints(finished)
    result = snakemake(finished, config=broken_config(finished, edit))
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Select jobs to execute" not in result.stdout + result.stderr
    assert fingerprints(finished) == before


def rerun_after(finished: Path) -> tuple[str, dict, dict]:
    """Run the damaged study again: its output, and the results before and after."""
    before = fingerprints(finished)
    result = snakemake(finished)
    assert result.returncode != 0
    return result.stdout + result.stderr, before, fingerprints(finished)


def test_a_truncated_weights_table_stops_its_spectrum_naming_the_file(finished):
    damaged = Path("results/online/simulate") / f"{POINT}.parquet"
    data = (finished / damaged).read_bytes()
    (finished / damaged).write_bytes(data[: len(data) // 2])
    output, before, after = rerun_after(finished)
    log = (finished / "results/logs/spectrum/online" / f"{POINT}.log").read_text()
    assert f"{damaged}: not a readable Parquet file" in log
    assert "Error in rule spectrum" in output
    assert after[damaged] == before[damaged]  # kept as it was, for inspection
    # Every other experiment's results are untouched.
    for path, digest in before.items():
        if path.parts[1] != "online":
            assert after.get(path) == digest, path


def test_a_table_of_the_wrong_schema_stops_the_next_stage_naming_file_and_column(finished):
    damaged = Path("results/online/spectrum") / f"{POINT}.parquet"
    pq.write_table(pa.table({"replica": [0, 1], "level": [0, 0]}), finished / damaged)
    output, before, after = rerun_after(finished)
    log = (finished / "results/logs/fit/online" / f"{POINT}.log").read_text()
    assert f"{damaged}: column 'draw' missing from the spectrum table" in log
    assert "Error in rule fit" in output
    for path, digest in before.items():
        if path.parts[1] != "online":
            assert after.get(path) == digest, path
