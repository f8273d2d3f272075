# Light: runs in the main Snakemake process, also when the others go to a cluster.
localrules:
    report,


rule report:
    input:
        plots=[
            plot_file(plot, extension, experiment)
            for experiment in EXPERIMENTS
            for plot in FIGURES
            for extension in ["png", "pdf"]
        ],
    output:
        report=report_file(),
    log:
        log_file("report"),
    benchmark:
        benchmark_file("report")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtime(10),
    params:
        python=sys.executable,
        configfiles=" ".join(
            f"--configfile '{path}'" for path in workflow.config_settings.configfiles
        ),
        snakefile=workflow.main_snakefile,
    message:
        "Building the HTML report of every experiment"
    shell:
        # A nested `snakemake --report` reads the metadata of the finished
        # outputs; it takes no lock, so it may run inside this job.
        "{params.python} -m snakemake --snakefile '{params.snakefile}' {params.configfiles} "
        "--report {output.report} > {log} 2>&1"
