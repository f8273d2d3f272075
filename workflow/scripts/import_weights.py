"""Rule import_weights: one point of external weight snapshots, checked, as a simulate table."""

import logging

from sgd_dyson.logs import log_to
from sgd_dyson.models.external import point_snapshots, simulate_columns
from sgd_dyson.tables import provenance, write_table

log_to(snakemake.log[0])
settings, point = snakemake.params.settings, snakemake.params.point
snapshots, weights = point_snapshots(
    list(snakemake.input),
    point,
    settings["layer"],
    snakemake.params.key,
    settings["minimum_replicas"],
    settings["levels"],
)
replicas = snapshots["replica"].nunique()
logging.info(
    "%d snapshots of %d replicas, %d × %d weights, from %s",
    len(snapshots),
    replicas,
    *weights.shape[1:],
    ", ".join(snakemake.input),
)
outcome = {"replicas": replicas, "diverged_replicas": 0, "first_divergence_step": None}
write_table(
    simulate_columns(snapshots, weights, point),
    snakemake.output.weights,
    "simulate",
    provenance({**settings, "files": list(snakemake.input)}, run=outcome),
)
