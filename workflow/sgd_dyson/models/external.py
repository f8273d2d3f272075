"""Weight snapshots from other training code, in the weights format, as simulate tables.

The **weights format** is the simulate table's (`table_schemas.SCHEMAS["simulate"]`):
one Parquet row per snapshot of one weight matrix, with the columns

==============  ================  ==============================================
column          type              meaning
==============  ================  ==============================================
replica         integer           independent training run of the point
step            integer           training step of the snapshot
rows, cols      integer           shape of W
weights         list of floats    W, row-major (``W.ravel()``), rows × cols values
learning_rate   float             α of the run
batch_size      integer           |B| of the run
noise           float or null     noise scale ε, if the run has one
draw            integer, optional dataset draw shared by replicas (jackknife unit)
layer           any, optional     which weight matrix; select one with ``layer:``
==============  ================  ==============================================

Any integer or float width is accepted (``float32`` weights, ``int32`` steps);
a column of nulls stands for an absent ``noise``. One file may hold many
points and one point may span many files; a point is a distinct
(learning_rate, batch_size, noise). `discover_points` lists the points of the
source files, reading only their small columns; `point_snapshots` reads one
point, checks it and returns it in the simulate schema. Every error names the
file, the column and the problem.

Files holding only spectra are read in the levels format
(`external_levels`: one row per level of one snapshot); a source may mix
both formats.
"""

import glob
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..tables import POINT_COLUMNS, TableError, weight_matrices
from .base import Labels, Model, sgd_labels
from .external_levels import (
    LEVELS_REQUIRED,
    ExternalDataError,
    is_levels_format,
    levels_columns,
    levels_per_snapshot,
    levels_snapshots,
)

REQUIRED = ("replica", "step", "rows", "cols", "weights", "learning_rate", "batch_size", "noise")
OPTIONAL = ("draw", "layer")
INTEGER_COLUMNS = ("replica", "step", "rows", "cols", "batch_size", "draw")
FLOAT_COLUMNS = ("learning_rate", "noise")
POINT = ("learning_rate", "batch_size", "noise")
INDEX = ("replica", "step", "draw")


