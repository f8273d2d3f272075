"""Rule theory: the exact and continuum stationary spectrum of one sweep point."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import theory
from sgd_dyson.tables import provenance, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
write_table(
    theory.table(settings, snakemake.params.point),
    snakemake.output.theory,
    "theory",
    provenance(settings),
)
