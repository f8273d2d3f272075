from sgd_dyson.stages import sweep


# Light: runs in the main Snakemake process, also when the others go to a cluster.
localrules:
    sweep,


rule sweep:
    output:
        sweep=sweep_file(),
    log:
        log_file("sweep", "{experiment}"),
    benchmark:
        benchmark_file("sweep", "{experiment}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=runtime(5),
    params:
        experiment="{experiment}",
        root_seed=config["seed"],
        settings=lambda wildcards: sweep.settings(
            EXPERIMENTS[wildcards.experiment], POINTS[wildcards.experiment]
        ),
    message:
        "Listing the sweep points of {wildcards.experiment}"
    script:
        "../scripts/sweep.py"
