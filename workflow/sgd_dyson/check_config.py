"""``sgd-dyson-check-config``: check config files as the workflow will, before a run.

Reads each file strictly (`config.read_config_file`: a syntax error, a key
given twice or a scalar YAML would reinterpret names the file, line and
column), merges them in order as Snakemake merges several ``--configfile``
(later files override earlier keys), and validates the result
(`config.validate_config`). Snakemake parses ``--configfile`` before the
workflow runs and reports a YAML syntax error there without file or line; this
command gives both, and checks a study before it is submitted to a cluster.
"""

import argparse
import sys

from snakemake.utils import update_config

from .config import read_config_file, validate_config
from .models import model_of
from .models.base import ConfigError
from .models.external_levels import ExternalDataError


def checked_config(paths: list[str]) -> dict:
    """The validated config of the files ``paths``, merged in order (`ConfigError` if bad)."""
    config: dict = {}
    for path in paths:
        update_config(config, read_config_file(path))
    return validate_config(config)


def summary(config: dict) -> str:
    """One line: the experiments of a validated ``config`` with their models and point counts."""
    experiments = []
    for name, experiment in config["experiments"].items():
        count = len(model_of(experiment).points(f"experiments.{name}", experiment))
        experiments.append(f"{name} ({experiment['model']}, {count} point{'s' * (count != 1)})")
    return f"{len(experiments)} experiment(s): " + ", ".join(experiments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sgd-dyson-check-config",
        description="Check config files as the workflow will read them (merged in order).",
    )
    parser.add_argument("configfiles", nargs="+", help="YAML config files, as for --configfile")
    arguments = parser.parse_args(argv)
    try:
        config = checked_config(arguments.configfiles)
        line = summary(config)
    except (ConfigError, ExternalDataError) as error:
        print(f"sgd-dyson-check-config: error: {error}", file=sys.stderr)
        return 1
    print(f"{', '.join(arguments.configfiles)}: valid; {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
