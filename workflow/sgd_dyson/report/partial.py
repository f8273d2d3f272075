"""A report of the experiments that finished, when others failed (``snakemake --keep-going``).

Snakemake never runs a job whose inputs failed, so one failing experiment would
keep the whole report from being built. When a run with ``--keep-going`` ends
with failed jobs, the Snakefile's error handler finds the experiments with a
job that did not finish (`unfinished_experiments`) and runs Snakemake once
more for the report alone, with those experiments named in the environment
variable `UNFINISHED_VARIABLE` (`partial_report_command`, `unfinished_environment`).
That run leaves them out of every rule (`read_unfinished`), and the front page
names them with the logs of their failed jobs. The next complete run rebuilds
the front page and the report, since their list of experiments changed.
"""

import json
import os
from collections.abc import Iterable, Mapping, Sequence

from ..models.base import ConfigError

UNFINISHED_VARIABLE = "SGD_DYSON_UNFINISHED"
"""Environment variable of a partial-report run: JSON ``{experiment: [failed jobs' logs]}``."""


def unfinished_experiments(
    pending_jobs: Iterable[tuple[str | None, Sequence[str], bool]],
) -> dict[str, list[str]]:
    """The experiments with a job that did not finish, each with the logs of its failed jobs.

    ``pending_jobs`` holds, per job the run needed but did not finish, its
    ``experiment`` wildcard (None for the jobs of the whole study: the front
    page and the report), its log files, and whether the job itself failed
    (the others were waiting for a failed job). An experiment whose jobs were
    all waiting gets an empty list: a failed job of the whole study stopped it.
    """
    unfinished: dict[str, list[str]] = {}
    for experiment, logs, failed in pending_jobs:
        if experiment is None:
            continue
        unfinished.setdefault(experiment, [])
        if failed:
            unfinished[experiment] += [str(log) for log in logs]
    return {name: sorted(set(logs)) for name, logs in sorted(unfinished.items())}


def unfinished_environment(unfinished: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """This process's environment plus `UNFINISHED_VARIABLE` holding ``unfinished``."""
    return {**os.environ, UNFINISHED_VARIABLE: json.dumps(dict(unfinished), sort_keys=True)}


def read_unfinished(
    experiments: Iterable[str], environ: Mapping[str, str] = os.environ
) -> dict[str, list[str]]:
    """The experiments a partial-report run leaves out (`UNFINISHED_VARIABLE`); empty otherwise.

    Raises `ConfigError` when the variable is not such a mapping or names an
    experiment that is not one of ``experiments`` (the config's).
    """
    text = environ.get(UNFINISHED_VARIABLE)
    if not text:
        return {}
    try:
        unfinished = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{UNFINISHED_VARIABLE}: not valid JSON: {error}") from None
    if not isinstance(unfinished, dict) or not all(
        isinstance(logs, list) and all(isinstance(log, str) for log in logs)
        for logs in unfinished.values()
    ):
        raise ConfigError(
            f"{UNFINISHED_VARIABLE}: expected a mapping of experiment names to lists of log files"
        )
    unknown = sorted(set(unfinished) - set(experiments))
    if unknown:
        raise ConfigError(
            f"{UNFINISHED_VARIABLE}: {', '.join(map(repr, unknown))} is not an experiment "
            "of the config"
        )
    return unfinished


def partial_report_command(
    python: str,
    snakefile: str,
    configfiles: Sequence[str],
    config_args: Sequence[str],
    target: str,
) -> list[str]:
    """The command line of the partial-report run: Snakemake on ``target``, the same config.

    It takes no lock: it runs inside the failed run, which holds the lock,
    and writes only the front page and the report.
    """
    command = [python, "-m", "snakemake", target, "--snakefile", snakefile, "--cores", "1"]
    command += ["--nolock"]
    for path in configfiles:
        command += ["--configfile", str(path)]
    if config_args:
        command += ["--config", *config_args]
    return command
