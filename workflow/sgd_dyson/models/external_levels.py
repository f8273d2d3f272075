"""The **levels format**: spectra of other training code, when only the levels were kept.

One Parquet row per level of one snapshot:

==============  ================  ==============================================
column          type              meaning
==============  ================  ==============================================
replica         integer           independent training run of the point
step            integer           training step of the snapshot
level           integer           index of the level in its snapshot, 0, 1, ...
value           float             the level: a singular value of W, or an
                                  eigenvalue of X = WᵀW (config ``levels:``)
learning_rate   float             α of the run
batch_size      integer           |B| of the run
noise           float or null     noise scale ε, if the run has one
draw            integer, optional dataset draw shared by replicas (jackknife unit)
layer           any, optional     which weight matrix; select one with ``layer:``
==============  ================  ==============================================

A file is in the levels format when it has a ``level`` column and no
``weights`` column. Its snapshots enter the workflow as the diagonal matrices
W = diag(s), s the singular values (``s = value``, or ``s = √value`` for
eigenvalues of X, which are ≥ 0): the singular values of diag(s) are s and
the eigenvalues of X = diag(s)ᵀ diag(s) are s², so every later stage, check
and figure reads them unchanged.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

LEVELS_REQUIRED = (
    "replica",
    "step",
    "level",
    "value",
    "learning_rate",
    "batch_size",
    "noise",
)
LEVEL_KINDS = ("singular_values", "gram_eigenvalues")
SNAPSHOT_POINT = ("learning_rate", "batch_size", "noise", "layer")


class ExternalDataError(ValueError):
    """External weight snapshots or levels are missing or do not follow their format."""


def is_levels_format(schema: pa.Schema) -> bool:
    """Whether a file's schema is the levels format (a ``level`` column, no ``weights``)."""
    return "level" in schema.names and "weights" not in schema.names


def levels_columns(columns) -> list[str]:
    """The levels-format twins of the weights-format ``columns`` asked for.

    ``rows``/``cols`` become ``level`` (the number of levels), ``weights``
    becomes ``level`` and ``value``.
    """
    twins = {"rows": ("level",), "cols": ("level",), "weights": ("level", "value")}
    names: list[str] = []
    for name in columns:
        for twin in twins.get(name, (name,)):
            if twin not in names:
                names.append(twin)
    return names


def _integers(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype("int64")


def levels_per_snapshot(table: pa.Table, path: Path) -> np.ndarray:
    """The number of levels of each row's snapshot (point, replica, step), checking raggedness.

    Raises `ExternalDataError` naming the file and the column ``level`` when
    the snapshots of the table have different numbers of levels.
    """
    frame = pd.DataFrame({name: _integers(table, name) for name in ("replica", "step")})
    for name in SNAPSHOT_POINT:  # one file may hold several points
        if name in table.column_names:
            frame[name] = table.column(name).to_pylist()
    keys = [*(name for name in SNAPSHOT_POINT if name in frame), "replica", "step"]
    sizes = frame.groupby(keys, dropna=False)["step"].transform("size").to_numpy()
    if len(sizes) and sizes.min() != sizes.max():
        low, high = int(np.argmin(sizes)), int(np.argmax(sizes))
        raise ExternalDataError(
            f"{path}: column 'level': ragged levels: replica {frame['replica'].iloc[low]} at "
            f"step {frame['step'].iloc[low]} has {sizes[low]} levels, replica "
            f"{frame['replica'].iloc[high]} at step {frame['step'].iloc[high]} has "
            f"{sizes[high]}: every snapshot needs the same levels"
        )
    return sizes


def levels_snapshots(
    table: pa.Table, path: Path, levels_are: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """One file's levels as snapshots (replica, step, rows, cols, draw) and W = diag(s).

    ``levels_are`` says what ``value`` holds: ``singular_values`` (s = value)
    or ``gram_eigenvalues`` (s = √value). Raises `ExternalDataError` naming
    the file and column for a non-finite or negative value, a level given
    twice in one snapshot (columns replica, step, level), and ragged levels
    (a snapshot whose levels are not 0, 1, ..., L − 1).
    """
    replica, step, level = (_integers(table, name) for name in ("replica", "step", "level"))
    value = table.column("value").to_numpy(zero_copy_only=False).astype(float)
    bad = ~np.isfinite(value)
    if bad.any():
        raise ExternalDataError(
            f"{path}: column 'value' holds non-finite values (first in row {np.argmax(bad)})"
        )
    if (value < 0).any():
        row = int(np.argmax(value < 0))
        raise ExternalDataError(
            f"{path}: column 'value' row {row} is {float(value[row])!r}: "
            f"{levels_are.replace('_', ' ')} are ≥ 0"
        )
    order = np.lexsort((level, step, replica))
    replica, step, level, value = replica[order], step[order], level[order], value[order]
    same = (np.diff(replica) == 0) & (np.diff(step) == 0) & (np.diff(level) == 0)
    if same.any():
        row = int(np.argmax(same))
        raise ExternalDataError(
            f"{path}: replica {replica[row]} has two values of level {level[row]} at step "
            f"{step[row]} (columns 'replica', 'step', 'level')"
        )
    count = int(levels_per_snapshot(table, path)[0]) if len(value) else 0
    levels = level.reshape(-1, count) if count else level.reshape(0, 0)
    ragged = np.any(levels != np.arange(count), axis=1)
    if ragged.any():
        row = int(np.argmax(ragged)) * count
        raise ExternalDataError(
            f"{path}: column 'level': replica {replica[row]} at step {step[row]} has levels "
            f"{levels[row // count].tolist()}; expected 0, ..., {count - 1} (ragged levels)"
        )
    singular = value.reshape(-1, count)
    if levels_are == "gram_eigenvalues":
        singular = np.sqrt(singular)
    snapshots = singular.shape[0]
    matrices = np.zeros((snapshots, count, count))
    matrices[:, np.arange(count), np.arange(count)] = singular
    first = order[::count] if count else order
    frame = pd.DataFrame(
        {
            "replica": replica[::count] if count else replica,
            "step": step[::count] if count else step,
            "rows": count,
            "cols": count,
        }
    )
    if "draw" in table.column_names:
        draws = _integers(table, "draw")
        per_snapshot = draws[order].reshape(-1, count) if count else draws.reshape(0, 0)
        if np.any(per_snapshot != per_snapshot[:, :1]):
            raise ExternalDataError(f"{path}: column 'draw' changes within a snapshot")
        frame["draw"] = draws[first]
    else:
        frame["draw"] = 0
    return frame, matrices
