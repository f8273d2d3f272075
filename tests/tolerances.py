"""Statistical tolerances the tests share: a 4σ tail, split over several comparisons.

Every statistical test allows a false failure with probability ~6e-5, the
two-sided tail beyond 4 standard errors.
"""

import numpy as np
from scipy import stats

FOUR_SIGMA_TAIL = 2 * stats.norm.sf(4.0)
"""Two-sided false-failure probability of a 4σ tolerance, ~6e-5."""


def bonferroni_z(comparisons: int) -> float:
    """z per comparison that keeps ``comparisons`` two-sided tests at one 4σ test's ~6e-5."""
    return float(stats.norm.isf(FOUR_SIGMA_TAIL / (2 * comparisons)))


def replica_mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` ``(snapshots, replicas, ...)`` and its standard error.

    The error is that of the mean of the replica-level means: replicas are
    independent, snapshots of one replica need not be.
    """
    per_replica = values.reshape(values.shape[0], values.shape[1], -1).mean(axis=(0, 2))
    return per_replica.mean(), per_replica.std(ddof=1) / np.sqrt(per_replica.size)
