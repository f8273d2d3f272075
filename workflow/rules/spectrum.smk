from sgd_dyson.stages import spectrum


rule spectrum:
    input:
        weights=point_weights,
    output:
        spectrum=spectrum_file(),
    log:
        log_file("spectrum", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("spectrum", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=runtime(10),
    params:
        settings=experiment_settings(spectrum.settings),
    message:
        "Spectra of the weights of {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/spectrum.py"
