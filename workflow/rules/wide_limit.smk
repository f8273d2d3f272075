from sgd_dyson.stages import plots, wide_limit


rule initial_spectrum:
    output:
        initial=initial_spectrum_file(),
    log:
        log_file("initial_spectrum", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("initial_spectrum", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=runtime(10),
    params:
        point=point_settings,
        settings=point_settings_of(wide_limit.initial_settings),
    message:
        "Spectra of the initial weights of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/initial_spectrum.py"


rule wide_limit:
    input:
        scaling=scaling_file(),
        initial=per_point(initial_spectrum_file),
        spectra=per_point(spectrum_file),
    output:
        wide_limit=wide_limit_file(),
        wide_limit_table=report(
            table_file("wide_limit"),
            caption="../report/wide_limit_table.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "table: wide limit"},
        ),
    log:
        log_file("wide_limit", "{experiment}"),
    benchmark:
        benchmark_file("wide_limit", "{experiment}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtime(10),
    params:
        settings=experiment_settings(wide_limit.settings),
        description=lambda wildcards: plots.description(
            wildcards.experiment,
            model_of(wildcards.experiment),
            EXPERIMENTS[wildcards.experiment],
        ),
    message:
        "Levels of {wildcards.experiment} against Marchenko-Pastur and the semicircle"
    script:
        "../scripts/wide_limit.py"
