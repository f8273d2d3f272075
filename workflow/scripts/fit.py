"""Rule fit: per-cluster Coulomb-gas, Wigner-surmise and density fits with jackknife errors."""

import logging

from sgd_dyson.logs import log_to
from sgd_dyson.stages import fit
from sgd_dyson.tables import provenance, read_table, table_metadata, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
source = snakemake.input.spectrum
fits, densities = fit.tables(
    read_table(source, "spectrum"), snakemake.params.point, settings, table_metadata(source)["run"]
)
point = snakemake.params.point["point"]
for row in fits.itertuples():
    logging.info(
        "point %s, cluster %d: statistics from step %s (burn_in %s); stationarity %s "
        "(largest |z| %.3g, threshold %.3g)",
        point,
        row.cluster,
        row.burn_in,
        settings["burn_in"],
        row.stationarity,
        row.stationarity_z,
        row.stationarity_threshold,
    )
    if row.stationarity == "failed":
        logging.warning(
            "point %s, cluster %d is not stationary: the first and last halves of its "
            "snapshots from step %s differ by |z| = %.3g > %.3g; status %s, left out of the "
            "scaling fits (raise burn_in, or use burn_in: auto)",
            point,
            row.cluster,
            row.burn_in,
            row.stationarity_z,
            row.stationarity_threshold,
            row.status,
        )
write_table(fits, snakemake.output.fit, "fit", provenance(settings))
write_table(densities, snakemake.output.density_fit, "density_fit", provenance(settings))
