from sgd_dyson.stages import import_weights


rule import_weights:
    input:
        external_files,
    output:
        weights=imported_file(),
    log:
        log_file("import_weights", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("import_weights", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=runtime(10),
    params:
        point=point_settings,
        settings=experiment_settings(import_weights.settings),
        key="experiments.{experiment}",
    message:
        "Reading and checking the external weights of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/import_weights.py"
