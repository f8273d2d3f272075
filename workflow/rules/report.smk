import shlex

from sgd_dyson.stages import front_page


# Light: run in the main Snakemake process, also when the others go to a cluster.
localrules:
    front_page,
    report,


rule front_page:
    input:
        scaling=[scaling_file(experiment) for experiment in EXPERIMENTS],
        scaling_fit=[scaling_fit_file(experiment) for experiment in EXPERIMENTS],
        scaling_exponents=[
            scaling_exponents_file(experiment) for experiment in EXPERIMENTS
        ],
        scaling_png=[
            plot_file("scaling", "png", experiment) for experiment in EXPERIMENTS
        ],
        flow_png=[
            plot_file("eigenvalue_flow", "png", experiment)
            for experiment in EXPERIMENTS
        ],
    output:
        front_page=front_page_file(),
    log:
        log_file("front_page"),
    benchmark:
        benchmark_file("front_page")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime(5),
    params:
        experiments=[
            front_page.settings(name, model_of(name), experiment, config["seed"])
            for name, experiment in EXPERIMENTS.items()
        ],
        unfinished=UNFINISHED,
    message:
        "The report's front page: every experiment's slope next to the theory, its "
        "exponents of α and |B| next to the scaling rules"
    script:
        "../scripts/front_page.py"


rule report:
    input:
        front_page=front_page_file(),
        plots=[
            plot_file(plot, extension, experiment)
            for experiment in EXPERIMENTS
            for plot in figures_of(experiment)
            for extension in ["png", "pdf"]
        ],
        tables=[
            table_file(table, experiment)
            for experiment in EXPERIMENTS
            for table in report_tables(experiment)
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
        # `--config` of this run: the nested report must see the same config.
        config_args=(
            shlex.join(["--config", *workflow.config_settings.config_args])
            if workflow.config_settings.config_args
            else ""
        ),
    message:
        "Building the HTML report of every experiment"
    shell:
        # A nested `snakemake --report` reads the metadata of the finished
        # outputs; it takes no lock, so it may run inside this job.
        "{params.python} -m snakemake --snakefile '{params.snakefile}' {params.configfiles} "
        "--report {output.report} {params.config_args} > {log} 2>&1"


# After a failed --keep-going run: the report of the experiments that finished.
onerror:
    build_partial_report()
