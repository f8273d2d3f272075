"""Bad input end to end: a clear early error, a non-zero exit, earlier results untouched.

Each case runs Snakemake on a copy of the finished tiny study, so that there are
earlier results to keep. The unit-level checks of every config key and every
rule of the weights format are in test_config.py and test_external.py.
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from workflow_runs import TINY_CONFIG, assert_same_tables, result_files, snakemake

from sgd_dyson.config import validate_config
from sgd_dyson.models import MODELS

pytestmark = pytest.mark.workflow

POINT = "lr~0.1_bs~8_noise~0.1"
TINY_POINTS = sum(
    len(MODELS[experiment["model"]].points(f"experiments.{name}", experiment))
    for name, experiment in validate_config(yaml.safe_load(TINY_CONFIG.read_text()))[
        "experiments"
    ].items()
)
"""Sweep points of the tiny study: every one's job needs more than 100 MB."""


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


def with_overflowing_external(folder: Path) -> Path:
    """The tiny config plus ``mine``: external weights whose spectrum job fails (levels 2e200)."""
    source = external_weights(folder, scale=1e200)

    def add_external(experiments):
        with_external(str(source))(experiments)
        experiments["mine"]["fit"] = {"error_groups": 3}

    return broken_config(folder, add_external)


def test_weights_too_large_for_the_fits_stop_their_spectrum_naming_the_file(finished):
    """Levels of 2e200 would overflow when the fits square them: an error, not all-NA fits."""
    before = fingerprints(finished)
    result = snakemake(finished, config=with_overflowing_external(finished))
    assert result.returncode != 0
    point = "lr~0.1_bs~8_noise~0.1"
    log = (finished / "results/logs/spectrum/mine" / f"{point}.log").read_text()
    assert f"results/mine/imported/{point}.parquet: a singular value of 2" in log
    assert "exceeds 1e+150: the fits would square it beyond double precision" in log
    assert "Error in rule spectrum" in result.stdout + result.stderr
    assert not (finished / "results/mine/spectrum" / f"{point}.parquet").exists()
    after = fingerprints(finished)
    assert all(after.get(path) == digest for path, digest in before.items())


def test_with_keep_going_the_report_holds_the_finished_experiments_and_names_the_failed(
    finished,
):
    """One failing experiment does not block the report: it is left out and named, with its log."""
    config = with_overflowing_external(finished)
    before = fingerprints(finished)
    result = snakemake(finished, "--keep-going", config=config)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Not finished: mine. Building results/report.html for the experiments" in output
    assert "The partial report results/report.html built." in output
    page = (finished / "results/front_page.html").read_text(encoding="utf-8")
    notice = page.split('<div id="unfinished">')[1].split("</div>")[0]
    failed_log = "results/logs/spectrum/mine/lr~0.1_bs~8_noise~0.1.log"
    assert f"<strong>mine</strong>: failed jobs' logs: <code>{failed_log}</code>" in notice
    assert "mine: a = " not in page
    tiny = yaml.safe_load(TINY_CONFIG.read_text())["experiments"]
    for name in tiny:
        assert f'<h3 id="front-{name}">' in page
    report = (finished / "results/report.html").read_text(encoding="utf-8")
    assert "Not in this report" in report
    # Of the earlier results only the front page and the report changed; new files are mine's.
    after = fingerprints(finished)
    changed = {path for path, digest in before.items() if after[path] != digest}
    assert changed == {Path("results/front_page.html"), Path("results/report.html")}
    assert all(path.parts[1] == "mine" for path in set(after) - set(before))
    # Once the failing experiment is fixed (here: dropped), a run rebuilds the full report.
    result = snakemake(finished)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (finished / "results/front_page.html").read_text(encoding="utf-8")
    assert "Not in this report" not in page


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


def external_weights(folder: Path, scale: float = 1.0, rows: int = 24) -> Path:
    """A weights-format file of one external point: 6 replicas × 4 steps of 2 × 2 matrices."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "replica": np.repeat(np.arange(6), 4),
            "step": np.tile([10, 20, 30, 40], 6),
            "rows": 2,
            "cols": 2,
            "weights": list(
                scale * (np.diag([2.0, 2.0]) + 0.1 * rng.normal(size=(24, 2, 2))).reshape(24, 4)
            ),
            "learning_rate": 0.1,
            "batch_size": 8,
            "noise": 0.1,
        }
    ).iloc[:rows]
    path = folder / "theirs.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def empty_file(folder: Path) -> str:
    """A file of no bytes named like a Parquet file."""
    path = folder / "theirs.parquet"
    path.write_bytes(b"")
    return str(path)


def with_external(path: str):
    return lambda e: e.update(
        mine={"model": "external", "source": path, "targets": [2.0, 2.0], "amplitude": "one"}
    )


def top_level(folder: Path, **changes) -> Path:
    """The tiny config with top-level ``changes``, written to ``folder``."""
    config = yaml.safe_load(TINY_CONFIG.read_text()) | changes
    path = folder / "broken.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


APPENDED_LINE = len(TINY_CONFIG.read_text().splitlines()) + 1
"""The line of `appended` text in the broken config: the one after the tiny config's last."""


