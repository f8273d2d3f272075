"""Stage import_weights: one point of external weight snapshots, checked, as a simulate table."""

from ..config import canonical


def settings(experiment: dict) -> dict:
    """What the import stage reads of an external experiment: its layer and the replicas needed.

    A point needs at least ``fit.error_groups`` replicas (the jackknife groups).
    """
    return canonical(
        {"layer": experiment.get("layer"), "minimum_replicas": experiment["fit"]["error_groups"]}
    )
