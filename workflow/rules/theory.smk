from sgd_dyson.stages import theory


rule theory:
    output:
        theory=theory_file(),
    log:
        log_file("theory", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("theory", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtime(10),
    params:
        point=point_settings,
        settings=point_settings_of(theory.settings),
    message:
        "Predicting the stationary spectrum of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/theory.py"
