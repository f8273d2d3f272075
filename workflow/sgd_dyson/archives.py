"""Reading other people's archives as they are: ``.npz`` and ``.safetensors``, keys renamed.

`load_arrays` returns the named arrays of one file, keeping their dtypes;
`renamed` applies the converter's key mapping; `read_archive` checks one
archive and finds its point (`archive_point`: archive scalars, file-name
values and command-line values, which must agree), refusing whatever it would
have to bend (`checked_value`, `archive_data`).

``.safetensors`` convention: one tensor per snapshot, named
``<array>.<replica>.<step>`` (``W.0.100``: the weights of replica 0 at step
100; ``levels.3.0``: the levels of replica 3 at step 0); the tensors of one
array are stacked to ``(replicas, snapshots, ...)`` in increasing replica and
step, and their steps become the array ``step``. Every replica needs a tensor
at every step. Tensors with other names (``learning_rate``, ``seed``, ...)
are plain arrays.
"""

import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np

from .models.external import POINT, ExternalDataError

CANONICAL = ("W", "levels", "step", "draw", "seed", "learning_rate", "batch_size", "noise")
SNAPSHOT_TENSOR = re.compile(r"^(?P<array>.+)\.(?P<replica>\d+)\.(?P<step>\d+)$")


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ExternalDataError(
            f"{path}: not a readable NumPy .npz archive ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ExternalDataError(
            f"{path}: holds a single array, not an .npz archive of named arrays"
        )
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError:
                raise ExternalDataError(
                    f"{path}: array '{name}' holds Python objects (dtype object), not numbers"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as error:
                raise ExternalDataError(
                    f"{path}: array '{name}' is unreadable ({type(error).__name__}: {error})"
                ) from None
    return arrays


def stacked_snapshots(tensors: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """Tensors named ``<array>.<replica>.<step>`` stacked to ``(replicas, snapshots, ...)``.

    Adds ``step`` (the sorted steps); raises `ExternalDataError` naming the
    file and the tensor for a missing (replica, step), shapes that differ, or
    arrays with different steps.
    """
    grouped: dict[str, dict[tuple[int, int], np.ndarray]] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in tensors.items():
        match = SNAPSHOT_TENSOR.match(name)
        if match is None:
            arrays[name] = tensor
            continue
        key = (int(match["replica"]), int(match["step"]))
        grouped.setdefault(match["array"], {})[key] = tensor
    steps_of = {}
    for array, snapshots in grouped.items():
        replicas = sorted({replica for replica, _ in snapshots})
        steps = sorted({step for _, step in snapshots})
        for replica in replicas:
            for step in steps:
                if (replica, step) not in snapshots:
                    raise ExternalDataError(
                        f"{path}: tensor '{array}.{replica}.{step}' missing: every replica "
                        f"needs a tensor at every step ({len(steps)} steps)"
                    )
        shapes = {tensor.shape for tensor in snapshots.values()}
        if len(shapes) > 1:
            raise ExternalDataError(f"{path}: tensors '{array}.*.*' have shapes {sorted(shapes)}")
        arrays[array] = np.stack(
            [np.stack([snapshots[(replica, step)] for step in steps]) for replica in replicas]
        )
        steps_of[array] = steps
    if len({tuple(steps) for steps in steps_of.values()}) > 1:
        raise ExternalDataError(f"{path}: the tensors of {sorted(steps_of)} have different steps")
    if steps_of:
        if "step" in arrays:
            raise ExternalDataError(
                f"{path}: tensor 'step' and steps in the tensor names: keep one of them"
            )
        arrays["step"] = np.asarray(next(iter(steps_of.values())), dtype=np.int64)
    return arrays


def _safetensors_arrays(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ExternalDataError(f"{path}: not a readable .safetensors file ({error})") from None
    return stacked_snapshots(tensors, path)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The named arrays of one archive: ``.safetensors`` by its suffix, else NumPy ``.npz``."""
    path = Path(path)
    if not path.is_file():
        raise ExternalDataError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        return _safetensors_arrays(path)
    return _npz_arrays(path)


def parse_key_mapping(items: list[str]) -> dict[str, str]:
    """``["lr=learning_rate", "w=W"]`` as ``{"lr": "learning_rate", "w": "W"}``.

    The target must be one of `CANONICAL`; raises `ExternalDataError` naming
    the ``--key`` value otherwise, or when one archive name is mapped twice.
    """
    mapping: dict[str, str] = {}
    for item in items:
        source, separator, target = item.partition("=")
        if not separator or not source or target not in CANONICAL:
            raise ExternalDataError(
                f"--key {item!r}: expected ARCHIVE_NAME=NAME with NAME one of {list(CANONICAL)}"
            )
        if source in mapping and mapping[source] != target:
            raise ExternalDataError(f"--key {item!r}: {source!r} is already mapped to {target!r}")
        mapping[source] = target
    return mapping


def renamed(arrays: dict[str, np.ndarray], mapping: dict[str, str], path) -> dict[str, np.ndarray]:
    """``arrays`` with the names of ``mapping`` replaced; a clash names the file and both arrays."""
    result = {name: array for name, array in arrays.items() if name not in mapping}
    for source, target in mapping.items():
        if source not in arrays:
            continue
        if target in result:
            raise ExternalDataError(
                f"{path}: --key {source}={target}, but the archive also holds '{target}'"
            )
        result[target] = arrays[source]
    return result


# --- One archive, checked ---------------------------------------------------------------

AGREEMENT = 1e-6  # relative: a float32 archive value agrees with its decimal text
SOURCES = ("archive", "file name", "command line")


def _scalar(value, name: str, path, source: str):
    """One number from an archive array (size 1), a file-name string or an option."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ExternalDataError(
                f"{path}: '{name}' is {value!r} in the {source}: not a number"
            ) from None
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ExternalDataError(
            f"{path}: '{name}' in the {source} has dtype {array.dtype}: expected a real number"
        )
    if array.size != 1:
        raise ExternalDataError(
            f"{path}: '{name}' in the {source} has shape {array.shape}: expected one value"
        )
    return array.item()


def checked_value(name: str, value, path, source: str):
    """``value`` of the point column ``name`` as stored, refusing what would need bending.

    ``learning_rate`` and ``noise``: finite and > 0; ``batch_size``: an
    integer ≥ 1 (8.0 is 8; 8.7 is an error, never 8) that fits in 64 bits.
    """
    number = _scalar(value, name, path, source)
    if not np.isfinite(number) or number <= 0:
        raise ExternalDataError(
            f"{path}: '{name}' is {number!r} in the {source}: it must be positive and finite"
        )
    if name == "batch_size":
        if float(number) != round(number) or abs(number) >= 2**63:
            raise ExternalDataError(
                f"{path}: 'batch_size' is {number!r} in the {source}: not an integer"
            )
        return int(round(number))
    return float(number)


def archive_point(values: dict[str, dict], path) -> dict:
    """The point of one archive from ``values[source][name]``, sources as in `SOURCES`.

    Raises `ExternalDataError` naming the file and key when two sources
    disagree, or when ``learning_rate`` or ``batch_size`` is given nowhere.
    """
    point = {}
    for name in POINT:
        given = [
            (source, checked_value(name, values[source][name], path, source))
            for source in SOURCES
            if values[source].get(name) is not None
        ]
        for source, value in given[1:]:
            first_source, first = given[0]
            if abs(value - first) > AGREEMENT * abs(first):
                where = "on the command line" if source == "command line" else f"in the {source}"
                raise ExternalDataError(
                    f"{path}: '{name}' is {first} in the {first_source} but {value} {where}"
                )
        point[name] = given[-1][1] if given else None  # the decimal text, where there is one
    for name in ("learning_rate", "batch_size"):
        if point[name] is None:
            raise ExternalDataError(
                f"{path}: no '{name}' in the archive; give --{name.replace('_', '-')} "
                f"or a (?P<{name}>...) group of --name-pattern"
            )
    return point


def _integers(array, name: str, path, length: int, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "iuf" or (
        array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array)))
    ):
        raise ExternalDataError(f"{path}: '{name}' must hold integers (dtype {array.dtype})")
    if array.shape != (length,):
        raise ExternalDataError(f"{path}: {array.size} {name}s for {length} {what}")
    return array.astype(np.int64)


