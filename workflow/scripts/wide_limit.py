"""Rule wide_limit: every cluster against Marchenko-Pastur (step 0) and the semicircle."""

from pathlib import Path

from sgd_dyson.logs import log_to
from sgd_dyson.report.tables import table_page, wide_limit_display
from sgd_dyson.stages.wide_limit import table
from sgd_dyson.tables import atomic_path, provenance, read_table, write_table

log_to(snakemake.log[0])
inputs, settings = snakemake.input, snakemake.params.settings


def by_point(paths):
    return {Path(path).stem: read_table(path, "spectrum") for path in paths}


scaling = read_table(inputs.scaling, "scaling")
wide = table(scaling, by_point(inputs.initial), by_point(inputs.spectra), settings)
write_table(wide, snakemake.output.wide_limit, "wide_limit", provenance(settings))
page = table_page(
    f"{snakemake.wildcards.experiment}: the wide limit",
    {"every point and cluster": wide_limit_display(wide)},
)
with atomic_path(snakemake.output.wide_limit_table) as temporary:
    temporary.write_text(page, encoding="utf-8")
