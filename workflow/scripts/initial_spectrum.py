"""Rule initial_spectrum: the levels of every replica's weights at step 0."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages.wide_limit import initial_spectrum_columns
from sgd_dyson.tables import provenance, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
write_table(
    initial_spectrum_columns(settings, snakemake.params.point),
    snakemake.output.initial,
    "spectrum",
    provenance(settings),
)
