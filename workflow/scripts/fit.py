"""Rule fit: per-cluster Coulomb-gas and Wigner-surmise fits with jackknife errors."""

from sgd_dyson.analysis import fit_table
from sgd_dyson.logs import log_to
from sgd_dyson.tables import provenance, read_table, table_metadata, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
source = snakemake.input.spectrum
fits = fit_table(
    read_table(source, "spectrum"), snakemake.params.point, settings, table_metadata(source)["run"]
)
write_table(fits, snakemake.output.fit, "fit", provenance(settings))
