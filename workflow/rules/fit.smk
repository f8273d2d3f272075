from sgd_dyson.stages import fit


rule fit:
    input:
        spectrum=spectrum_file(),
    output:
        fit=fit_file(),
        density_fit=density_fit_file(),
    log:
        log_file("fit", "{experiment}", "{point}"),
    benchmark:
        benchmark_file("fit", "{experiment}", "{point}")
    conda:
        "../../envs/sgd-dyson.yaml"
    threads: 1
    resources:
        mem_mb=simulate_memory,
        runtime=runtime(10),
    params:
        point=point_settings,
        settings=experiment_settings(fit.settings),
    message:
        "Fitting the Coulomb gas and the Wigner surmise to {wildcards.experiment} at {wildcards.point}"
    script:
        "../scripts/fit.py"
