from sgd_dyson.stages import plots


# Light: runs in the main Snakemake process, also when the others go to a cluster.
localrules:
    plots,


rule plots:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            plot_file("{figure}", "png"),
            caption="../report/figure.rst",
            category=figure_category,
            labels={"experiment": "{experiment}", "figure": "{figure}"},
        ),
        pdf=plot_file("{figure}", "pdf"),
    log:
        log_file("plots", "{experiment}", "{figure}"),
    benchmark:
        benchmark_file("plots", "{experiment}", "{figure}")
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtime(10),
    params:
        labels=lambda wildcards: plots.labels(
            model_of(wildcards.experiment), EXPERIMENTS[wildcards.experiment]
        ),
        settings=lambda wildcards: plots.settings(
            model_of(wildcards.experiment),
            EXPERIMENTS[wildcards.experiment],
            wildcards.figure,
        ),
        caption=lambda wildcards: plots.caption(
            wildcards.experiment,
            model_of(wildcards.experiment),
            EXPERIMENTS[wildcards.experiment],
            wildcards.figure,
        ),
    message:
        "Figure {wildcards.figure} of {wildcards.experiment}"
    script:
        "../scripts/plots.py"