def archive_data(arrays: dict, path) -> tuple[str, np.ndarray]:
    """``("W", (replicas, snapshots, rows, cols))`` or ``("levels", (replicas, snapshots, L))``.

    Raises `ExternalDataError` naming the file and array for neither or both,
    a wrong number of dimensions, a dtype that is not real numbers (complex,
    boolean, strings, objects), a non-finite value, or a negative level.
    """
    present = [name for name in ("W", "levels") if name in arrays]
    if len(present) != 1:
        raise ExternalDataError(
            f"{path}: {'both W and levels' if present else 'no array W or levels'} "
            f"(found {sorted(arrays)}; map names with --key, e.g. --key w=W)"
        )
    name = present[0]
    data = np.asarray(arrays[name])
    if data.dtype.kind not in "iuf":
        kind = {"c": "complex numbers", "b": "booleans", "U": "strings", "S": "strings"}
        raise ExternalDataError(
            f"{path}: array '{name}' holds {kind.get(data.dtype.kind, 'no numbers')} "
            f"(dtype {data.dtype}); expected real numbers, nothing is made real"
        )
    dimensions = 4 if name == "W" else 3
    if data.ndim != dimensions:
        expected = (
            "(replicas, snapshots, rows, cols)" if name == "W" else "(replicas, snapshots, L)"
        )
        raise ExternalDataError(f"{path}: '{name}' has shape {data.shape}; expected {expected}")
    data = data.astype(float)
    if not np.all(np.isfinite(data)):
        raise ExternalDataError(f"{path}: '{name}' holds non-finite values")
    if name == "levels" and (data < 0).any():
        raise ExternalDataError(f"{path}: 'levels' holds negative values; levels are ≥ 0")
    return name, data


