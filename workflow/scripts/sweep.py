"""Rule sweep: the experiment's points, with their seeds and run lengths."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import sweep
from sgd_dyson.tables import provenance, write_table

log_to(snakemake.log[0])
params = snakemake.params
table = sweep.table(params.experiment, params.settings["points"], params.root_seed)
write_table(table, snakemake.output.sweep, "sweep", provenance(params.settings))
