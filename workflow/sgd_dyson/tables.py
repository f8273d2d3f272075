"""The Parquet tables stages hand over: one schema per table, atomic writes, checked reads.

Every table's columns (name, Arrow type, unit, meaning) are listed once in
`SCHEMAS` (`sgd_dyson.table_schemas`); writers and readers and the tests all use
it. Each file carries in its schema metadata (key ``sgd_dyson``) the table kind,
the column units and meanings, and the provenance passed by the writer (package
version, config digest, seeds).
"""

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__

# Re-exported: the stages read the schemas through this module.
from .table_schemas import ALL_PAIRS as ALL_PAIRS
from .table_schemas import POINT_COLUMNS as POINT_COLUMNS
from .table_schemas import POINT_FIELDS as POINT_FIELDS
from .table_schemas import SCALING_RULES as SCALING_RULES
from .table_schemas import SCHEMAS as SCHEMAS
from .table_schemas import Column

METADATA_KEY = b"sgd_dyson"


class TableError(ValueError):
    """A Parquet file is missing, unreadable, or does not match its schema."""


def settings_sha256(settings: dict) -> str:
    """SHA-256 of ``settings`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def provenance(settings: dict, **extra) -> dict:
    """Provenance of a table: SHA-256 of the settings that made it, plus ``extra`` entries."""
    return {"settings_sha256": settings_sha256(settings), "settings": settings, **extra}


def column_names(kind: str) -> list[str]:
    """Column names of a table kind, in schema order."""
    return [column.name for column in SCHEMAS[kind]]


def arrow_schema(kind: str, provenance: dict | None = None) -> pa.Schema:
    """The Arrow schema of a table kind, with units, meanings and provenance as metadata."""
    columns = SCHEMAS[kind]
    metadata = {
        "table": kind,
        "package_version": __version__,
        "columns": {c.name: {"unit": c.unit, "description": c.description} for c in columns},
        **(provenance or {}),
    }
    return pa.schema(
        [pa.field(c.name, c.type) for c in columns],
        metadata={METADATA_KEY: json.dumps(metadata)},
    )


def _arrow_column(values, column: Column) -> pa.Array:
    if pa.types.is_list(column.type) and isinstance(values, np.ndarray) and values.ndim == 2:
        rows, width = values.shape
        offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
        return pa.ListArray.from_arrays(offsets, pa.array(values.ravel()))
    if isinstance(values, pd.Series):
        values = values.to_numpy() if not pa.types.is_list(column.type) else values.tolist()
    return pa.array(values, type=column.type, from_pandas=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed over ``path`` on success.

    The rename (`os.replace`) is atomic, so an interrupted writer leaves
    nothing that looks finished; the temporary file never outlives the block.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_table(
    columns: dict | pd.DataFrame, path: str | Path, kind: str, provenance: dict | None = None
) -> None:
    """Write a table of ``kind`` atomically: to a temporary name, then rename.

    ``columns`` maps every column of the schema to values (a list column may be
    given as a 2-D array, one row per table row). Extra columns are an error.
    """
    path = Path(path)
    try:
        table = arrow_table(columns, kind, provenance)
    except TableError as error:
        raise TableError(f"{path}: {error}") from None
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def arrow_table(
    columns: dict | pd.DataFrame, kind: str, provenance: dict | None = None
) -> pa.Table:
    """The Arrow table of ``kind`` holding ``columns`` (as `write_table` takes them)."""
    schema = arrow_schema(kind, provenance)
    names = list(columns.keys())
    if sorted(names) != sorted(schema.names):
        raise TableError(f"a {kind} table has columns {schema.names}, got {names}")
    return pa.Table.from_arrays(
        [_arrow_column(columns[c.name], c) for c in SCHEMAS[kind]], schema=schema
    )


def read_arrow(path: str | Path, kind: str) -> pa.Table:
    """Read a Parquet table and check it against the schema of ``kind``.

    A column added in a later version (`Column.added`) and missing from an
    older table is filled with its stated value (a simulate table without
    ``layer`` holds one weight matrix: layer 0). Raises `TableError` naming
    the file and the column for a missing, unreadable or corrupt file, a
    missing column or a column of the wrong type.
    """
    path = Path(path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise TableError(f"{path}: file not found (expected a {kind} table)") from None
    except (pa.ArrowException, OSError) as error:
        raise TableError(f"{path}: not a readable Parquet file ({error})") from None
    for column in SCHEMAS[kind]:
        if column.name not in table.column_names and column.added is not None:
            table = table.append_column(
                pa.field(column.name, column.type),
                pa.array(np.full(table.num_rows, column.added[1]), type=column.type),
            )
        if column.name not in table.column_names:
            raise TableError(f"{path}: column '{column.name}' missing from the {kind} table")
        found = table.schema.field(column.name).type
        if found != column.type:
            raise TableError(
                f"{path}: column '{column.name}' has type {found}, "
                f"a {kind} table needs {column.type}"
            )
    return table


def read_table(path: str | Path, kind: str) -> pd.DataFrame:
    """`read_arrow` as a pandas DataFrame."""
    return read_arrow(path, kind).to_pandas()


def table_metadata(path: str | Path) -> dict:
    """The ``sgd_dyson`` metadata of a Parquet file (units, provenance)."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata.get(METADATA_KEY, b"{}"))


def weight_matrices(table: pa.Table, path: str | Path) -> np.ndarray:
    """The ``weights`` column of a simulate table as float64 ``(rows, n, m)`` matrices.

    The values may be of any numeric type. Raises `TableError` naming the file,
    the column and the first offending row when ``rows``/``cols`` are not
    positive or differ between rows, a ``weights`` entry is null or its length
    is not ``rows × cols``, or a value is not finite.
    """
    rows = table.column("rows").to_numpy()
    cols = table.column("cols").to_numpy()
    if table.num_rows == 0:
        return np.empty((0, 0, 0))
    if np.any(rows < 1) or np.any(cols < 1):
        raise TableError(f"{path}: columns 'rows'/'cols' must be positive")
    if np.any(rows != rows[0]) or np.any(cols != cols[0]):
        bad = int(np.flatnonzero((rows != rows[0]) | (cols != cols[0]))[0])
        raise TableError(
            f"{path}: columns 'rows'/'cols' differ between snapshots "
            f"({rows[0]}×{cols[0]} in row 0, {rows[bad]}×{cols[bad]} in row {bad})"
        )
    weights = table.column("weights").combine_chunks()
    if weights.null_count:
        raise TableError(f"{path}: column 'weights' holds nulls")
    lengths = weights.value_lengths().to_numpy(zero_copy_only=False)
    expected = rows[0] * cols[0]
    if np.any(lengths != expected):
        bad = int(np.flatnonzero(lengths != expected)[0])
        raise TableError(
            f"{path}: column 'weights' row {bad} has {lengths[bad]} values but "
            f"rows × cols = {rows[0]} × {cols[0]} = {expected}"
        )
    values = weights.flatten().to_numpy(zero_copy_only=False).astype(float, copy=False)
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0] // expected)
        raise TableError(f"{path}: column 'weights' holds non-finite values (first in row {bad})")
    return values.reshape(table.num_rows, rows[0], cols[0])


def layer_tables(table: pa.Table) -> dict[int, pa.Table]:
    """The rows of a simulate table per ``layer``, ascending: one weight matrix's snapshots each."""
    layers = table.column("layer").to_numpy()
    return {int(layer): table.filter(pa.array(layers == layer)) for layer in np.unique(layers)}
