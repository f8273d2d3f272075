"""Stage import_weights: one point of external weight snapshots, checked, as a simulate table."""

from ..config import canonical


def settings(experiment: dict) -> dict:
    """What the import stage reads of an external experiment.

    Its ``layer``, the replicas a point needs (at least ``fit.error_groups``,
    the jackknife groups) and what levels-format files hold (``levels``:
    singular values of W or eigenvalues of X = WᵀW).
    """
    return canonical(
        {
            "layer": experiment.get("layer"),
            "minimum_replicas": experiment["fit"]["error_groups"],
            "levels": experiment["levels"],
        }
    )
