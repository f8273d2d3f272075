rule simulate:
    output:
        weights=simulate_file(),
    log:
        log_file("simulate", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("simulate", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=simulate_runtime,
    params:
        model=lambda wildcards: EXPERIMENTS[wildcards.experiment]["model"],
        settings=simulation_params,
        checkpoint=lambda wildcards: checkpoint_file(
            wildcards.experiment, wildcards.point
        ),
    message:
        "Training the replicas of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/simulate.py"
