"""``sgd-dyson-convert``: other people's archives of snapshots to the weights or levels format.

An archive (``.npz``, or ``.safetensors`` as `archives` describes) holds
either ``W`` (replicas, snapshots, rows, cols) — written in the weights
format — or ``levels`` (replicas, snapshots, levels), singular values or
eigenvalues of X — written in the levels format; optionally ``step``
(snapshots,), ``draw`` (replicas,), ``seed`` (replicas,) and the scalars
``learning_rate``, ``batch_size`` and ``noise``. Archive names are mapped to
these with ``--key``.

A point's values come from three places: the archive's scalars, the named
groups of ``--name-pattern`` matched against the archive's path, and the
command line. Two that disagree (beyond 1 part in 10⁶, the precision of a
float32) are an error naming the file and the key. Nothing is bent: a complex,
boolean, string or object array, a batch size that is not an integer, a
learning rate or noise that is not positive and finite, is an error.

Archives of one point are **merged** into one point, in file-name order, the
replicas of each renumbered to follow those of the archives before it; the
mapping (archive → original replicas → new replicas) is printed and stored in
the output's Parquet metadata (``sgd_dyson`` → ``replica_map``).

**The same point twice.** An archive's *scan* is the ``scan`` group of
``--name-pattern`` (none without one). A point found in several scans — the
authors' shared point α = 0.1, |B| = 16 in both the α scan and the |B| scan —
is an error naming every file, unless ``--on-shared-point`` says ``first``
(keep the scan whose name sorts first) or ``merge`` (the copies are
independent runs). Whatever is kept, two archives of one point holding
identical data (the same W or levels and steps), or overlapping ``seed``
values, are an error naming both: the same runs stored twice.
"""

import argparse
import glob
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .archives import CANONICAL, parse_key_mapping, read_archive
from .models.external import POINT, ExternalDataError, simulate_columns
from .tables import METADATA_KEY, atomic_path, write_table


def _point_label(point: dict) -> str:
    noise = "" if point["noise"] is None else f", ε = {point['noise']:g}"
    return f"α = {point['learning_rate']:g}, |B| = {point['batch_size']}{noise}"


def group_points(archives: list[dict], on_shared_point: str) -> tuple[list[list[dict]], list[str]]:
    """Archives grouped by point, in file-name order, and the files dropped by ``first``.

    Raises `ExternalDataError` naming every file of a point found in several
    scans (unless ``on_shared_point`` is ``first`` or ``merge``), of two
    archives of a point with identical data or overlapping seeds, and of a
    point whose archives disagree in format, matrix shape or steps.
    """
    groups: dict[tuple, list[dict]] = {}
    for archive in sorted(archives, key=lambda a: a["file"]):
        point = archive["point"]
        groups.setdefault(tuple(point[name] for name in POINT), []).append(archive)
    kept, dropped = [], []
    for members in groups.values():
        label = _point_label(members[0]["point"])
        scans = sorted({str(a["scan"]) for a in members})
        if len(scans) > 1:
            listing = "; ".join(
                f"scan {scan}: " + ", ".join(a["file"] for a in members if str(a["scan"]) == scan)
                for scan in scans
            )
            if on_shared_point == "error":
                raise ExternalDataError(
                    f"the point {label} is stored in {len(scans)} scans ({listing}): the same "
                    "point twice. Keep one scan's copy with --on-shared-point first, or, if "
                    "they are independent runs, merge them with --on-shared-point merge"
                )
            if on_shared_point == "first":
                dropped += [a["file"] for a in members if str(a["scan"]) != scans[0]]
                members = [a for a in members if str(a["scan"]) == scans[0]]
        for first, second in zip(members, members[1:], strict=False):
            if (first["kind"], first["data"].shape[2:]) != (
                second["kind"],
                second["data"].shape[2:],
            ):
                raise ExternalDataError(
                    f"{first['file']}, {second['file']}: the point {label} has "
                    f"'{first['kind']}' {first['data'].shape[2:]} in one and "
                    f"'{second['kind']}' {second['data'].shape[2:]} in the other"
                )
            if not np.array_equal(first["steps"], second["steps"]):
                raise ExternalDataError(
                    f"{first['file']}, {second['file']}: the point {label} has steps "
                    f"{first['steps'].tolist()} in one and {second['steps'].tolist()} in the other"
                )
        by_digest: dict[str, str] = {}
        seen_seeds: dict[int, str] = {}
        for archive in members:
            if archive["digest"] in by_digest:
                raise ExternalDataError(
                    f"{by_digest[archive['digest']]}, {archive['file']}: identical data of the "
                    f"point {label}: the same runs stored twice"
                )
            by_digest[archive["digest"]] = archive["file"]
            for seed in [] if archive["seeds"] is None else archive["seeds"].tolist():
                if seed in seen_seeds:
                    raise ExternalDataError(
                        f"{seen_seeds[seed]}, {archive['file']}: seed {seed} of the point "
                        f"{label} is in both: the same runs stored twice"
                    )
                seen_seeds[seed] = archive["file"]
        kept.append(members)
    return kept, dropped


