"""``sgd-dyson-convert``: NumPy ``.npz`` archives of weight snapshots to the weights format.

An archive holds ``W`` of shape (replicas, snapshots, rows, cols) and,
optionally, ``step`` (snapshots,), ``draw`` (replicas,) and the scalars
``learning_rate``, ``batch_size`` and ``noise``. Hyper-parameters missing
from an archive come from the command line. Every archive is one point; the
output (one Parquet file, written atomically) holds them all.
"""

import argparse
import sys

import numpy as np
import pandas as pd

from .models.base import POINT_TYPES
from .models.external import POINT, ExternalDataError, simulate_columns
from .tables import write_table


def archive_point(
    arrays: dict[str, np.ndarray], options: dict, path: str
) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The snapshots, matrices ``(rows_total, rows, cols)`` and point of one archive.

    ``options`` holds the command line's ``learning_rate``, ``batch_size``,
    ``noise`` and ``step`` (``None`` where not given). An archive value and a
    different command-line value are an error, as is a missing ``W``, a ``W``
    that is not 4-dimensional or not finite, and a missing learning rate or
    batch size.
    """
    if "W" not in arrays:
        raise ExternalDataError(f"{path}: no array 'W' (found {sorted(arrays)})")
    weights = np.asarray(arrays["W"], dtype=float)
    if weights.ndim != 4:
        raise ExternalDataError(
            f"{path}: 'W' has shape {weights.shape}; expected (replicas, snapshots, rows, cols)"
        )
    if not np.all(np.isfinite(weights)):
        raise ExternalDataError(f"{path}: 'W' holds non-finite values")
    replicas, count, rows, cols = weights.shape
    point = {}
    for name in POINT:
        stored = arrays[name].item() if name in arrays else None
        given = options.get(name)
        if stored is not None and given is not None and POINT_TYPES[name](stored) != given:
            raise ExternalDataError(
                f"{path}: '{name}' is {stored} in the archive but {given} on the command line"
            )
        value = stored if stored is not None else given
        point[name] = None if value is None else POINT_TYPES[name](value)
    for name in ("learning_rate", "batch_size"):
        if point[name] is None:
            raise ExternalDataError(
                f"{path}: no '{name}' in the archive; give --{name.replace('_', '-')}"
            )
    steps = arrays.get("step", options.get("step"))
    steps = np.arange(count) if steps is None else np.asarray(steps, dtype=np.int64)
    if steps.shape != (count,):
        raise ExternalDataError(f"{path}: {steps.size} steps for {count} snapshots in 'W'")
    draws = np.asarray(arrays.get("draw", np.zeros(replicas)), dtype=np.int64)
    if draws.shape != (replicas,):
        raise ExternalDataError(f"{path}: 'draw' has {draws.size} entries for {replicas} replicas")
    snapshots = pd.DataFrame(
        {
            "replica": np.repeat(np.arange(replicas), count),
            "draw": np.repeat(draws, count),
            "step": np.tile(steps, replicas),
            "rows": rows,
            "cols": cols,
        }
    )
    return snapshots, weights.reshape(replicas * count, rows, cols), point


def convert(archives: list[str], output: str, options: dict) -> int:
    """Write the points of ``archives`` to ``output`` in the weights format; return the rows."""
    parts = []
    for path in archives:
        with np.load(path) as arrays:
            snapshots, weights, point = archive_point(dict(arrays), options, path)
        parts.append(simulate_columns(snapshots, weights, point))
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    write_table(columns, output, "simulate", {"converted_from": [str(p) for p in archives]})
    return len(columns["replica"])


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sgd-dyson-convert",
        description=(
            "Convert NumPy .npz archives of weight snapshots to the weights format "
            "(Parquet) read by experiments with `model: external`. Each archive holds "
            "W, shape (replicas, snapshots, rows, cols), and optionally step (snapshots,), "
            "draw (replicas,) and the scalars learning_rate, batch_size, noise. Each "
            "archive is one sweep point; values missing from an archive come from the options."
        ),
    )
    parser.add_argument("archives", nargs="+", help=".npz files, one sweep point each")
    parser.add_argument("-o", "--output", required=True, help="Parquet file to write")
    parser.add_argument("--learning-rate", type=float, help="α, if not in the archive")
    parser.add_argument("--batch-size", type=int, help="|B|, if not in the archive")
    parser.add_argument("--noise", type=float, help="noise scale ε (optional)")
    parser.add_argument(
        "--step",
        type=int,
        nargs="+",
        help="training step of each snapshot, if not in the archive (default 0, 1, 2, ...)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    options = {
        "learning_rate": arguments.learning_rate,
        "batch_size": arguments.batch_size,
        "noise": arguments.noise,
        "step": arguments.step,
    }
    try:
        rows = convert(arguments.archives, arguments.output, options)
    except (ExternalDataError, OSError, ValueError) as error:
        print(f"sgd-dyson-convert: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {rows} snapshots of {len(arguments.archives)} point(s) to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
