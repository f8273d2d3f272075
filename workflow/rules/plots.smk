# Light: runs in the main Snakemake process, also when the others go to a cluster.
localrules:
    plots,


rule plots:
    input:
        scaling=scaling_file(),
        scaling_fit=scaling_fit_file(),
        spectra=per_point(spectrum_file),
        density_fits=density_fits_file(),
        flow=flow_input,
    output:
        **{
            f"{plot}_{extension}": (
                report(
                    plot_file(plot, extension),
                    caption=f"../report/{plot}.rst",
                    category=report_category(plot),
                    labels={"experiment": "{experiment}", "figure": plot},
                )
                if extension == "png"
                else plot_file(plot, extension)
            )
            for plot in FIGURES
            for extension in ["png", "pdf"]
        },
    log:
        log_file("plots", "{experiment}"),
    benchmark:
        benchmark_file("plots", "{experiment}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtime(10),
    params:
        observable=lambda wildcards: EXPERIMENTS[wildcards.experiment]["observable"],
        burn_in=lambda wildcards: EXPERIMENTS[wildcards.experiment]["burn_in"],
        flow_replicas=lambda wildcards: EXPERIMENTS[wildcards.experiment]["flow"][
            "replicas"
        ],
    message:
        "Figures of {wildcards.experiment}"
    script:
        "../scripts/plots.py"
