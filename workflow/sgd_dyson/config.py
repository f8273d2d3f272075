"""The configuration: validation against the schema and the models, and point identifiers.

`validate_config` checks a config against ``workflow/schemas/config.schema.yaml``
(filling every default) and then the rules a JSON schema cannot state, which
each model declares (`models.base.Model.check`); every error names the
offending key. What each stage reads of a validated experiment is its stage
module's ``settings`` (`sgd_dyson.stages`).
"""

import math
import numbers
import os
import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from .models import model_of
from .models.base import POINT_TYPES, ConfigError

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"

POINT_ID_NAMES = {
    "learning_rate": "lr",
    "batch_size": "bs",
    "noise": "noise",
    "temperature": "T",
    "init_width": "init",
}
"""Short names of the point parameters in file names."""

__all__ = [
    "POINT_TYPES",
    "ConfigError",
    "canonical",
    "point_id",
    "read_config_file",
    "validate_config",
]

INTEGER_BOUND = 2**63
"""Every integer of a config lies in ``[0, 2**63)`` or ``(-2**63, 0]``: what an int64 column or
array holds. The root ``seed`` (numpy ``SeedSequence`` takes any non-negative int) is stored
in the sweep table's int64 ``root_seed`` column, so the same bound applies to it."""

RESERVED_NAMES = ("logs", "benchmarks", "checkpoints")
"""Folders of the results tree that are not experiments: no experiment may be named so."""

# Only strict integers are integers: JSON Schema counts 1000.0 as one, but the config's
# ``replicas: 1.0e+3`` would then be silently read as an integer.
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer",
        lambda checker, instance: isinstance(instance, int) and not isinstance(instance, bool),
    ),
)


def validate_config(config: dict) -> dict:
    """Validate ``config`` in place against the schema and its models' rules; return it.

    Fills the schema's defaults (every default is in the schema).
    """
    from snakemake.utils import validate

    _check_values(config)
    _check_schema(config)
    _check_results(config)
    for name, experiment in config["experiments"].items():
        model_of(experiment).check_given(f"experiments.{name}", experiment)
    validate(config, str(SCHEMA), set_default=True)  # fills in the schema's defaults
    for name, experiment in config["experiments"].items():
        model_of(experiment).check(f"experiments.{name}", experiment)
    return config


def _check_schema(config: dict) -> None:
    """Raise `ConfigError` for the most relevant schema violation, naming its key."""
    schema = yaml.safe_load(SCHEMA.read_text())
    errors = list(StrictValidator(schema).iter_errors(config))
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


def _key(path: tuple) -> str:
    """``experiments.paper.sweep[0].learning_rate[1]`` of a path of keys and indices."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(
        "."
    )


def _walk(value, path=()):
    """Every ``(path, value)`` of the leaves of nested mappings and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
    else:
        yield path, value


def _check_values(config: dict) -> None:
    """Raise `ConfigError` for a non-finite number or an integer beyond `INTEGER_BOUND`.

    The JSON schema takes ``.nan`` and ``.inf`` for numbers, and an integer of
    more than 64 bits would overflow the int64 tables and arrays later.
    """
    for path, value in _walk(config):
        if isinstance(value, bool):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config: {_key(path)}: {value} is not a finite number")
        if isinstance(value, int) and abs(value) >= INTEGER_BOUND:
            raise ConfigError(
                f"config: {_key(path)}: {value} is out of range (integers must lie "
                f"within ±(2**63 − 1), what 64-bit tables hold)"
            )


def _check_results(config: dict) -> None:
    """Raise `ConfigError` unless ``results`` is a folder inside the working directory.

    The rule: the normalised path (``..`` resolved, symbolic links not followed)
    lies strictly below the working directory, so that no output is ever written
    outside it, and the experiments' names are not the results tree's own
    folders (`RESERVED_NAMES`) nor equal to another's up to case (one folder
    on a case-insensitive file system).
    """
    results = config.get("results", "results")
    if isinstance(results, str):
        workdir = os.path.abspath(os.getcwd())
        target = os.path.normpath(os.path.join(workdir, os.path.expanduser(results)))
        if os.path.commonpath([workdir, target]) != workdir or target == workdir:
            raise ConfigError(
                f"config: results: {results!r} is not a folder inside the working "
                f"directory {workdir} (outputs are only written below it)"
            )
    names = list(config.get("experiments") or {})
    for name in names:
        if name in RESERVED_NAMES:
            raise ConfigError(
                f"config: experiments.{name}: {name!r} is a folder of the results tree "
                f"({', '.join(RESERVED_NAMES)}): choose another experiment name"
            )
        clashes = [other for other in names if other != name and other.lower() == name.lower()]
        if clashes:
            raise ConfigError(
                f"config: experiments.{name}: differs from experiments.{clashes[0]} only "
                "by case (one folder on a case-insensitive file system)"
            )


# --- Reading config files strictly ---------------------------------------------------------

STRICT_BOOLEAN = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
"""The only booleans: YAML 1.1 also reads yes/no/on/off/y/n as booleans."""
REINTERPRETED_NUMBER = re.compile(r"^[-+]?(0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|.*[:_].*)$")
"""Integers and floats YAML 1.1 reads other than they look: octal ``010`` (8), hexadecimal,
binary, sexagesimal ``1:30`` (90) and underscores ``1_000``."""


class _StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate keys and silently reinterpreted scalars."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"{self.name}, line {key_node.start_mark.line + 1}: key {key!r} given "
                    f"twice (first on line {seen[key] + 1}; YAML would keep the last silently)"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def _refuse(self, node, reading: str):
        raise ConfigError(
            f"{self.name}, line {node.start_mark.line + 1}: {node.value!r} would be read as "
            f"{reading}; quote it if it is a string, or write the value plainly"
        )

    def construct_yaml_bool(self, node):
        if not STRICT_BOOLEAN.match(node.value):
            self._refuse(node, f"the boolean {super().construct_yaml_bool(node)}")
        return super().construct_yaml_bool(node)

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node)
        if REINTERPRETED_NUMBER.match(node.value) and node.value not in ("0", "+0", "-0"):
            self._refuse(node, f"the integer {value}")
        return value

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if REINTERPRETED_NUMBER.match(node.value):
            self._refuse(node, f"the number {value}")
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_yaml_bool)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)


def read_config_file(path: str | Path) -> dict:
    """The mapping of a YAML config file, read strictly; `ConfigError` names file and line.

    Refused: a syntax error, a top level that is not a mapping, a key given
    twice in one mapping, and scalars YAML 1.1 reads other than they look
    (`STRICT_BOOLEAN`, `REINTERPRETED_NUMBER`).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read as a text file: {error}") from None
    loader = _StrictLoader(text)
    loader.name = str(path)
    try:
        config = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        context = error.context_mark
        started = (
            f" ({error.context} that starts on line {context.line + 1}, "
            f"column {context.column + 1})"
            if error.context and context and context is not mark
            else ""
        )
        raise ConfigError(f"{path}{where}: not valid YAML: {error.problem}{started}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config file holds a mapping of keys at its top level")
    return config


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
