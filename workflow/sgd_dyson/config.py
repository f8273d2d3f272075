"""The configuration: validation, the sweep's points, and what each stage needs of it.

`validate_config` checks a config against ``workflow/schemas/config.schema.yaml``
(filling defaults) and then the rules a JSON schema cannot state; every error
names the offending key. The other functions derive, from a validated
experiment, exactly the settings one stage needs, so that Snakemake's
``params`` rerun exactly the stages a config edit touches.
"""

import itertools
import numbers
from pathlib import Path

import pandas as pd
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .seeding import point_seed

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"

SIMULATION_KEYS = (
    "teacher",
    "noise_kind",
    "dataset",
    "dataset_draws",
    "batches_per_epoch",
    "steps",
    "replicas",
    "init_scale",
    "snapshot_every",
    "divergence_threshold",
)
POINT_KEYS = ("learning_rate", "batch_size", "noise")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def validate_config(config: dict) -> dict:
    """Validate ``config`` in place against the schema and the cross-key rules; return it.

    Fills schema defaults, then derived ones: ``snapshot_every`` and
    ``burn_in`` default to ``steps`` (only the final snapshot, as in the paper).
    """
    from snakemake.utils import validate

    _check_schema(config)
    validate(config, str(SCHEMA), set_default=True)  # fills in the schema's defaults
    for name, experiment in config["experiments"].items():
        _check_experiment(f"experiments.{name}", experiment)
    return config


def _check_schema(config: dict) -> None:
    """Raise `ConfigError` for the most relevant schema violation, naming its key."""
    schema = yaml.safe_load(SCHEMA.read_text())
    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return
    key = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    ).lstrip(".")
    message = f"config: {key or 'top level'}: {error.message}"
    if error.validator == "type" and isinstance(error.instance, str):
        message += " (YAML reads 1e-3 as a string: write numbers like 1.0e-3)"
    raise ConfigError(message)


def _check_experiment(key: str, experiment: dict) -> None:
    steps = experiment["steps"]
    experiment.setdefault("snapshot_every", steps)
    experiment.setdefault("burn_in", steps)
    if len(experiment["teacher"]) != experiment["size"]:
        raise ConfigError(
            f"config: {key}.teacher has {len(experiment['teacher'])} values "
            f"but {key}.size is {experiment['size']}"
        )
    for setting in ("snapshot_every", "burn_in"):
        if experiment[setting] > steps:
            raise ConfigError(
                f"config: {key}.{setting} = {experiment[setting]} exceeds {key}.steps = {steps}"
            )
    if experiment["replicas"] < 2 * experiment["dataset_draws"]:
        raise ConfigError(
            f"config: {key}.replicas = {experiment['replicas']} gives fewer than "
            f"two replicas to each of {key}.dataset_draws = {experiment['dataset_draws']}"
        )
    if experiment["dataset"] == "paper" and experiment["noise_kind"] == "label":
        raise ConfigError(
            f"config: {key}.noise_kind = label with {key}.dataset = paper gives every "
            "replica of a draw the same data and labels, so replicas differ only by their "
            "initial weights and have no stationary spread; use dataset per_replica or online"
        )
    for index, grid in enumerate(experiment["sweep"]):
        for parameter in POINT_KEYS:
            values = grid[parameter]
            if len(set(values)) != len(values):
                raise ConfigError(
                    f"config: {key}.sweep[{index}].{parameter} lists a value twice: {values}"
                )


def point_id(learning_rate: float, batch_size: int, noise: float) -> str:
    """File-name id of a sweep point, e.g. ``lr~0.1_bs~16_noise~0.1``."""
    return f"lr~{float(learning_rate)!r}_bs~{int(batch_size)}_noise~{float(noise)!r}"


def scan_name(grid: dict) -> str:
    """A grid's label: its ``name``, else what it varies (``"learning_rate scan"``)."""
    if "name" in grid:
        return grid["name"]
    varied = [p for p in POINT_KEYS if len(grid[p]) > 1]
    return " × ".join(varied) + " scan" if varied else "single point"


def sweep_table(name: str, experiment: dict, root_seed: int) -> pd.DataFrame:
    """One row per distinct point of the union of the experiment's grids (schema ``sweep``).

    Points are ordered by (learning_rate, batch_size, noise); ``scans`` lists
    every grid a point belongs to.
    """
    scans: dict[tuple, list[str]] = {}
    for grid in experiment["sweep"]:
        for values in itertools.product(*(grid[p] for p in POINT_KEYS)):
            key = (float(values[0]), int(values[1]), float(values[2]))
            scans.setdefault(key, []).append(scan_name(grid))
    rows = []
    for (learning_rate, batch_size, noise), in_scans in sorted(scans.items()):
        point = point_id(learning_rate, batch_size, noise)
        rows.append(
            {
                "experiment": name,
                "point": point,
                "learning_rate": learning_rate,
                "batch_size": batch_size,
                "noise": noise,
                "ratio": learning_rate / batch_size,
                "scans": in_scans,
                "root_seed": root_seed,
                "point_seed": point_seed(name, point),
                "steps": experiment["steps"],
                "replicas": experiment["replicas"],
                "dataset_draws": experiment["dataset_draws"],
            }
        )
    return pd.DataFrame(rows)


def canonical(settings):
    """``settings`` with every mapping's keys sorted and numbers as Python scalars.

    Snakemake compares ``params`` by their ``repr``: a canonical form keeps a
    reordered or retyped but equal config from rerunning anything.
    """
    if isinstance(settings, dict):
        return {key: canonical(settings[key]) for key in sorted(settings)}
    if isinstance(settings, list | tuple):
        return [canonical(value) for value in settings]
    if isinstance(settings, bool | str) or settings is None:
        return settings
    if isinstance(settings, numbers.Integral):
        return int(settings)
    return float(settings)


def simulation_settings(experiment: dict, point: dict) -> dict:
    """Keyword arguments of `teacher_student.TeacherStudentRun` for one sweep point."""
    settings = canonical(
        {
            **{key: experiment[key] for key in SIMULATION_KEYS},
            **{key: point[key] for key in POINT_KEYS},
            "root_seed": point["root_seed"],
            "point_seed": point["point_seed"],
        }
    )
    settings["teacher"] = tuple(float(value) for value in settings["teacher"])
    return settings


def sweep_settings(experiment: dict) -> dict:
    """What the sweep stage reads of an experiment."""
    return canonical(
        {key: experiment[key] for key in ("sweep", "steps", "replicas", "dataset_draws")}
    )


def spectrum_settings(experiment: dict) -> dict:
    """What the spectrum stage reads of an experiment."""
    return canonical({key: experiment[key] for key in ("teacher", "cluster_tolerance")})


def fit_settings(experiment: dict) -> dict:
    """What the fit stage reads of an experiment."""
    return canonical(
        {
            **spectrum_settings(experiment),
            "observable": experiment["observable"],
            "burn_in": experiment["burn_in"],
            "shared_dataset": experiment["dataset"] == "paper",
            **experiment["fit"],
        }
    )
