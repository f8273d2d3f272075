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

import numpy as np
import pandas as pd
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .seeding import point_seed

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"

POINT_KEYS = {
    "teacher_student": ("learning_rate", "batch_size", "noise"),
    "gaussian_rbm": ("learning_rate", "batch_size"),
    "dyson": ("temperature",),
    "external": ("learning_rate", "batch_size", "noise"),
}
"""The parameters a model's sweep varies; together they identify a point."""

POINT_ID_NAMES = {"learning_rate": "lr", "batch_size": "bs", "noise": "noise", "temperature": "T"}
POINT_TYPES = {"learning_rate": float, "batch_size": int, "noise": float, "temperature": float}

SIMULATION_KEYS = {
    "teacher_student": (
        "teacher",
        "hidden",
        "noise_kind",
        "dataset",
        "dataset_draws",
        "batches_per_epoch",
        "steps",
        "replicas",
        "init_scale",
        "snapshot_every",
        "divergence_threshold",
    ),
    "gaussian_rbm": (
        "size",
        "mass",
        "field_mass",
        "hidden_std",
        "gibbs_steps",
        "steps",
        "replicas",
        "init_scale",
        "snapshot_every",
    ),
    "dyson": ("target", "time_step", "steps", "replicas", "init_scale", "snapshot_every"),
}
"""Experiment settings each model's simulation reads (the sweep point adds its own)."""


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def validate_config(config: dict) -> dict:
    """Validate ``config`` in place against the schema and the cross-key rules; return it.

    Fills schema defaults, then derived ones: ``snapshot_every`` and
    ``burn_in`` default to ``steps`` (only the final snapshot, as in the paper).
    """
    from snakemake.utils import validate

    _check_schema(config)
    for name, experiment in config["experiments"].items():
        if "dataset_size" in experiment and "batches_per_epoch" in experiment:
            raise ConfigError(
                f"config: experiments.{name} sets both dataset_size and batches_per_epoch; keep one"
            )
    validate(config, str(SCHEMA), set_default=True)  # fills in the schema's defaults
    for name, experiment in config["experiments"].items():
        _check_experiment(f"experiments.{name}", experiment)
    return config


def _check_schema(config: dict) -> None:
    """Raise `ConfigError` for the most relevant schema violation, naming its key."""
    schema = yaml.safe_load(SCHEMA.read_text())
    errors = list(Draft202012Validator(schema).iter_errors(config))
    if not errors:
        return
    # The deepest error names the offending key; shallower ones (an unevaluated
    # property, a failed model branch) are its consequences.
    depth = max(len(error.absolute_path) for error in errors)
    error = best_match(error for error in errors if len(error.absolute_path) == depth)
    key = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    ).lstrip(".")
    message = f"config: {key or 'top level'}: {error.message}"
    if error.validator == "type" and isinstance(error.instance, str):
        message += " (YAML reads 1e-3 as a string: write numbers like 1.0e-3)"
    raise ConfigError(message)


def _check_experiment(key: str, experiment: dict) -> None:
    if experiment["model"] == "external":
        _check_external(key, experiment)
        return
    steps = experiment["steps"]
    experiment.setdefault("snapshot_every", steps)
    experiment.setdefault("burn_in", steps)
    experiment.setdefault("dataset_draws", 1)
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
    if experiment["model"] == "teacher_student":
        _check_teacher_student(key, experiment)
    if experiment["model"] == "dyson":
        _check_dyson(key, experiment)
    for index, grid in enumerate(experiment["sweep"]):
        for parameter in POINT_KEYS[experiment["model"]]:
            values = grid[parameter]
            if len(set(values)) != len(values):
                raise ConfigError(
                    f"config: {key}.sweep[{index}].{parameter} lists a value twice: {values}"
                )


def _check_external(key: str, experiment: dict) -> None:
    experiment.setdefault("burn_in", 0)  # snapshots of other code: all of them by default


DYSON_MARGIN = 8.0
"""Targets must exceed this many thermal widths sqrt(T): H stays positive definite."""


def _check_dyson(key: str, experiment: dict) -> None:
    hottest = max(t for grid in experiment["sweep"] for t in grid["temperature"])
    if min(experiment["target"]) < DYSON_MARGIN * hottest**0.5:
        raise ConfigError(
            f"config: {key}.target has {min(experiment['target'])}, below "
            f"{DYSON_MARGIN:g} sqrt(T) = {DYSON_MARGIN * hottest**0.5:.3g} at the highest "
            "temperature: H could lose positive definiteness and its singular values "
            "would no longer be its eigenvalues"
        )


