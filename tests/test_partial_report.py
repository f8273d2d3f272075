"""The partial report of a failed ``--keep-going`` run: which experiments it leaves out.

The run itself (a failing experiment next to finished ones) is in
test_bad_input.py; these are the pieces it is made of.
"""

import json

import pytest

from sgd_dyson.models.base import ConfigError
from sgd_dyson.report.partial import (
    UNFINISHED_VARIABLE,
    partial_report_command,
    read_unfinished,
    unfinished_environment,
    unfinished_experiments,
)


def test_an_experiment_is_unfinished_when_any_of_its_jobs_did_not_finish():
    pending = [
        ("broken", ["logs/spectrum/broken/a.log"], True),
        ("broken", ["logs/fit/broken/a.log"], False),  # waiting for the failed spectrum
        ("broken", ["logs/spectrum/broken/b.log"], True),
        ("stuck", ["logs/plots/stuck/scaling.log"], False),
        (None, ["logs/front_page/all.log"], False),  # a job of the whole study
    ]
    assert unfinished_experiments(pending) == {
        "broken": ["logs/spectrum/broken/a.log", "logs/spectrum/broken/b.log"],
        "stuck": [],
    }
    assert unfinished_experiments([(None, ["logs/report/all.log"], True)]) == {}


def test_the_unfinished_experiments_go_through_the_environment_and_back():
    unfinished = {"broken": ["logs/spectrum/broken/a.log"]}
    environment = unfinished_environment(unfinished)
    assert json.loads(environment[UNFINISHED_VARIABLE]) == unfinished
    assert read_unfinished(["broken", "fine"], environment) == unfinished
    assert read_unfinished(["broken", "fine"], {}) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "SGD_DYSON_UNFINISHED: not valid JSON"),
        ('["broken"]', "expected a mapping of experiment names to lists of log files"),
        ('{"broken": "a.log"}', "expected a mapping of experiment names to lists of log files"),
        ('{"other": []}', "'other' is not an experiment of the config"),
    ],
)
def test_a_bad_unfinished_variable_is_an_error_naming_it(value, message):
    with pytest.raises(ConfigError, match="SGD_DYSON_UNFINISHED") as error:
        read_unfinished(["broken"], {UNFINISHED_VARIABLE: value})
    assert message in str(error.value)


def test_the_partial_report_runs_on_the_same_config_without_a_lock():
    command = partial_report_command(
        "python", "Snakefile", ["a.yaml", "b.yaml"], ["seed=3"], "results/report.html"
    )
    assert command[:4] == ["python", "-m", "snakemake", "results/report.html"]
    assert "--nolock" in command
    assert command[command.index("--configfile") :][:4] == [
        "--configfile",
        "a.yaml",
        "--configfile",
        "b.yaml",
    ]
    assert command[-2:] == ["--config", "seed=3"]
    assert "--config" not in partial_report_command("python", "S", [], [], "report.html")
