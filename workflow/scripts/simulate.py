"""Rule simulate: train the point's replicas and keep their weight snapshots."""

import logging

from sgd_dyson.analysis import simulate_columns
from sgd_dyson.logs import log_to
from sgd_dyson.models import simulate
from sgd_dyson.tables import provenance, write_table

log_to(snakemake.log[0])
model, settings = snakemake.params.model, snakemake.params.settings
snapshots = simulate(model, settings)
outcome = {
    "replicas": settings["replicas"],
    "diverged_replicas": snapshots.diverged_replicas,
    "first_divergence_step": snapshots.first_divergence_step,
}
if snapshots.diverged_replicas:
    logging.warning(
        "%d of %d replicas diverged (first by step %s): the point is marked diverged",
        snapshots.diverged_replicas,
        settings["replicas"],
        snapshots.first_divergence_step,
    )
write_table(
    simulate_columns(snapshots, settings),
    snakemake.output.weights,
    "simulate",
    provenance({"model": model, **settings}, run=outcome),
)
