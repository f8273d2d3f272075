"""Rule spectrum: singular values of W and eigenvalues of X = WᵀW for every snapshot."""

from sgd_dyson.logs import log_to
from sgd_dyson.stages import spectrum
from sgd_dyson.tables import provenance, read_arrow, table_metadata, write_table

log_to(snakemake.log[0])
settings = snakemake.params.settings
source = snakemake.input.weights
try:
    columns = spectrum.table_columns(read_arrow(source, "simulate"), source, settings)
except ValueError as error:  # name the file whose snapshots cannot be analysed
    raise ValueError(f"{source}: {error}") from None
run = table_metadata(source)["run"]
write_table(columns, snakemake.output.spectrum, "spectrum", provenance(settings, run=run))
