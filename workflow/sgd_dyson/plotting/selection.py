"""Which rows, points, clusters and replicas a figure shows, read from the pipeline's tables.

Pure functions of tables in the schemas of `sgd_dyson.tables`: nothing is
drawn here. Only points with status ``ok`` (no diverged replica) enter the
statistics figures.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..labels import Labels
from ..spectra import neighbour_spacings
from ..tables import POINT_COLUMNS
from .layout import POINT_SYMBOLS, cluster_name

MAX_DENSITY_CLUSTERS = 4
"""At most this many clusters (pairs first) get a row of pair-density panels."""


# --- Points and scans ---------------------------------------------------------------------


def scan_names(table: pd.DataFrame) -> list[str]:
    """Sorted names of the scans in the ``scans`` column of a sweep or scaling table."""
    return sorted({name for names in table["scans"] for name in names})


def scan_mask(table: pd.DataFrame, scan: str) -> np.ndarray:
    """Boolean mask of the rows of a sweep or scaling table whose point belongs to ``scan``."""
    return np.array([scan in list(names) for names in table["scans"]], dtype=bool)


def pair_statistics(scaling: pd.DataFrame) -> pd.DataFrame:
    """Scaling rows that carry spacing statistics: status ``ok`` and clusters of ≥ 2 levels."""
    return scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]


def power_law_points(scaling: pd.DataFrame, exponents: pd.DataFrame) -> pd.DataFrame:
    """The scaling rows behind each power-law fit of a ``scaling_exponents`` table.

    The ok rows of clusters of ≥ 2 levels (`pair_statistics`) at the fit's
    cluster and at its values of the point columns the exponents table holds
    (ε and σ_W; null matches null), each with the index of its fit in a
    column ``fit``: exactly the points `stages.scaling.scaling_exponents` fitted.
    """
    usable = pair_statistics(scaling)
    held = [column for column in exponents.columns if column in POINT_COLUMNS]
    parts = []
    for index, fit in exponents.iterrows():
        chosen = usable["cluster"].to_numpy() == fit["cluster"]
        for column in held:
            values = usable[column].to_numpy(dtype=float)
            same = np.isnan(values) if pd.isna(fit[column]) else np.isclose(values, fit[column])
            chosen = chosen & same
        parts.append(usable[chosen].assign(fit=index))
    return pd.concat(parts) if parts else usable.iloc[0:0].assign(fit=0)


def histogram_points(scaling: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """Up to three ok points spanning the sweep, one row each (their first cluster's row).

    The smallest, median and largest ``scale``. Where the scale depends on the
    cluster (`Labels.cluster_scale`), the smallest, median and largest
    learning rate at the batch size with the most learning rates, if it has
    three or more, else the smallest, median and largest ratio.
    """
    points = scaling[scaling["status"] == "ok"].drop_duplicates("point")
    if points.empty:
        return points
    order = ["scale", "point"]
    if labels.cluster_scale:
        order = ["ratio", "point"]
        rates = points.groupby("batch_size")["learning_rate"].nunique()
        if len(rates) and rates.max() >= 3:
            points = points[points["batch_size"] == rates.idxmax()]
            order = ["learning_rate", "point"]
    points = points.sort_values(order, ignore_index=True)
    chosen = sorted({0, (len(points) - 1) // 2, len(points) - 1})
    return points.iloc[chosen]


def rows_at_point(scaling: pd.DataFrame, point: Mapping) -> pd.DataFrame:
    """The scaling rows of the point with the given point-column values (null = null)."""
    chosen = np.ones(len(scaling), dtype=bool)
    for column in POINT_SYMBOLS:
        value = point.get(column)
        if value is None or pd.isna(value):
            chosen &= scaling[column].isna().to_numpy()
        else:
            chosen &= np.isclose(scaling[column].to_numpy(dtype=float), float(value))
    return scaling[chosen]


# --- Clusters -----------------------------------------------------------------------------


def cluster_table(scaling: pd.DataFrame) -> pd.DataFrame:
    """``cluster``, ``levels``, ``target`` and ``label`` (`layout.cluster_name`, naming the
    layer when the table holds several) of each cluster of the target, by cluster."""
    columns = ["cluster", "levels", "target", "layer"]
    clusters = scaling.drop_duplicates("cluster")[columns].sort_values("cluster", ignore_index=True)
    several_layers = clusters["layer"].nunique() > 1
    clusters["label"] = [
        cluster_name(levels, target, layer if several_layers else None)
        for levels, target, layer in zip(
            clusters["levels"], clusters["target"], clusters["layer"], strict=True
        )
    ]
    return clusters


def several_clusters(rows: pd.DataFrame) -> bool:
    """Whether ``rows`` hold more than one cluster (then colour encodes the cluster)."""
    return rows["cluster"].nunique() > 1


def density_clusters(scaling: pd.DataFrame) -> pd.DataFrame:
    """The clusters of the pair-density figure: pairs first, then larger clusters, at most 4."""
    clusters = cluster_table(scaling)
    pairs = clusters[clusters["levels"] == 2]
    larger = clusters[clusters["levels"] >= 3]
    return pd.concat([pairs, larger]).iloc[:MAX_DENSITY_CLUSTERS]


def cluster_levels(spectrum: pd.DataFrame, column: str) -> dict[int, np.ndarray]:
    """Levels of each cluster as a ``(samples, n)`` array, one row per (replica, step)."""
    levels = {}
    for cluster, members in spectrum.groupby("cluster"):
        ordered = members.sort_values(["replica", "step", "level"])
        levels[int(cluster)] = ordered[column].to_numpy().reshape(-1, ordered["level"].nunique())
    return levels


def unfolded_spacings(levels: np.ndarray) -> np.ndarray:
    """Neighbour spacings of ``(samples, n)`` levels divided by their own mean: ``s = S/⟨S⟩``."""
    spacing = neighbour_spacings(levels).ravel()
    return spacing / spacing.mean()


# --- Theory columns -------------------------------------------------------------------------


def finite(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Boolean mask of the rows whose ``column`` is finite (all false if the column is absent)."""
    if column not in rows:
        return np.zeros(len(rows), dtype=bool)
    return np.isfinite(rows[column].to_numpy(dtype=float))


def theory_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a finite exact stationary prediction ``mean_spacing_theory``.

    It is NaN for a model without a theory and at points where the model's
    exact stationary state does not exist (SGD not mean-square stable).
    """
    return rows[finite(rows, "mean_spacing_theory")]


# --- Flow replicas -------------------------------------------------------------------------


def first_replicas(table: pa.Table | pd.DataFrame, count: int) -> pa.Table | pd.DataFrame:
    """The rows of the first ``count`` replicas (smallest ``replica`` numbers) of a table.

    The eigenvalue flow of external weights is the first replicas of the
    data's own snapshots; for a rerun flow (exactly ``flow.replicas``
    replicas) this keeps every row. Works on an Arrow table (before its
    weights are decoded) and on a pandas frame alike.
    """
    if isinstance(table, pd.DataFrame):
        return table[table["replica"].isin(sorted(table["replica"].unique())[:count])]
    replicas = pc.unique(table.column("replica")).sort()[:count]
    return table.filter(pc.is_in(table.column("replica"), value_set=replicas))
