"""Snakemake's own cost of the workflow's per-point jobs, with none of the workflow's code.

The per-point rules of a one-experiment teacher–student sweep (simulate, spectrum, fit,
theory), with the workflow's paths and scripts and one params function each, and nothing
else: no config validation, no sweep table, no settings built from the config, no log,
benchmark, resources or conda. ``benchmark.py --dag`` dry-runs it next to the workflow
(``--config points=N``): the workflow's DAG of N points is not built faster than this.
"""

POINTS = [f"point~{index}" for index in range(config["points"])]
STAGES = ["simulate", "spectrum", "fit", "theory"]
SCRIPTS = "../../workflow/scripts"


rule all:
    input:
        expand("results/grid/{stage}/{point}.parquet", stage=STAGES, point=POINTS),


rule simulate:
    output:
        "results/{experiment}/simulate/{point}.parquet",
    params:
        point=lambda wildcards: wildcards.point,
    script:
        f"{SCRIPTS}/simulate.py"


rule spectrum:
    input:
        "results/{experiment}/simulate/{point}.parquet",
    output:
        "results/{experiment}/spectrum/{point}.parquet",
    params:
        point=lambda wildcards: wildcards.point,
    script:
        f"{SCRIPTS}/spectrum.py"


rule fit:
    input:
        "results/{experiment}/spectrum/{point}.parquet",
    output:
        "results/{experiment}/fit/{point}.parquet",
    params:
        point=lambda wildcards: wildcards.point,
    script:
        f"{SCRIPTS}/fit.py"


rule theory:
    output:
        "results/{experiment}/theory/{point}.parquet",
    params:
        point=lambda wildcards: wildcards.point,
    script:
        f"{SCRIPTS}/theory.py"
