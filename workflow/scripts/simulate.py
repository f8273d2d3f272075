"""Rules simulate and flow: train the point's replicas and keep their weight snapshots."""

import logging

from sgd_dyson import __version__
from sgd_dyson.logs import log_to
from sgd_dyson.models import MODELS
from sgd_dyson.simulation import Checkpoint
from sgd_dyson.stages.simulate import columns
from sgd_dyson.tables import provenance, settings_sha256, write_table

log_to(snakemake.log[0])
model, settings = snakemake.params.model, snakemake.params.settings
run = {"model": model, **settings}
checkpoint = Checkpoint(
    snakemake.params.checkpoint,
    fingerprint=settings_sha256({**run, "package_version": __version__}),
    # Read from the config, not passed as a param: changing it must rerun nothing.
    interval=snakemake.config["checkpoint_every"],
)
snapshots = MODELS[model].simulate(settings, checkpoint)
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
    columns(snapshots, settings),
    snakemake.output.weights,
    "simulate",
    provenance(run, run=outcome),
)
checkpoint.remove()