def source_files(source: str, key: str) -> list[Path]:
    """The Parquet files ``source`` names: a file, a folder (its ``*.parquet``) or a glob.

    Relative to the working directory; sorted. ``key`` (the config key) names
    the setting in the error raised when nothing matches.
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
    elif path.is_file():
        files = [path]
    else:
        files = sorted(Path(name) for name in glob.glob(source, recursive=True))
        files = [file for file in files if file.is_file()]
    if not files:
        where = (
            f"folder {source!r} holds no .parquet file"
            if path.is_dir()
            else (f"{source!r} matches no file (relative to {Path.cwd()})")
        )
        raise ExternalDataError(f"config: {key}: {where}")
    return files


def _check_types(path: Path, schema: pa.Schema, columns, levels: bool) -> None:
    needed = LEVELS_REQUIRED if levels else REQUIRED
    format_name = "levels" if levels else "weights"
    for name in columns:
        if name not in schema.names:
            if name in OPTIONAL:
                continue
            raise ExternalDataError(
                f"{path}: column '{name}' missing (the {format_name} format needs {list(needed)})"
            )
        kind = schema.field(name).type
        if name in (*INTEGER_COLUMNS, "level"):
            valid = pa.types.is_integer(kind)
            wanted = "integers"
        elif name in (*FLOAT_COLUMNS, "value"):
            valid = pa.types.is_integer(kind) or pa.types.is_floating(kind)
            valid = valid or (name == "noise" and pa.types.is_null(kind))
            wanted = "numbers" + (" or nulls" if name == "noise" else "")
        elif name == "weights":
            valid = (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and (
                pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)
            )
            wanted = "lists of numbers (W row-major)"
        else:
            valid, wanted = True, ""
        if not valid:
            raise ExternalDataError(f"{path}: column '{name}' has type {kind}, expected {wanted}")


def _read(path: Path, columns) -> tuple[pa.Table, bool]:
    """The weights-format ``columns`` of a file, and whether it is in the levels format.

    A levels-format file (`external_levels.is_levels_format`) is read with the
    levels twins of the columns (`external_levels.levels_columns`).
    """
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise ExternalDataError(f"{path}: not a readable Parquet file ({error})") from None
    levels = is_levels_format(schema)
    if levels:
        columns = levels_columns(columns)
    _check_types(path, schema, columns, levels)
    present = [name for name in columns if name in schema.names]
    try:
        table = pq.read_table(path, columns=present)
    except (pa.ArrowException, OSError) as error:
        raise ExternalDataError(f"{path}: not a readable Parquet file ({error})") from None
    if table.num_rows == 0:
        raise ExternalDataError(f"{path}: the file holds no rows (no snapshot)")
    return table, levels


def _select_layer(table: pa.Table, path: Path, layer, key: str) -> pa.Table:
    """Rows of the chosen ``layer``; an error if the file has several and none is chosen."""
    if "layer" not in table.column_names:
        if layer is not None:
            raise ExternalDataError(f"{path}: column 'layer' missing, but {key}.layer is set")
        return table
    values = table.column("layer").to_pylist()
    distinct = sorted(set(map(str, values)))
    if layer is None:
        if len(distinct) > 1:
            raise ExternalDataError(
                f"{path}: column 'layer' holds {distinct}: choose one with {key}.layer"
            )
        return table
    keep = np.array([str(value) == str(layer) for value in values], dtype=bool)
    if not keep.any():
        raise ExternalDataError(f"{path}: column 'layer' has no {layer!r} (it holds {distinct})")
    return table.filter(pa.array(keep))


def _point_frame(table: pa.Table) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "learning_rate": table.column("learning_rate").to_numpy(zero_copy_only=False),
            "batch_size": table.column("batch_size").to_numpy(zero_copy_only=False),
            "noise": pd.to_numeric(
                pd.Series(table.column("noise").to_pylist(), dtype=object), errors="coerce"
            ).to_numpy(dtype=float),
        }
    )
    frame["learning_rate"] = frame["learning_rate"].astype(float)
    frame["batch_size"] = frame["batch_size"].astype("int64")
    return frame


def _check_point_values(frame: pd.DataFrame, path: Path) -> None:
    for name in ("learning_rate", "batch_size"):
        bad = ~(frame[name] > 0)
        if bad.any():
            raise ExternalDataError(
                f"{path}: column '{name}' holds {frame.loc[bad, name].iloc[0]!r}: "
                "it must be positive"
            )
    noise = frame["noise"]
    if (noise <= 0).any() or np.isinf(noise).any():
        raise ExternalDataError(f"{path}: column 'noise' must be positive or null")


def point_key(point: dict) -> tuple:
    """``(learning_rate, batch_size, noise)`` with ``None`` for a missing noise."""
    noise = point.get("noise")
    noise = None if noise is None or pd.isna(noise) else float(noise)
    return (float(point["learning_rate"]), int(point["batch_size"]), noise)


def discover_points(files: list[Path], layer, key: str) -> list[dict]:
    """The points held by ``files``: one dict per distinct (learning_rate, batch_size, noise).

    Each has ``replicas`` (distinct replicas), ``steps`` (the last step),
    ``dataset_draws``, the ``files`` holding it (as strings, sorted) and the
    number of ``levels`` min(rows, cols) of its matrices. Reads only the small
    columns.
    """
    found: dict[tuple, dict] = {}
    for path in files:
        table, levels = _read(path, [*POINT, *INDEX, "rows", "cols", "layer"])
        table = _select_layer(table, path, layer, key)
        frame = _point_frame(table)
        _check_point_values(frame, path)
        frame["replica"] = table.column("replica").to_numpy(zero_copy_only=False)
        frame["step"] = table.column("step").to_numpy(zero_copy_only=False)
        frame["levels"] = (
            levels_per_snapshot(table, path)
            if levels
            else np.minimum(
                table.column("rows").to_numpy(zero_copy_only=False),
                table.column("cols").to_numpy(zero_copy_only=False),
            )
        )
        frame["draw"] = (
            table.column("draw").to_numpy(zero_copy_only=False)
            if "draw" in table.column_names
            else 0
        )
        frame["noise"] = frame["noise"].astype(object).where(frame["noise"].notna(), None)
        for values, rows in frame.groupby(list(POINT), dropna=False, sort=False):
            entry = found.setdefault(
                point_key(dict(zip(POINT, values, strict=True))),
                {"replicas": set(), "steps": 0, "draws": set(), "files": set(), "levels": set()},
            )
            entry["replicas"].update(rows["replica"].tolist())
            entry["draws"].update(rows["draw"].tolist())
            entry["steps"] = max(entry["steps"], int(rows["step"].max()))
            entry["files"].add(str(path))
            entry["levels"].update(rows["levels"].tolist())
    points = []
    for (learning_rate, batch_size, noise), entry in found.items():
        points.append(
            {
                "learning_rate": learning_rate,
                "batch_size": batch_size,
                "noise": noise,
                "replicas": len(entry["replicas"]),
                "steps": entry["steps"],
                "dataset_draws": len(entry["draws"]),
                "files": sorted(entry["files"]),
                "levels": sorted(entry["levels"]),
            }
        )
    return sorted(points, key=lambda p: (p["learning_rate"], p["batch_size"], p["noise"] or 0))


def _point_rows(table: pa.Table, point: dict) -> pa.Table:
    frame = _point_frame(table)
    keep = (frame["learning_rate"] == point["learning_rate"]) & (
        frame["batch_size"] == point["batch_size"]
    )
    if point.get("noise") is None or pd.isna(point["noise"]):
        keep &= frame["noise"].isna()
    else:
        keep &= frame["noise"] == point["noise"]
    return table.filter(pa.array(keep.to_numpy()))


def _weights(table: pa.Table, path: Path) -> np.ndarray:
    """The point's matrices ``(snapshots, rows, cols)`` as float64 (`tables.weight_matrices`)."""
    try:
        return weight_matrices(table, path)
    except TableError as error:
        raise ExternalDataError(str(error)) from None