def merged_columns(members: list[dict]) -> tuple[dict, list[dict]]:
    """One point's archives as the columns of its format, replicas renumbered; the replica map."""
    point, kind = members[0]["point"], members[0]["kind"]
    steps = members[0]["steps"]
    count = len(steps)
    data = np.concatenate([archive["data"] for archive in members])
    draws = np.concatenate([archive["draws"] for archive in members])
    replicas = len(data)
    replica_map, first = [], 0
    for archive in members:
        size = len(archive["data"])
        replica_map.append(
            {
                "file": archive["file"],
                "original_replicas": [0, size - 1],
                "replicas": [first, first + size - 1],
                **point,
            }
        )
        first += size
    if kind == "W":
        _, _, rows, cols = data.shape
        snapshots = pd.DataFrame(
            {
                "replica": np.repeat(np.arange(replicas), count),
                "draw": np.repeat(draws, count),
                "step": np.tile(steps, replicas),
                "rows": rows,
                "cols": cols,
            }
        )
        columns = simulate_columns(snapshots, data.reshape(replicas * count, rows, cols), point)
        return columns, replica_map
    levels = data.shape[2]
    size = replicas * count * levels
    columns = {
        "replica": np.repeat(np.arange(replicas), count * levels),
        "step": np.tile(np.repeat(steps, levels), replicas),
        "level": np.tile(np.arange(levels), replicas * count),
        "value": data.ravel(),
        "draw": np.repeat(draws, count * levels),
        **{name: np.full(size, point[name]) for name in POINT},
    }
    return columns, replica_map


def write_levels(columns: dict, output: str, metadata: dict) -> None:
    """The levels format (`models.external_levels`), written atomically with ``metadata``."""
    arrays = {
        "replica": pa.array(columns["replica"], pa.int64()),
        "step": pa.array(columns["step"], pa.int64()),
        "level": pa.array(columns["level"], pa.int64()),
        "value": pa.array(columns["value"], pa.float64()),
        "learning_rate": pa.array(columns["learning_rate"], pa.float64()),
        "batch_size": pa.array(columns["batch_size"], pa.int64()),
        "noise": pa.array(
            [None if v is None else float(v) for v in columns["noise"]], pa.float64()
        ),
        "draw": pa.array(columns["draw"], pa.int64()),
    }
    table = pa.table(arrays).replace_schema_metadata({METADATA_KEY: json.dumps(metadata)})
    with atomic_path(output) as temporary:
        pq.write_table(table, temporary)


def expanded(arguments: list[str]) -> list[str]:
    """The archives: each argument a file, or a glob (``**`` allowed) matching at least one."""
    files = []
    for argument in arguments:
        if Path(argument).is_file():
            files.append(argument)
            continue
        matches = sorted(m for m in glob.glob(argument, recursive=True) if Path(m).is_file())
        if not matches:
            raise ExternalDataError(f"{argument}: no such file, and no file matches it as a glob")
        files += matches
    return sorted(dict.fromkeys(files))


def convert(archives: list[str], output: str, options: dict) -> dict:
    """Write the points of ``archives`` to ``output``; return the summary (also the metadata)."""
    files = expanded(archives)
    read = [read_archive(path, options) for path in files]
    for source, target in options["keys"].items():
        if not any(source in archive["names"] for archive in read):
            raise ExternalDataError(
                f"--key {source}={target}: no archive holds an array {source!r} "
                f"(they hold {sorted(set().union(*(a['names'] for a in read)))})"
            )
    groups, dropped = group_points(read, options["on_shared_point"])
    kinds = {group[0]["kind"] for group in groups}
    if len(kinds) > 1:
        holding = {
            kind: ", ".join(a["file"] for group in groups for a in group if a["kind"] == kind)
            for kind in sorted(kinds)
        }
        raise ExternalDataError(
            f"W in {holding['W']} but levels in {holding['levels']}: one output holds one "
            "format; convert each separately"
        )
    parts, replica_map = [], []
    for members in groups:
        columns, mapping = merged_columns(members)
        parts.append(columns)
        replica_map += mapping
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    summary = {
        "converted_from": files,
        "format": "weights" if kinds == {"W"} else "levels",
        "replica_map": replica_map,
        "dropped_shared_point_copies": dropped,
        "ignored_arrays": sorted({name for archive in read for name in archive["ignored"]}),
        "rows": len(columns["replica"]),
    }
    if summary["format"] == "weights":
        write_table(columns, output, "simulate", summary)
    else:
        write_levels(columns, output, summary)
    return summary


