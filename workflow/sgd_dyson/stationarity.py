"""Are the snapshots of a point stationary? The ``burn_in: auto`` rule and the halves check.

Both work on the levels of one point, ``levels`` ``(replicas, snapshots, levels)``
with the snapshots in ascending step order and the levels ascending within
each snapshot, and on the independent units the replicas belong to
(``units`` ``(replicas,)``: the replica itself, or the dataset draw when
replicas share a dataset and so are not independent). Every error comes from
the spread between independent units of a per-unit quantity: the snapshots of
one replica are autocorrelated and are never treated as independent.

The tolerance is that of every statistical statement of the workflow: a
two-sided 4σ tail (false alarm ~6e-5), Bonferroni-corrected over the tests of
the point, and read from Student's t with ``units − 1`` degrees of freedom
(`critical_z`), since the error is itself estimated from ``units`` values.
"""

from typing import NamedTuple

import numpy as np
from scipy import stats

SIGMAS = 4.0
"""The tolerance of every test here: a two-sided tail of this many standard normal deviations."""

STATUSES = ("passed", "failed", "untested")
"""`StationarityCheck.status`: untested with a single kept snapshot (or one independent unit)."""


def critical_z(tests: int, units: int, sigmas: float = SIGMAS) -> float:
    """|z| beyond which one of ``tests`` two-sided tests fails, errors from ``units`` values.

    The false-alarm probability of all tests together is that of one two-sided
    ``sigmas``σ normal test, ``p = 2 Φ(−sigmas)`` (~6e-5 for 4σ); Bonferroni
    gives each test ``p / tests``, and the statistic ``mean / (sd / √units)``
    of ``units`` independent values follows Student's t with ``units − 1``
    degrees of freedom: ``z* = t⁻¹(1 − p / (2 tests); units − 1)``.
    """
    tail = 2 * stats.norm.sf(sigmas) / (2 * tests)
    return float(stats.t.isf(tail, units - 1))


