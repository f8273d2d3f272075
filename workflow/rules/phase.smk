from sgd_dyson.stages import phase


rule phase:
    input:
        weights=point_weights,
    output:
        replicas=phase_replica_file(),
        cell=phase_cell_file(),
    log:
        log_file("phase", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("phase", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=runtime(10),
    params:
        point=point_settings,
        settings=point_settings_of(phase.settings),
    message:
        "Phase-diagram observables of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/phase.py"
