"""Running the workflow from the tests: Snakemake in a subprocess, and what it left behind."""

import base64
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPOSITORY / "tests" / "configs" / "tiny.yaml"
CLUSTER_CONFIG = REPOSITORY / "tests" / "configs" / "cluster.yaml"
# Folders of results/ that hold no result: logs, benchmarks, in-job checkpoints.
BOOKKEEPING = {"logs", "benchmarks", "checkpoints"}


def snakemake_command(
    workdir: Path,
    *arguments: str,
    config: Path | None = TINY_CONFIG,
    cores: int | None = 2,
    snakefile: Path = REPOSITORY / "Snakefile",
) -> list[str]:
    """The command line of Snakemake on the repository's Snakefile, working in ``workdir``.

    ``arguments`` come first, so that targets among them are not read as more
    ``--configfile`` paths.
    """
    command = [sys.executable, "-m", "snakemake", *arguments, "--snakefile", str(snakefile)]
    command += ["--directory", str(workdir)]
    if cores is not None:
        command += ["--cores", str(cores)]
    if config is not None:
        command += ["--configfile", str(config)]
    return command


def snakemake(
    workdir: Path, *arguments: str, timeout: float | None = None, **options
) -> subprocess.CompletedProcess:
    """Run Snakemake (`snakemake_command`) to the end; return the completed process."""
    return subprocess.run(
        snakemake_command(workdir, *arguments, **options),
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
        timeout=timeout,
    )


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Jobs per rule from the 'Job stats' table of a (dry) run."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def finished_jobs(output: str) -> Counter:
    """Jobs per rule that a run reports finished."""
    return Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", output))


def result_files(workdir: Path) -> list[Path]:
    """Every table, CSV, figure and report under ``results/``, relative to ``workdir``."""
    results = workdir / "results"
    return sorted(
        path.relative_to(workdir)
        for path in results.rglob("*")
        if path.is_file()
        and not path.name.startswith(".")
        and path.relative_to(results).parts[0] not in BOOKKEEPING
    )


def incomplete_files(workdir: Path) -> set[Path]:
    """Outputs of jobs that Snakemake started but did not see finish."""
    markers = workdir / ".snakemake" / "incomplete"
    if not markers.exists():
        return set()
    return {Path(base64.urlsafe_b64decode(marker.name).decode()) for marker in markers.iterdir()}


def tables(workdir: Path) -> list[Path]:
    """The Parquet tables and CSV files among the `result_files`."""
    return [path for path in result_files(workdir) if path.suffix in {".parquet", ".csv"}]


def assert_same_tables(workdir: Path, reference: Path) -> None:
    """``workdir`` has the tables of ``reference``, with exactly the same values."""
    assert tables(workdir) == tables(reference)
    for path in tables(reference):
        read = pd.read_parquet if path.suffix == ".parquet" else pd.read_csv
        pd.testing.assert_frame_equal(
            read(workdir / path), read(reference / path), check_exact=True, obj=str(path)
        )