def unit_means(values: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Means of ``values`` ``(replicas, ...)`` over the replicas of each unit: ``(units, ...)``.

    Units in the order of `numpy.unique` of ``units`` ``(replicas,)``.
    """
    _, inverse, counts = np.unique(units, return_inverse=True, return_counts=True)
    sums = np.zeros((counts.size, *values.shape[1:]))
    np.add.at(sums, inverse, values)
    return sums / counts.reshape(-1, *([1] * (values.ndim - 1)))


def mean_z(differences: np.ndarray) -> np.ndarray:
    """``mean / (sd / √U)`` over the first axis of ``differences`` ``(U, tests)``: ``(tests,)``.

    ``sd`` is the sample standard deviation (``ddof = 1``) of the U independent
    values; a difference of zero spread is 0 if it is zero and infinite otherwise.
    """
    mean = differences.mean(axis=0)
    error = differences.std(axis=0, ddof=1) / np.sqrt(differences.shape[0])
    z = np.divide(np.abs(mean), error, out=np.full(mean.shape, np.inf), where=error > 0)
    return np.where((error == 0) & (mean == 0), 0.0, z)


def _units(levels: np.ndarray, units: np.ndarray | None) -> np.ndarray:
    return np.arange(levels.shape[0]) if units is None else np.asarray(units)


def stationary_start(
    levels: np.ndarray, steps: np.ndarray, units: np.ndarray | None = None, sigmas: float = SIGMAS
) -> int:
    """``burn_in: auto``: the first snapshot step from which the levels are stationary.

    Rule. With K snapshots, the reference is the last half, snapshots
    ``k ≥ h = ⌊K/2⌋``, and ``m_r`` each replica's mean of each level over it.
    Every earlier snapshot k is compared with it, level by level: the
    difference ``d_r(k) = λ_r(k) − m_r`` averaged over the replicas of each
    unit, its mean over units against its standard error from their spread,
    ``z = mean / (sd / √U)`` (`mean_z`). Snapshot k agrees when every level
    has ``|z| ≤ critical_z(h × levels, U)`` (4σ, Bonferroni over the h × levels
    comparisons). The chosen step is the earliest ``steps[k]`` from which
    every snapshot before the reference agrees: ``steps[0]`` if all do, the
    step after the last disagreeing snapshot otherwise (at most ``steps[h]``,
    the reference's start). With fewer than two snapshots or units, nothing
    can be compared and ``steps[0]`` is returned.

    ``levels`` ``(replicas, snapshots, levels)``, ``steps`` ``(snapshots,)``
    ascending, ``units`` ``(replicas,)`` the independent unit of each replica
    (default: every replica its own).
    """
    steps = np.asarray(steps)
    units = _units(levels, units)
    unit_count = np.unique(units).size
    reference_start = levels.shape[1] // 2
    if reference_start == 0 or unit_count < 2:
        return int(steps[0])
    reference = levels[:, reference_start:, :].mean(axis=1, keepdims=True)
    differences = unit_means(levels[:, :reference_start, :] - reference, units)
    z = mean_z(differences.reshape(unit_count, -1)).reshape(reference_start, levels.shape[2])
    threshold = critical_z(z.size, unit_count, sigmas)
    disagreeing = np.flatnonzero((z > threshold).any(axis=1))
    return int(steps[0] if disagreeing.size == 0 else steps[disagreeing[-1] + 1])


class StationarityCheck(NamedTuple):
    """The halves test of a point's kept snapshots (`stationarity_check`)."""

    status: str
    """``passed``, ``failed`` or ``untested`` (`STATUSES`)."""
    threshold: float
    """The |z| a test may reach (`critical_z`); NaN when untested."""
    cluster_z: np.ndarray
    """Per cluster (in the order of `numpy.unique` of ``clusters``), its tests' largest |z|."""


def half_means(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each replica's time average of every level over the first and the last half of snapshots.

    With K snapshots, the halves are the first and the last ``⌊K/2⌋``
    (the middle snapshot of an odd K is in neither): two ``(replicas, levels)``.
    """
    half = levels.shape[1] // 2
    return levels[:, :half, :].mean(axis=1), levels[:, -half:, :].mean(axis=1)


def stationarity_check(
    levels: np.ndarray,
    clusters: np.ndarray,
    units: np.ndarray | None = None,
    sigmas: float = SIGMAS,
) -> StationarityCheck:
    """Do the first and the last half of the kept snapshots agree within their errors?

    Tests. Per level, its mean; per cluster of n ≥ 2 levels, its mean spacing
    ``(λ_max − λ_min)/(n − 1)`` (the mean neighbour spacing of its ascending
    levels). Each test's statistic is each replica's time average over the
    last half minus that over the first half (`half_means`), averaged over the
    replicas of each unit; its mean over the U units against the standard
    error from their spread, ``z = mean / (sd / √U)`` (`mean_z`). The point
    passes when every test has ``|z| ≤ critical_z(tests, U)`` (two-sided 4σ,
    Bonferroni over the levels and spacings of all clusters); a single kept
    snapshot or a single unit is ``untested``, never passed.

    ``levels`` ``(replicas, snapshots, levels)`` of the kept snapshots, steps
    ascending; ``clusters`` ``(levels,)`` the cluster of each level (consecutive
    levels); ``units`` ``(replicas,)`` as in `stationary_start`.
    """
    clusters = np.asarray(clusters)
    names, first_level, sizes = np.unique(clusters, return_index=True, return_counts=True)
    units = _units(levels, units)
    unit_count = np.unique(units).size
    if levels.shape[1] < 2 or unit_count < 2:
        return StationarityCheck("untested", np.nan, np.full(names.size, np.nan))
    first, last = half_means(levels)
    pairs = sizes >= 2
    top = first_level + sizes - 1
    spacing = (last[:, top] - last[:, first_level] - first[:, top] + first[:, first_level]) / (
        np.maximum(sizes, 2) - 1
    )
    differences = unit_means(np.concatenate([last - first, spacing[:, pairs]], axis=1), units)
    z = mean_z(differences)
    threshold = critical_z(z.size, unit_count, sigmas)
    test_cluster = np.concatenate([np.searchsorted(names, clusters), np.flatnonzero(pairs)])
    cluster_z = np.zeros(names.size)
    np.maximum.at(cluster_z, test_cluster, z)
    status = "passed" if (z <= threshold).all() else "failed"
    return StationarityCheck(status, threshold, cluster_z)


def snapshot_levels(
    replica: np.ndarray, step: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(levels, steps, replicas)``: snapshots ``values`` ``(snapshots, levels)`` as an array.

    ``replica`` and ``step`` ``(snapshots,)`` label each row of ``values``, in
    any order; every replica must have the same steps. Returns ``levels``
    ``(replicas, steps, levels)`` ordered by replica and ascending step, the
    ``steps`` and the ``replicas`` (ascending).
    """
    order = np.lexsort((step, replica))
    replicas, steps = np.unique(replica), np.unique(step)
    if replicas.size * steps.size != len(order):
        raise ValueError(
            f"columns 'replica', 'step': {len(order)} snapshots are not {replicas.size} replicas "
            f"× the same {steps.size} steps"
        )
    levels = np.asarray(values)[order].reshape(replicas.size, steps.size, -1)
    return levels, steps, replicas
