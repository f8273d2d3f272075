"""The configuration: validation against the schema and the models, and point identifiers.

`validate_config` checks a config against ``workflow/schemas/config.schema.yaml``
(filling every default) and then the rules a JSON schema cannot state, which
each model declares (`models.base.Model.check`); every error names the
offending key. What each stage reads of a validated experiment is its stage
module's ``settings`` (`sgd_dyson.stages`).
"""

import numbers
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .models import model_of
from .models.base import POINT_TYPES, ConfigError

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"

POINT_ID_NAMES = {"learning_rate": "lr", "batch_size": "bs", "noise": "noise", "temperature": "T"}
"""Short names of the point parameters in file names."""

__all__ = ["POINT_TYPES", "ConfigError", "canonical", "point_id", "validate_config"]


def validate_config(config: dict) -> dict:
    """Validate ``config`` in place against the schema and its models' rules; return it.

    Fills the schema's defaults (every default is in the schema).
    """
    from snakemake.utils import validate

    _check_schema(config)
    for name, experiment in config["experiments"].items():
        model_of(experiment).check_given(f"experiments.{name}", experiment)
    validate(config, str(SCHEMA), set_default=True)  # fills in the schema's defaults
    for name, experiment in config["experiments"].items():
        model_of(experiment).check(f"experiments.{name}", experiment)
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


def point_id(point: dict) -> str:
    """File-name id of a sweep point from its swept parameters, e.g. ``lr~0.1_bs~16_noise~0.1``."""
    return "_".join(
        f"{name}~{POINT_TYPES[key](point[key])!r}"
        for key, name in POINT_ID_NAMES.items()
        if point.get(key) is not None
    )


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