def read_archive(path: str, options: dict) -> dict:
    """One archive, checked: its point, scan, data, steps, draws, seeds and a digest."""
    loaded = load_arrays(path)
    arrays = renamed(loaded, options["keys"], path)
    values = {"archive": {n: arrays[n] for n in POINT if n in arrays}, "file name": {}}
    values["command line"] = {n: options.get(n) for n in POINT}
    scan = None
    if options["name_pattern"] is not None:
        match = options["name_pattern"].search(Path(path).as_posix())
        if match is None:
            raise ExternalDataError(
                f"{path}: the file name does not match --name-pattern "
                f"{options['name_pattern'].pattern!r}"
            )
        found = match.groupdict()
        scan = found.pop("scan", None)
        values["file name"] = found
    kind, data = archive_data(arrays, path)
    replicas, count = data.shape[:2]
    steps = arrays.get("step", options.get("step"))
    steps = (
        np.arange(count) if steps is None else _integers(steps, "step", path, count, "snapshots")
    )
    if count and len(set(steps.tolist())) != count:
        raise ExternalDataError(f"{path}: 'step' holds a step twice: {steps.tolist()}")
    draws = arrays.get("draw")
    draws = (
        np.zeros(replicas, np.int64)
        if draws is None
        else _integers(draws, "draw", path, replicas, "replicas")
    )
    seeds = arrays.get("seed")
    if seeds is not None:
        seeds = _integers(seeds, "seed", path, replicas, "replicas")
    digest = hashlib.sha256(np.ascontiguousarray(data).tobytes() + steps.tobytes()).hexdigest()
    return {
        "file": str(path),
        "point": archive_point(values, path),
        "scan": scan,
        "kind": kind,
        "data": data,
        "steps": steps,
        "draws": draws,
        "seeds": seeds,
        "digest": digest,
        "ignored": sorted(set(arrays) - set(CANONICAL)),
        "names": set(loaded),
    }