def appended(folder: Path, text: str) -> Path:
    """The tiny config's text with ``text`` appended (YAML that a dump cannot produce)."""
    path = folder / "broken.yaml"
    path.write_text(TINY_CONFIG.read_text() + text)
    return path


BAD_CONFIGS = {
    "a NaN learning rate": (
        lambda folder: broken_config(
            folder, lambda e: e["online"]["sweep"][0].update(learning_rate=[float("nan")])
        ),
        "config: experiments.online.sweep[0].learning_rate[0]: nan is not a finite number",
    ),
    "an infinite time step": (
        lambda folder: broken_config(folder, lambda e: e["dyson"].update(time_step=float("inf"))),
        "config: experiments.dyson.time_step: inf is not a finite number",
    ),
    "a seed beyond 64 bits": (
        lambda folder: top_level(folder, seed=2**64),
        "config: seed: 18446744073709551616 is out of range",
    ),
    "a batch size beyond 64 bits": (
        lambda folder: broken_config(
            folder, lambda e: e["online"]["sweep"][0].update(batch_size=[2**70])
        ),
        "config: experiments.online.sweep[0].batch_size[0]: 1180591620717411303424 is out of",
    ),
    "replicas written as a float": (
        lambda folder: broken_config(folder, lambda e: e["rbm"].update(replicas=1.0e3)),
        "config: experiments.rbm.replicas: 1000.0 is not of type 'integer'",
    ),
    "results outside the working directory": (
        lambda folder: top_level(folder, results="../elsewhere"),
        "config: results: '../elsewhere' is not a folder inside the working directory",
    ),
    "an experiment named like a results folder": (
        lambda folder: broken_config(folder, lambda e: e.update(logs=e.pop("dyson"))),
        "config: experiments.logs: 'logs' is a folder of the results tree",
    ),
    "a key given twice": (
        lambda folder: appended(folder, "seed: 8\n"),
        f"broken.yaml, line {APPENDED_LINE}: key 'seed' given twice (first on line 2",
    ),
    "a YAML 1.1 boolean": (
        lambda folder: appended(folder, "checkpoint_every: on\n"),
        f"broken.yaml, line {APPENDED_LINE}: 'on' would be read as the boolean True",
    ),
    "a sexagesimal number": (
        lambda folder: appended(folder, "checkpoint_every: 1:30\n"),
        f"broken.yaml, line {APPENDED_LINE}: '1:30' would be read as the integer 90",
    ),
    # Snakemake parses --configfile before the Snakefile runs: its own message, without line
    # (sgd-dyson-check-config gives file, line and column: test_config.py).
    "a YAML syntax error": (
        lambda folder: appended(folder, "  dyson: {model: dyson\n"),
        "Config file is not valid JSON or YAML",
    ),
    "10⁸ replicas": (
        lambda folder: broken_config(folder, lambda e: e["online"].update(replicas=10**8)),
        "would exceed this machine's memory",
    ),
    "jobs larger than cluster.max_memory_mb": (
        lambda folder: top_level(folder, cluster={"max_memory_mb": 100}),
        f"{TINY_POINTS} job(s) would exceed cluster.max_memory_mb (100 MB): "
        "experiments.dyson, point T~0.0001: about",
    ),
    "a matrix of size 2000": (
        lambda folder: broken_config(
            folder, lambda e: e["paper"].update(size=2000, teacher=[2.0] * 2000)
        ),
        "experiments.paper, point lr~0.1_bs~16_noise~0.1: about",
    ),
    "an external table of zero rows": (
        lambda folder: broken_config(folder, with_external(str(external_weights(folder, rows=0)))),
        "theirs.parquet: the file holds no rows (no snapshot)",
    ),
    "an empty external file": (
        lambda folder: broken_config(folder, with_external(empty_file(folder))),
        "theirs.parquet: not a readable Parquet file",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_input_that_would_be_bent_fails_before_any_job_naming_it(finished, case):
    write, message = BAD_CONFIGS[case]
    before = fingerprints(finished)
    result = snakemake(finished, config=write(finished))
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Select jobs to execute" not in result.stdout + result.stderr
    assert fingerprints(finished) == before


def test_a_corrupted_checkpoint_is_discarded_with_a_warning_and_the_point_rerun(finished, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(finished, reference, symlinks=True)
    checkpoint = finished / "results/checkpoints/online" / f"{POINT}.npz"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"PK\x03\x04 a checkpoint cut short")
    (finished / "results/online/simulate" / f"{POINT}.parquet").unlink()
    result = snakemake(finished)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (finished / "results/logs/simulate/online" / f"{POINT}.log").read_text()
    assert f"discarding the checkpoint {checkpoint.relative_to(finished)}" in log
    assert not checkpoint.exists()
    assert_same_tables(finished, reference)
