"""Rule front_page: the report's landing page, every experiment's slope next to the theory."""

from pathlib import Path

from sgd_dyson.logs import log_to
from sgd_dyson.report import front_page
from sgd_dyson.tables import atomic_path, read_table

log_to(snakemake.log[0])
inputs = snakemake.input
experiments = [
    {
        "name": name,
        "model": model,
        "scaling": read_table(scaling, "scaling"),
        "scaling_fit": read_table(scaling_fit, "scaling_fit"),
        "scaling_png": Path(scaling_png).read_bytes(),
        "flow_png": Path(flow_png).read_bytes(),
    }
    for name, model, scaling, scaling_fit, scaling_png, flow_png in zip(
        snakemake.params.experiments,
        snakemake.params.models,
        inputs.scaling,
        inputs.scaling_fit,
        inputs.scaling_png,
        inputs.flow_png,
        strict=True,
    )
]
with atomic_path(snakemake.output.front_page) as temporary:
    temporary.write_text(front_page(experiments), encoding="utf-8")