def point_snapshots(
    files: list[str],
    point: dict,
    layer,
    key: str,
    minimum_replicas: int,
    levels_are: str = "singular_values",
) -> tuple[pd.DataFrame, np.ndarray]:
    """One point's snapshots from ``files``: the scalar columns of a simulate table and W.

    Rows are ordered by (replica, step); ``draw`` is 0 where the files have
    none. Levels-format files give W = diag(s) (`external_levels.levels_snapshots`,
    ``levels_are`` saying what their values are). Raises `ExternalDataError`
    naming the file and column for anything outside the weights format,
    duplicated snapshots, replicas with different snapshot steps, matrices of
    different shapes, and a point with fewer than ``minimum_replicas`` replicas.
    """
    frames, matrices = [], []
    for name in files:
        path = Path(name)
        table, levels = _read(path, [*REQUIRED, *OPTIONAL])
        table = _point_rows(_select_layer(table, path, layer, key), point)
        if table.num_rows == 0:
            continue
        if levels:
            frame, weights = levels_snapshots(table, path, levels_are)
            matrices.append(weights)
            frame["file"] = str(path)
            frames.append(frame)
            continue
        matrices.append(_weights(table, path))
        frame = pd.DataFrame(
            {
                column: table.column(column).to_numpy(zero_copy_only=False).astype("int64")
                for column in ("replica", "step", "rows", "cols")
            }
        )
        frame["draw"] = (
            table.column("draw").to_numpy(zero_copy_only=False).astype("int64")
            if "draw" in table.column_names
            else 0
        )
        frame["file"] = str(path)
        frames.append(frame)
    where = ", ".join(files)
    if not frames:
        raise ExternalDataError(f"{where}: no snapshot of the point {point_key(point)}")
    snapshots = pd.concat(frames, ignore_index=True)
    shapes = {matrix.shape[1:] for matrix in matrices}
    if len(shapes) > 1:
        raise ExternalDataError(f"{where}: columns 'rows'/'cols' differ between files: {shapes}")
    weights = np.concatenate(matrices)
    duplicated = snapshots.duplicated(["replica", "step"])
    if duplicated.any():
        first = snapshots[duplicated].iloc[0]
        raise ExternalDataError(
            f"{first['file']}: replica {first['replica']} has two snapshots at step "
            f"{first['step']} (columns 'replica', 'step')"
        )
    draws = snapshots.groupby("replica")["draw"].nunique()
    if (draws > 1).any():
        raise ExternalDataError(f"{where}: column 'draw' changes within replica {draws.idxmax()}")
    steps = snapshots.groupby("replica")["step"].apply(frozenset)
    if steps.nunique() > 1:
        counts = steps.map(len)
        raise ExternalDataError(
            f"{where}: column 'step': replicas have different snapshot steps (replica "
            f"{counts.index[0]} has {counts.iloc[0]} snapshots, replica {counts.idxmin()} "
            f"{counts.min()}): every replica needs the same steps"
        )
    replicas = len(steps)
    if replicas < minimum_replicas:
        raise ExternalDataError(
            f"{where}: the point α = {point['learning_rate']:g}, |B| = {point['batch_size']} "
            f"has {replicas} replicas (column 'replica'); the statistics asked need at least "
            f"{minimum_replicas} ({key}.fit.error_groups jackknife groups)"
        )
    order = np.lexsort((snapshots["step"].to_numpy(), snapshots["replica"].to_numpy()))
    snapshots = snapshots.iloc[order].drop(columns="file").reset_index(drop=True)
    return snapshots, weights[order]


