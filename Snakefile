"""Stochastic gradient descent as Dyson Brownian motion.

sweep → simulate → spectrum → fit (theory, phase) → scaling (wide_limit) → plots → report, per experiment
of the config. `snakemake --cores N` runs everything for `config.yaml`;
`--configfile my.yaml` replaces it (it is not merged with config.yaml).
"""

import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# The science package lives in workflow/; put it on the path of this process
# and of every job (local, or submitted to a cluster) without an install step.
PACKAGE_ROOT = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, PACKAGE_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [PACKAGE_ROOT, os.getenv("PYTHONPATH")]))
)


from sgd_dyson.config import read_config_file, validate_config

# Read every config file strictly first (a duplicate key, `yes` or `010` is an error naming
# file and line). Snakemake parses --configfile before this file runs, so a YAML syntax
# error there is Snakemake's own message; in the default config.yaml it is ours.
CONFIG_FILES = workflow.config_settings.configfiles or [
    os.path.join(workflow.basedir, "config.yaml")
]
for path in CONFIG_FILES:
    read_config_file(path)

if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "config.yaml")


validate_config(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/import_weights.smk"
include: "workflow/rules/spectrum.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/phase.smk"
include: "workflow/rules/wide_limit.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        # Every result, not only the report: a deleted intermediate is rebuilt.
        all_results(),
        report_file(),