def summary_lines(summary: dict, output: str) -> list[str]:
    """What was written: each point's archives and their replicas, old → new, and what was left."""
    lines = []
    points = {}
    for entry in summary["replica_map"]:
        points.setdefault(_point_label(entry), []).append(entry)
    for label, entries in points.items():
        lines.append(f"point {label}: {entries[-1]['replicas'][1] + 1} replicas")
        for entry in entries:
            old, new = entry["original_replicas"], entry["replicas"]
            lines.append(f"  {entry['file']}: replicas {old[0]}–{old[1]} → {new[0]}–{new[1]}")
    for file in summary["dropped_shared_point_copies"]:
        lines.append(f"left out (--on-shared-point first: the point is in another scan): {file}")
    if summary["ignored_arrays"]:
        lines.append(f"arrays not used: {', '.join(summary['ignored_arrays'])}")
    lines.append(
        f"wrote {summary['rows']} rows ({summary['format']} format) of {len(points)} point(s) "
        f"from {len(summary['converted_from'])} archive(s) to {output}"
    )
    return lines


def name_pattern(text: str | None) -> re.Pattern | None:
    """``--name-pattern`` compiled; its named groups must be point columns or ``scan``."""
    if text is None:
        return None
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise ExternalDataError(
            f"--name-pattern {text!r}: not a regular expression ({error})"
        ) from None
    unknown = sorted(set(pattern.groupindex) - {*POINT, "scan"})
    if unknown:
        raise ExternalDataError(
            f"--name-pattern {text!r}: groups {unknown} are not among {[*POINT, 'scan']}"
        )
    return pattern


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sgd-dyson-convert",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Convert archives of training snapshots to the Parquet files read by experiments\n"
            "with `model: external`. An archive (.npz, or .safetensors) holds W, shape\n"
            "(replicas, snapshots, rows, cols) -> the weights format, or levels, shape\n"
            "(replicas, snapshots, L) -> the levels format; optionally step (snapshots,),\n"
            "draw (replicas,), seed (replicas,) and the scalars learning_rate, batch_size,\n"
            "noise. A .safetensors file holds one tensor per snapshot named\n"
            "<array>.<replica>.<step> (W.0.100).\n\n"
            "Point values come from the archive, from --name-pattern and from the options;\n"
            "a disagreement is an error. Archives of one point are merged, in file-name\n"
            "order, replicas renumbered (the map is printed and kept in the output's\n"
            "metadata). A point found in two scans (the `scan` group of --name-pattern) is\n"
            "an error unless --on-shared-point says otherwise; identical data or overlapping\n"
            "seeds within a point are always an error."
        ),
        epilog=(
            "example (the authors' teacher-student release):\n"
            "  sgd-dyson-convert 'data/TSmodel/*/*/*.npz' --key lr=learning_rate \\\n"
            "    --name-pattern \\\n"
            "  '(?P<scan>[^/]+)/[^/]+/[^/]*n(?P<noise>[0-9.]+)bs(?P<batch_size>[0-9]+)\\.npz$' \\\n"
            "    --on-shared-point first -o runs/ts.parquet"
        ),
    )
    parser.add_argument("archives", nargs="+", help=".npz/.safetensors files or globs")
    parser.add_argument("-o", "--output", required=True, help="Parquet file to write")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="ARCHIVE_NAME=NAME",
        help=f"read the archive's array ARCHIVE_NAME as NAME, one of {', '.join(CANONICAL)} "
        "(repeatable: --key lr=learning_rate --key w=W)",
    )
    parser.add_argument(
        "--name-pattern",
        metavar="REGEX",
        help="Python regular expression searched in each archive's path; its named groups "
        "(?P<learning_rate>...), (?P<batch_size>...), (?P<noise>...) give point values, "
        "(?P<scan>...) the scan, e.g. 'lr(?P<learning_rate>[0-9.]+)bs(?P<batch_size>[0-9]+)'",
    )
    parser.add_argument(
        "--on-shared-point",
        choices=("error", "first", "merge"),
        default="error",
        help="a point stored in several scans: error (default), keep the copy of the scan "
        "whose name sorts first, or merge the copies as independent runs",
    )
    parser.add_argument("--learning-rate", type=float, help="α, if not in the archives")
    parser.add_argument("--batch-size", type=float, help="|B|, if not in the archives")
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
    try:
        pattern = name_pattern(arguments.name_pattern)
        options = {
            "learning_rate": arguments.learning_rate,
            "batch_size": arguments.batch_size,
            "noise": arguments.noise,
            "step": arguments.step,
            "keys": parse_key_mapping(arguments.key),
            "name_pattern": pattern,
            "on_shared_point": arguments.on_shared_point,
        }
        summary = convert(arguments.archives, arguments.output, options)
    except (ExternalDataError, OSError) as error:
        print(f"sgd-dyson-convert: error: {error}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(summary, arguments.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