def external_points(key: str, experiment: dict) -> list[dict]:
    """The points of the external experiment at config key ``key``, checked against its settings.

    `discover_points` of its ``source``; raises `ExternalDataError` naming the
    key when a point lacks the noise that ``amplitude: noise_squared`` needs,
    or its matrices have another number of levels than ``targets``.
    """
    files = source_files(experiment["source"], f"{key}.source")
    points = discover_points(files, experiment.get("layer"), key)
    targets = experiment["targets"]
    for point in points:
        where = f"{', '.join(point['files'])}: point α = {point['learning_rate']:g}, " + (
            f"|B| = {point['batch_size']}"
        )
        if experiment["amplitude"] == "noise_squared" and point["noise"] is None:
            raise ExternalDataError(
                f"{where} has no 'noise' value, which {key}.amplitude = noise_squared needs"
            )
        if len(point["levels"]) > 1:
            raise ExternalDataError(
                f"{where}: columns 'rows'/'cols' give matrices of {point['levels']} levels: "
                f"select one matrix per point with {key}.layer"
            )
        if targets != "auto" and len(targets) != point["levels"][0]:
            raise ExternalDataError(
                f"{where} has {point['levels'][0]} levels (min of columns 'rows', 'cols') but "
                f"{key}.targets has {len(targets)} values"
            )
    return points


def simulate_columns(snapshots: pd.DataFrame, weights: np.ndarray, point: dict) -> dict:
    """`point_snapshots` as the columns of a simulate table (``point``: its point columns)."""
    count, rows, cols = weights.shape
    return {
        **{
            name: snapshots[name].to_numpy() for name in ("replica", "draw", "step", "rows", "cols")
        },
        "layer": np.zeros(count, dtype=np.int64),  # the one matrix chosen (``layer:``)
        "weights": weights.reshape(count, rows * cols),
        **{name: np.full(count, point.get(name)) for name in POINT_COLUMNS},
    }


# --- The model's declaration ----------------------------------------------------------


class External(Model):
    """Weight snapshots of other training code, read in the weights format."""

    name = "external"
    title = "external weights"
    parameters = POINT

    def check(self, key: str, experiment: dict) -> None:
        """Nothing beyond the schema: the files are checked when their points are found."""

    def points(self, key: str, experiment: dict) -> list[dict]:
        """The points found in the files (`external_points`), each in the scan "external data"."""
        points = external_points(key, experiment)
        self.check_burn_in(key, experiment, points)
        return [{**point, "scans": ["external data"]} for point in points]

    def check_burn_in(self, key: str, experiment: dict, points: list[dict]) -> None:
        """Raise `ExternalDataError` naming the key, the point and its last step if a
        numeric ``burn_in`` is beyond every snapshot of a point (``auto`` always fits)."""
        burn_in = experiment["burn_in"]
        for point in points:
            if burn_in != "auto" and point["steps"] < burn_in:
                raise ExternalDataError(
                    f"config: {key}.burn_in = {burn_in} is beyond every snapshot of the point "
                    f"α = {point['learning_rate']:g}, |B| = {point['batch_size']} in "
                    f"{', '.join(point['files'])}: its snapshots end at step {point['steps']}; "
                    f"lower {key}.burn_in or use auto"
                )

    def matrix_size(self, experiment: dict) -> int:
        raise NotImplementedError("external weights have the sizes of their files")

    def targets(self, experiment: dict) -> list[float] | str:
        """The config's ``targets``, or ``auto``: found in the gaps of the data."""
        if experiment["targets"] == "auto":
            return "auto"
        return sorted(float(value) for value in experiment["targets"])

    def amplitude(self, experiment: dict) -> str:
        return experiment["amplitude"]

    def labels(self, experiment: dict) -> Labels:
        targets = experiment["targets"]
        return sgd_labels(
            self.parameters,
            experiment["amplitude"],
            simulated=False,
            description=(
                f"external weights from {experiment['source']}, targets "
                f"{'found in the gaps of the data' if targets == 'auto' else targets}, "
                f"amplitude {experiment['amplitude']}"
            ),
            continuum_note=(
                "No continuum line: nothing is known of the noise of external training code "
                "beyond the amplitude stated in the config; compare the slopes of ⟨S⟩ and of "
                "√π σ in the fits table (equal for a two-level Coulomb gas) and the surmise β "
                "(1 for the GOE class)."
            ),
            no_theory_reason="the dynamics of external training code are not known here",
        )


MODEL = External()