def _check_teacher_student(key: str, experiment: dict) -> None:
    for setting in ("teacher", "hidden"):
        values = experiment.get(setting, [None] * experiment["size"])
        if len(values) != experiment["size"]:
            raise ConfigError(
                f"config: {key}.{setting} has {len(values)} values "
                f"but {key}.size is {experiment['size']}"
            )
    if "dataset_size" in experiment:
        if experiment["dataset"] == "online":
            raise ConfigError(
                f"config: {key}.dataset_size is set but {key}.dataset = online draws fresh "
                "samples every step; remove it or choose dataset paper or per_replica"
            )
        for index, grid in enumerate(experiment["sweep"]):
            too_large = [size for size in grid["batch_size"] if size > experiment["dataset_size"]]
            if too_large:
                raise ConfigError(
                    f"config: {key}.sweep[{index}].batch_size has {too_large[0]}, larger than "
                    f"the dataset ({key}.dataset_size = {experiment['dataset_size']})"
                )
    if experiment["dataset"] == "paper" and experiment["noise_kind"] == "label":
        raise ConfigError(
            f"config: {key}.noise_kind = label with {key}.dataset = paper gives every "
            "replica of a draw the same data and labels, so replicas differ only by their "
            "initial weights and have no stationary spread; use dataset per_replica or online"
        )


def point_id(point: dict) -> str:
    """File-name id of a sweep point from its swept parameters, e.g. ``lr~0.1_bs~16_noise~0.1``."""
    return "_".join(
        f"{name}~{POINT_TYPES[key](point[key])!r}"
        for key, name in POINT_ID_NAMES.items()
        if point.get(key) is not None
    )


def scan_name(grid: dict, parameters: tuple[str, ...]) -> str:
    """A grid's label: its ``name``, else what it varies (``"learning_rate scan"``)."""
    if "name" in grid:
        return grid["name"]
    varied = [p for p in parameters if len(grid[p]) > 1]
    return " × ".join(varied) + " scan" if varied else "single point"


def _grid_points(experiment: dict) -> list[dict]:
    """The points of the union of the experiment's grids, each with the ``scans`` holding it."""
    parameters = POINT_KEYS[experiment["model"]]
    scans: dict[tuple, list[str]] = {}
    for grid in experiment["sweep"]:
        for values in itertools.product(*(grid[p] for p in parameters)):
            values = tuple(POINT_TYPES[p](v) for p, v in zip(parameters, values, strict=True))
            scans.setdefault(values, []).append(scan_name(grid, parameters))
    return [
        {
            **dict(zip(parameters, values, strict=True)),
            "scans": in_scans,
            **{key: experiment[key] for key in ("steps", "replicas", "dataset_draws")},
        }
        for values, in_scans in sorted(scans.items())
    ]


def sweep_table(name: str, experiment: dict, root_seed: int) -> pd.DataFrame:
    """One row per distinct point of the union of the experiment's grids (schema ``sweep``).

    Points are ordered by their swept parameters; ``scans`` lists every grid a
    point belongs to; parameters a model does not sweep are missing. ``ratio``
    is the effective temperature: α/|B| for SGD, ``temperature`` for the Dyson
    model. An external experiment's points are those found in its files
    (``points``, set by `external.external_points`).
    """
    if experiment["model"] == "external":
        found = [{**point, "scans": ["external data"]} for point in experiment["points"]]
    else:
        found = _grid_points(experiment)
    rows = []
    for point in found:
        if "batch_size" in point:
            ratio = point["learning_rate"] / point["batch_size"]
        else:
            ratio = point["temperature"]
        identifier = point_id(point)
        rows.append(
            {
                "experiment": name,
                "point": identifier,
                **{key: point.get(key) for key in POINT_ID_NAMES},
                "ratio": ratio,
                "scans": point["scans"],
                "root_seed": root_seed,
                "point_seed": point_seed(name, identifier),
                "steps": point["steps"],
                "replicas": point["replicas"],
                "dataset_draws": point["dataset_draws"],
            }
        )
    table = pd.DataFrame(rows)
    table["batch_size"] = table["batch_size"].astype("Int64")
    floats = ["learning_rate", "noise", "temperature"]
    table[floats] = table[floats].astype(float)  # what a model does not sweep is NaN
    return table


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
    """Keyword arguments of the model's run class (e.g. `TeacherStudentRun`) for one point."""
    model = experiment["model"]
    settings = canonical(
        {
            **{key: experiment.get(key) for key in SIMULATION_KEYS[model]},
            **{key: point[key] for key in POINT_KEYS[model]},
            "root_seed": point["root_seed"],
            "point_seed": point["point_seed"],
        }
    )
    if experiment.get("dataset_size"):  # a fixed dataset cut into batches of the point's size
        settings["batches_per_epoch"] = experiment["dataset_size"] // point["batch_size"]
    for key in ("teacher", "hidden", "target"):
        if settings.get(key) is not None:
            settings[key] = tuple(float(value) for value in settings[key])
    if "target" in settings:  # H* = diag(target) in ascending order
        settings["target"] = tuple(sorted(settings["target"]))
    return settings


