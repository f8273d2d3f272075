from sgd_dyson.stages import plots, scaling


# Light: runs in the main Snakemake process, also when the others go to a cluster.
localrules:
    scaling,


rule scaling:
    input:
        sweep=sweep_file(),
        fits=per_point(fit_file),
        density_fits=per_point(density_fit_file),
        theory=theory_inputs,
    output:
        scaling=scaling_file(),
        scaling_fit=scaling_fit_file(),
        scaling_exponents=scaling_exponents_file(),
        density_fits=density_fits_file(),
        residuals=residuals_file(),
        fits_table=report(
            table_file("fits"),
            caption="../report/fits_table.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "table: fits"},
        ),
        residuals_table=report(
            table_file("residuals"),
            caption="../report/residuals_table.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "table: residuals"},
        ),
    log:
        log_file("scaling", "{experiment}"),
    benchmark:
        benchmark_file("scaling", "{experiment}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime(10),
    params:
        settings=experiment_settings(scaling.settings),
        description=lambda wildcards: plots.description(
            wildcards.experiment,
            model_of(wildcards.experiment),
            EXPERIMENTS[wildcards.experiment],
        ),
    message:
        "Collecting the fits of {wildcards.experiment} against the scaling variable"
    script:
        "../scripts/scaling.py"
