"""Rule front_page: the report's landing page, every experiment's slope next to the theory
and its exponents of α and |B| next to the scaling rules."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import front_page

log_to(snakemake.log[0])
inputs = snakemake.input
experiments = front_page.read_experiments(
    snakemake.params.experiments,
    inputs.scaling,
    inputs.scaling_fit,
    inputs.scaling_exponents,
    inputs.scaling_png,
    inputs.flow_png,
)
front_page.write(experiments, snakemake.params.unfinished, snakemake.output.front_page)
