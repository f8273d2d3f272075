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
        settings=lambda wildcards: flow_settings(
            EXPERIMENTS[wildcards.experiment], flow_point(wildcards.experiment)
        ),
        checkpoint=lambda wildcards: checkpoint_file(wildcards.experiment, "flow"),
    message:
        "Rerunning a few replicas of {wildcards.experiment} with fine snapshots"
    script:
        "../scripts/simulate.py"
