"""Rule phase: the phase-diagram observables of one cell, per replica and for the cell."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import phase
from sgd_dyson.tables import provenance, read_arrow, table_metadata, write_table

log_to(snakemake.log[0])
settings, source = snakemake.params.settings, snakemake.input.weights
replicas, cell = phase.tables(
    read_arrow(source, "simulate"), source, settings, snakemake.params.point
)
run = table_metadata(source)["run"]
write_table(replicas, snakemake.output.replicas, "phase_replica", provenance(settings, run=run))
write_table(cell, snakemake.output.cell, "phase_cell", provenance(settings, run=run))
