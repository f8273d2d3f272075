from sgd_dyson.stages import simulate


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
        settings=point_settings_of(simulate.settings),
        checkpoint=checkpoint_file(),
    message:
        "Training the replicas of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/simulate.py"


rule flow:
    output:
        weights=flow_file(),
    log:
        log_file("flow", "{experiment}"),
    benchmark:
        benchmark_file("flow", "{experiment}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime(30),
    params:
        model=lambda wildcards: EXPERIMENTS[wildcards.experiment]["model"],
        settings=lambda wildcards: simulate.flow_settings(
            EXPERIMENTS[wildcards.experiment], flow_point(wildcards.experiment)
        ),
        checkpoint=checkpoint_file(point="flow"),
    message:
        "Rerunning a few replicas of {wildcards.experiment} with fine snapshots"
    script:
        "../scripts/simulate.py"