FIGURES = [
    "eigenvalue_flow",
    "spectrum_histograms",
    "spacing_distribution",
    "pair_densities",
    "scaling",
    "sigma_vs_spacing",
    "collapse",
    "residuals",
    "centres",
]
"""The figures of every experiment (`plotting`), in report order."""


def flow_settings(experiment: dict, point: dict) -> dict:
    """`simulation_settings` of the eigenvalue-flow run: few replicas, fine snapshots.

    The replicas are the point's first ones (same seeds) when the dataset has
    one draw.
    """
    flow = experiment["flow"]
    return {
        **simulation_settings(experiment, point),
        "replicas": flow["replicas"],
        "snapshot_every": max(1, experiment["steps"] // flow["snapshots"]),
    }


THEORY_MODELS = ("teacher_student", "dyson")
"""Models whose stationary spectrum the theory stage predicts (linear dynamics)."""


def theory_settings(experiment: dict, point: dict) -> dict:
    """What the theory stage reads of an experiment and one of its points."""
    model = experiment["model"]
    model_keys = ("teacher", "hidden", "noise_kind") if model == "teacher_student" else ("target",)
    return canonical(
        {
            "model": model,
            **{key: experiment.get(key) for key in model_keys},
            **{key: point[key] for key in POINT_KEYS[model]},
            "targets": singular_value_targets(experiment),
            "cluster_tolerance": experiment["cluster_tolerance"],
            "observable": experiment["observable"],
            "samples": experiment["theory"]["samples"],
            "root_seed": point["root_seed"],
            "point_seed": point["point_seed"],
        }
    )


def matrix_size(experiment: dict) -> int:
    """The size n of the experiment's n × n weight matrix."""
    return len(experiment["target"]) if experiment["model"] == "dyson" else experiment["size"]


def singular_value_targets(experiment: dict) -> list[float] | str:
    """Where the singular values of the trained matrix should sit, ascending.

    Teacher–student: the teacher's; Gaussian RBM: ``sqrt(x*)`` of the target
    eigenvalues ``x*`` of ``X = WᵀW``; Dyson: the target spectrum of ``H*``;
    external weights: the config's ``targets``, or ``"auto"`` (found in the data).
    """
    model = experiment["model"]
    if model == "external" and experiment["targets"] == "auto":
        return "auto"
    if model == "external":
        targets = experiment["targets"]
    elif model == "teacher_student":
        targets = experiment["teacher"]
    elif model == "gaussian_rbm":
        from .gaussian_rbm import target_gram_eigenvalues

        targets = np.sqrt(
            target_gram_eigenvalues(
                experiment["size"],
                experiment["mass"],
                experiment["field_mass"],
                experiment["hidden_std"],
            )
        )
    else:
        targets = experiment["target"]
    return sorted(float(value) for value in targets)


AMPLITUDES = {"teacher_student": "noise_squared", "gaussian_rbm": "target", "dyson": "one"}
"""How ``scale = sqrt(ratio × amplitude)`` gets its amplitude: ε², the cluster's target, 1."""


def sweep_settings(experiment: dict) -> dict:
    """What the sweep stage reads of an experiment (an external one: the points found)."""
    if experiment["model"] == "external":
        keys = ("model", "points")
    else:
        keys = ("model", "sweep", "steps", "replicas", "dataset_draws")
    return canonical({key: experiment[key] for key in keys})


def import_settings(experiment: dict) -> dict:
    """What the import stage of external weights reads of an experiment."""
    return canonical(
        {"layer": experiment.get("layer"), "minimum_replicas": experiment["fit"]["error_groups"]}
    )


def spectrum_settings(experiment: dict) -> dict:
    """What the spectrum stage reads of an experiment.

    With targets found in the data (``auto``), the clusters come from the
    snapshots at ``step ≥ burn_in``, split where the gap exceeds
    ``cluster_separation`` combined standard deviations.
    """
    settings = {
        "targets": singular_value_targets(experiment),
        "cluster_tolerance": experiment["cluster_tolerance"],
    }
    if settings["targets"] == "auto":
        settings["burn_in"] = experiment["burn_in"]
        settings["cluster_separation"] = experiment["cluster_separation"]
    return canonical(settings)


def fit_settings(experiment: dict) -> dict:
    """What the fit stage reads of an experiment."""
    return canonical(
        {
            **spectrum_settings(experiment),
            "observable": experiment["observable"],
            "burn_in": experiment["burn_in"],
            # External weights: replicas of one draw share their data (if the files say so).
            "shared_dataset": experiment.get("dataset", "paper") == "paper",
            **experiment["fit"],
        }
    )


def scaling_settings(experiment: dict) -> dict:
    """What the scaling stage reads of an experiment."""
    settings = {
        "amplitude": AMPLITUDES.get(experiment["model"]),
        "observable": experiment["observable"],
    }
    if experiment["model"] == "external":
        settings.update(amplitude=experiment["amplitude"], continuum=False)
    return settings
