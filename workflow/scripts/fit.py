"""Rule fit: per-cluster Coulomb-gas, Wigner-surmise and density fits with jackknife errors."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import fit
from sgd_dyson.tables import provenance, read_table, table_metadata, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
source = snakemake.input.spectrum
fits, densities = fit.tables(
    read_table(source, "spectrum"), snakemake.params.point, settings, table_metadata(source)["run"]
)
write_table(fits, snakemake.output.fit, "fit", provenance(settings))
write_table(densities, snakemake.output.density_fit, "density_fit", provenance(settings))
