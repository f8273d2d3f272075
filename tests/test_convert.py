"""The converter on archives as other people release them, and the levels and safetensors routes."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from safetensors.numpy import save_file
from workflow_runs import REPOSITORY, snakemake

from sgd_dyson.convert import main as convert_main
from sgd_dyson.models.external import ExternalDataError, discover_points, point_snapshots
from sgd_dyson.spectra import singular_values
from sgd_dyson.tables import METADATA_KEY, read_table

KEY = "experiments.mine"
NOISE = 0.1
SPREAD_PER_SCALE = 2.0  # the stand-in's σ / sqrt(α/|B| × ε²)
TEACHER = 2.0
ALPHA_SCAN = (0.1, 0.2, 0.4)  # at |B| = 16
BATCH_SCAN = (16, 32, 64)  # at α = 0.1: (0.1, 16) is in both scans


def stationary_weights(rng, replicas: int, snapshots: int, sigma: float) -> np.ndarray:
    """2 × 2 weights W = 2 I + σ H, H a GOE matrix (diagonal variance 1, off-diagonal 1/2).

    The two levels of W then follow the two-level Coulomb gas of width σ
    around the degenerate target 2 (a GOE 2 × 2 spacing: ⟨S⟩ = √π σ), the
    stationary law of the teacher–student model, in every snapshot.
    """
    diagonal = rng.normal(size=(replicas, snapshots, 2))
    off = rng.normal(scale=np.sqrt(0.5), size=(replicas, snapshots))
    weights = np.zeros((replicas, snapshots, 2, 2))
    weights[..., 0, 0], weights[..., 1, 1] = diagonal[..., 0], diagonal[..., 1]
    weights[..., 0, 1] = weights[..., 1, 0] = off
    return TEACHER * np.eye(2) + sigma * weights


def teacher_student_release(folder: Path, replicas: int = 3000, key: str = "W") -> list[Path]:
    """A stand-in of the authors' teacher–student release, in its layout.

    ``TSmodel/{lr,bs}/TSmodel_lr<α>n<ε>bs<|B|>/TSmodel_lr<α>n<ε>bs<|B|>.npz``,
    each holding ``W`` (replicas, 6, 2, 2), the learning rate as ``lr`` and the
    steps; the point α = 0.1, |B| = 16 is stored, the same run, in both scans.
    """
    rng = np.random.default_rng(2024)
    runs = {}
    archives = []
    for scan, points in (
        ("lr", [(a, 16) for a in ALPHA_SCAN]),
        ("bs", [(0.1, b) for b in BATCH_SCAN]),
    ):
        for learning_rate, batch_size in points:
            sigma = SPREAD_PER_SCALE * np.sqrt(learning_rate / batch_size) * NOISE
            if (learning_rate, batch_size) not in runs:
                runs[learning_rate, batch_size] = stationary_weights(rng, replicas, 6, sigma)
            name = f"TSmodel_lr{learning_rate}n{NOISE}bs{batch_size}"
            path = folder / "TSmodel" / scan / name / f"{name}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            steps = np.arange(500, 3001, 500)
            np.savez(path, **{key: runs[learning_rate, batch_size]}, lr=learning_rate, step=steps)
            archives.append(path)
    return archives


TS_PATTERN = r"(?P<scan>[^/]+)/[^/]+/[^/]*n(?P<noise>[0-9.]+)bs(?P<batch_size>[0-9]+)\.npz$"
TS_COMMAND = ["--key", "lr=learning_rate", "--name-pattern", TS_PATTERN]


def run_convert(tmp_path, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sgd-dyson-convert", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )


def metadata(path) -> dict:
    return json.loads(pq.read_schema(path).metadata[METADATA_KEY])


def test_the_shared_point_of_two_scans_is_reported_at_conversion_naming_every_file(tmp_path):
    teacher_student_release(tmp_path, replicas=60)
    output = tmp_path / "ts.parquet"
    result = run_convert(tmp_path, "TSmodel/*/*/*.npz", *TS_COMMAND, "-o", output)
    assert result.returncode == 1
    assert "α = 0.1, |B| = 16, ε = 0.1 is stored in 2 scans" in result.stderr
    for scan in ("lr", "bs"):
        assert f"TSmodel/{scan}/TSmodel_lr0.1n0.1bs16/TSmodel_lr0.1n0.1bs16.npz" in result.stderr
    assert not output.exists()
    merged = run_convert(
        tmp_path, "TSmodel/*/*/*.npz", *TS_COMMAND, "--on-shared-point", "merge", "-o", output
    )
    assert merged.returncode == 1  # the copies are the same runs: never counted twice
    assert "identical data of the point α = 0.1, |B| = 16" in merged.stderr
    unscanned = run_convert(  # without scans, the copies are still found: identical data
        tmp_path,
        "TSmodel/*/*/*.npz",
        "--key",
        "lr=learning_rate",
        "--name-pattern",
        TS_PATTERN.replace("(?P<scan>[^/]+)", "[^/]+"),
        "-o",
        output,
    )
    assert unscanned.returncode == 1
    assert "identical data of the point α = 0.1, |B| = 16" in unscanned.stderr
    assert merged.returncode == 1  # the copies are the same runs: never counted twice
    assert "identical data of the point α = 0.1, |B| = 16" in merged.stderr
    assert not output.exists()


def test_the_teacher_student_release_converts_in_one_command(tmp_path):
    teacher_student_release(tmp_path, replicas=60)
    output = tmp_path / "ts.parquet"
    command = ["TSmodel/*/*/*.npz", *TS_COMMAND, "--on-shared-point", "first", "-o", output]
    result = run_convert(tmp_path, *command)
    assert result.returncode == 0, result.stderr
    dropped = "TSmodel/lr/TSmodel_lr0.1n0.1bs16/TSmodel_lr0.1n0.1bs16.npz"
    assert f"left out (--on-shared-point first: the point is in another scan): {dropped}" in (
        result.stdout
    )
    points = discover_points([output], None, KEY)
    assert [(p["learning_rate"], p["batch_size"]) for p in points] == sorted(
        {(a, 16) for a in ALPHA_SCAN} | {(0.1, b) for b in BATCH_SCAN}
    )
    assert {(p["noise"], p["replicas"], p["steps"]) for p in points} == {(NOISE, 60, 3000)}
    assert metadata(output)["dropped_shared_point_copies"] == [dropped]


def rbm_release(folder: Path, parts: int = 3, replicas: int = 40) -> list[Path]:
    """A stand-in of the RBM release: one point split over ``parts`` archives, replicas from 0.

    ``SRBM-scale/lr/run<NN>_lr0.1bs16/run<NN>_lr0.1bs16.npz`` holding the
    weights as ``w`` (replicas, 4, 3, 3) and their singular-value histories
    as ``sv`` (replicas, 4, 3), each archive's replicas numbered from 0.
    """
    rng = np.random.default_rng(7)
    archives = []
    for part in range(parts):
        name = f"run{part:02d}_lr0.1bs16"
        path = folder / "SRBM-scale" / "lr" / name / f"{name}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        weights = rng.normal(size=(replicas, 4, 3, 3))
        np.savez(path, w=weights, sv=singular_values(weights), seed=np.arange(replicas))
        archives.append(path)
    return archives


RBM_PATTERN = r"lr(?P<learning_rate>[0-9.]+)bs(?P<batch_size>[0-9]+)\.npz$"


def test_archives_of_one_point_merge_with_replicas_renumbered_and_the_map_recorded(
    tmp_path, capsys
):
    archives = rbm_release(tmp_path)
    for part, path in enumerate(archives):  # distinct seeds: independent runs
        with np.load(path) as stored:
            np.savez(path, w=stored["w"], sv=stored["sv"], seed=stored["seed"] + 100 * part)
    output = tmp_path / "rbm.parquet"
    arguments = ["--key", "w=W", "--name-pattern", RBM_PATTERN, "-o", str(output)]
    assert convert_main([*map(str, reversed(archives)), *arguments]) == 0
    printed = capsys.readouterr().out
    assert "point α = 0.1, |B| = 16: 120 replicas" in printed
    assert f"{archives[1]}: replicas 0–39 → 40–79" in printed
    (point,) = discover_points([output], None, KEY)
    snapshots, weights = point_snapshots([str(output)], point, None, KEY, 2)
    expected = np.concatenate([np.load(path)["w"] for path in archives])  # file-name order
    np.testing.assert_array_equal(weights, expected.reshape(-1, 3, 3))
    assert snapshots["replica"].nunique() == 120
    replica_map = metadata(output)["replica_map"]
    assert [(entry["file"], entry["replicas"]) for entry in replica_map] == [
        (str(path), [40 * part, 40 * part + 39]) for part, path in enumerate(archives)
    ]
    assert {tuple(entry["original_replicas"]) for entry in replica_map} == {(0, 39)}


def test_overlapping_seeds_within_one_point_are_the_same_runs_twice(tmp_path):
    archives = rbm_release(tmp_path, parts=2)  # both hold seeds 0..39
    output = tmp_path / "rbm.parquet"
    arguments = ["--key", "w=W", "--name-pattern", RBM_PATTERN, "-o", str(output)]
    result = run_convert(tmp_path, *archives, *arguments)
    assert result.returncode == 1
    assert f"{archives[0]}, {archives[1]}: seed 0 of the point α = 0.1, |B| = 16" in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("levels_are", ["singular_values", "gram_eigenvalues"])
def test_singular_value_histories_convert_to_the_levels_format(tmp_path, levels_are):
    archives = rbm_release(tmp_path, parts=1)
    history = np.load(archives[0])["sv"]
    if levels_are == "gram_eigenvalues":
        with np.load(archives[0]) as stored:
            np.savez(archives[0], sv=stored["sv"] ** 2)
    output = tmp_path / "levels.parquet"
    arguments = ["--key", "sv=levels", "--name-pattern", RBM_PATTERN, "-o", str(output)]
    assert convert_main([str(archives[0]), *arguments]) == 0
    table = pq.read_table(output)
    assert table.column_names[:4] == ["replica", "step", "level", "value"]
    assert table.num_rows == 40 * 4 * 3
    (point,) = discover_points([output], None, KEY)
    assert (point["levels"], point["replicas"]) == ([3], 40)
    _, weights = point_snapshots([str(output)], point, None, KEY, 2, levels_are)
    np.testing.assert_allclose(
        singular_values(weights), np.sort(history.reshape(-1, 3), axis=1), rtol=1e-14
    )


def safetensors_archive(path: Path, weights: np.ndarray, steps) -> None:
    """One tensor per snapshot, named ``W.<replica>.<step>``."""
    save_file(
        {
            f"W.{replica}.{step}": np.ascontiguousarray(weights[replica, index])
            for replica in range(weights.shape[0])
            for index, step in enumerate(steps)
        },
        str(path),
    )


def test_safetensors_snapshots_convert_to_the_table_of_the_same_npz(tmp_path):
    weights = np.random.default_rng(4).normal(size=(3, 2, 2, 3))
    np.savez(tmp_path / "run_lr0.1_bs8.npz", W=weights, step=[10, 20])
    safetensors_archive(tmp_path / "run_lr0.1_bs8.safetensors", weights, [10, 20])
    pattern = ["--name-pattern", r"lr(?P<learning_rate>[0-9.]+)_bs(?P<batch_size>[0-9]+)"]
    for suffix in ("npz", "safetensors"):
        archive = str(tmp_path / f"run_lr0.1_bs8.{suffix}")
        assert convert_main([archive, *pattern, "-o", str(tmp_path / f"{suffix}.parquet")]) == 0
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "safetensors.parquet", "simulate"),
        read_table(tmp_path / "npz.parquet", "simulate"),
    )


def test_a_safetensors_file_missing_a_snapshot_names_the_tensor(tmp_path, capsys):
    save_file({"W.0.10": np.eye(2), "W.0.20": np.eye(2), "W.1.10": np.eye(2)}, tmp_path / "a.st")
    (tmp_path / "a.st").rename(tmp_path / "a.safetensors")
    output = tmp_path / "out.parquet"
    arguments = ["--learning-rate", "0.1", "--batch-size", "8", "-o", str(output)]
    assert convert_main([str(tmp_path / "a.safetensors"), *arguments]) == 1
    assert "a.safetensors: tensor 'W.1.20' missing" in capsys.readouterr().err
    assert not output.exists()


# --- Nothing bent: every refusal names the file and the array or key ----------------------


def archive(path: Path, **arrays) -> Path:
    arrays.setdefault("W", np.random.default_rng(1).normal(size=(3, 2, 2, 2)))
    np.savez(path, **arrays)
    return path


POINT_OPTIONS = ["--learning-rate", "0.1", "--batch-size", "8"]
COMPLEX = np.ones((3, 2, 2, 2)) * (1 + 1e-9j)


@pytest.mark.parametrize(
    ("arrays", "arguments", "message"),
    [
        ({"W": COMPLEX}, POINT_OPTIONS, "array 'W' holds complex numbers (dtype complex128)"),
        ({"W": np.full((3, 2, 2, 2), "x")}, POINT_OPTIONS, "array 'W' holds strings (dtype <U1)"),
        ({"batch_size": 8.7}, ["--learning-rate", "0.1"], "'batch_size' is 8.7 in the archive"),
        ({}, ["--learning-rate", "0.1", "--batch-size", "8.7"], "'batch_size' is 8.7 in the"),
        ({"learning_rate": -0.1}, ["--batch-size", "8"], "'learning_rate' is -0.1 in the archive"),
        ({"learning_rate": 0.0}, ["--batch-size", "8"], "it must be positive and finite"),
        ({"learning_rate": np.nan}, ["--batch-size", "8"], "'learning_rate' is nan"),
        ({}, ["--learning-rate", "inf", "--batch-size", "8"], "'learning_rate' is inf"),
        ({"learning_rate": 1j}, ["--batch-size", "8"], "'learning_rate' in the archive has dtype"),
        ({"noise": 0.2}, [*POINT_OPTIONS, "--noise", "0.3"], "'noise' is 0.2 in the archive"),
        ({"step": [1.5, 2.0]}, POINT_OPTIONS, "'step' must hold integers"),
        ({"step": [3, 3]}, POINT_OPTIONS, "'step' holds a step twice"),
        ({"W": np.ones((3, 2, 2))}, POINT_OPTIONS, "'W' has shape (3, 2, 2)"),
        ({"levels": np.ones((3, 2, 2))}, POINT_OPTIONS, "both W and levels"),
        ({}, [*POINT_OPTIONS, "--key", "lr=learning_rate"], "no archive holds an array 'lr'"),
        ({}, [*POINT_OPTIONS, "--key", "lr=alpha"], "--key 'lr=alpha': expected"),
        ({}, [*POINT_OPTIONS, "--name-pattern", "(?P<lr>x)"], "groups ['lr'] are not among"),
        ({}, [*POINT_OPTIONS, "--name-pattern", "bs(?P<batch_size>9)"], "does not match"),
        ({}, ["--batch-size", "8", "--name-pattern", "(?P<learning_rate>a)"], "'a' in the file"),
        ({}, ["--learning-rate", "0.1", "--name-pattern", "(?P<batch_size>a)"], "is 'a'"),
    ],
)
def test_the_converter_refuses_what_it_would_have_to_bend(
    tmp_path, capsys, arrays, arguments, message
):
    path = archive(tmp_path / "a.npz", **arrays)
    output = tmp_path / "weights.parquet"
    assert convert_main([str(path), "-o", str(output), *arguments]) == 1
    error = capsys.readouterr().err
    assert message in error
    assert str(path) in error or error.startswith("sgd-dyson-convert: error: --")  # an option
    assert not output.exists()


def test_object_arrays_text_files_and_disagreeing_file_names_are_named(tmp_path, capsys):
    objects = tmp_path / "objects.npz"
    np.savez(objects, W=np.ones((3, 2, 2, 2)), learning_rate=np.array([{"a": 1}], dtype=object))
    text = tmp_path / "text.npz"
    text.write_text("W = [[1, 2], [3, 4]]\n")
    named = archive(tmp_path / "lr0.2.npz", learning_rate=0.1)
    output = tmp_path / "weights.parquet"
    cases = [
        (objects, [], f"{objects}: array 'learning_rate' holds Python objects (dtype object)"),
        (text, [], f"{text}: not a readable NumPy .npz archive"),
        (
            named,
            ["--name-pattern", r"lr(?P<learning_rate>[0-9.]+)\.npz"],
            f"{named}: 'learning_rate' is 0.1 in the archive but 0.2 in the file name",
        ),
    ]
    for path, extra, message in cases:
        assert convert_main([str(path), *POINT_OPTIONS[2:], *extra, "-o", str(output)]) == 1
        assert message in capsys.readouterr().err
        assert not output.exists()


def test_a_failed_conversion_leaves_an_earlier_output_byte_identical(tmp_path):
    good = archive(tmp_path / "good.npz")
    output = tmp_path / "weights.parquet"
    assert convert_main([str(good), *POINT_OPTIONS, "-o", str(output)]) == 0
    before = output.read_bytes()
    bad = archive(tmp_path / "bad.npz", W=COMPLEX)
    assert convert_main([str(good), str(bad), *POINT_OPTIONS, "-o", str(output)]) == 1
    assert output.read_bytes() == before


# --- The levels format's checks, twins of the weights format's ----------------------------


def levels_rows(replicas: int = 3, steps=(10, 20), levels: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    index = pd.MultiIndex.from_product(
        [range(replicas), steps, range(levels)], names=["replica", "step", "level"]
    )
    frame = index.to_frame(index=False)
    frame["value"] = rng.uniform(1.0, 3.0, size=len(frame))
    return frame.assign(learning_rate=0.1, batch_size=8, noise=0.2)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="value"), "column 'value' missing (the levels format needs"),
        (lambda f: f.assign(level=f["level"] + 0.5), "column 'level' has type double"),
        (lambda f: f.assign(value="x"), "column 'value' has type large_string, expected numbers"),
        (lambda f: f.assign(level=0), "replica 0 has two values of level 0 at step 10"),
        (lambda f: f.drop(index=[3]), "column 'level': ragged levels"),
        (lambda f: f.assign(level=f["level"] * 2), "has levels [0, 2]; expected 0, ..., 1"),
        (lambda f: f.assign(value=f["value"].where(f.index != 4, np.nan)), "non-finite"),
        (lambda f: f.assign(value=f["value"].where(f.index != 2, -1.0)), "row 2 is -1.0"),
        (lambda f: f.iloc[:0], "the file holds no rows"),
    ],
)
def test_levels_outside_the_format_are_rejected_naming_file_and_column(tmp_path, edit, message):
    path = tmp_path / "levels.parquet"
    pq.write_table(pa.Table.from_pandas(edit(levels_rows()), preserve_index=False), path)
    point = {"learning_rate": 0.1, "batch_size": 8, "noise": 0.2}
    with pytest.raises(ExternalDataError) as error:
        discover_points([path], None, KEY)
        point_snapshots([str(path)], point, None, KEY, 2)
    assert str(path) in str(error.value) and message in str(error.value)


# --- End to end ---------------------------------------------------------------------


@pytest.mark.workflow
def test_the_teacher_student_release_gives_the_slope_of_its_law_with_the_default_config(
    tmp_path,
):
    teacher_student_release(tmp_path)
    command = ["TSmodel/*/*/*.npz", *TS_COMMAND, "--on-shared-point", "first", "-o", "ts.parquet"]
    converted = run_convert(tmp_path, *command)
    assert converted.returncode == 0, converted.stderr
    experiment = {"model": "external", "source": "ts.parquet", "targets": [2.0, 2.0]}
    config = tmp_path / "ts.yaml"
    config.write_text(
        yaml.safe_dump({"experiments": {"ts": {**experiment, "amplitude": "noise_squared"}}})
    )
    # The tables only: no figure or report is asserted here.
    result = snakemake(tmp_path, "--until", "scaling", config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    lines = read_table(tmp_path / "results" / "ts" / "scaling_fit.parquet", "scaling_fit")
    # ⟨S⟩ = √π σ = √π × SPREAD_PER_SCALE × scale; 3000 replicas × 6 snapshots per point
    # give slope_err ≈ 0.3 % of the slope: 4 standard errors, or 1 % for the fit's model error.
    expected = np.sqrt(np.pi) * SPREAD_PER_SCALE
    assert set(lines["quantity"]) == {"mean_spacing", "sqrt_pi_sigma"}
    for _, line in lines.iterrows():
        assert line["n_points"] == 5
        assert abs(line["slope"] - expected) < max(4 * line["slope_err"], 0.01 * expected), line


def levels_and_safetensors_of(simulated: Path, folder: Path) -> None:
    """The simulated weights of ``simulated`` as a levels-format table and .safetensors files."""
    folder.mkdir()
    (folder / "st").mkdir()
    levels = []
    for path in sorted(simulated.glob("*.parquet")):
        table = read_table(path, "simulate")
        weights = np.stack(table["weights"].to_numpy()).reshape(len(table), 2, 2)
        values = singular_values(weights)
        frame = table[["replica", "step", "draw", "learning_rate", "batch_size", "noise"]]
        frame = frame.loc[frame.index.repeat(2)].reset_index(drop=True)
        levels.append(frame.assign(level=np.tile([0, 1], len(table)), value=values.ravel()))
        first = table.iloc[0]
        alpha, noise = float(first["learning_rate"]), float(first["noise"])
        name = f"lr{alpha!r}_bs{first['batch_size']}_n{noise!r}"
        replicas, steps = table["replica"].nunique(), np.unique(table["step"])
        matrices = weights.reshape(replicas, len(steps), 2, 2)
        safetensors_archive(folder / "st" / f"{name}.safetensors", matrices, steps)
    pq.write_table(
        pa.Table.from_pandas(pd.concat(levels), preserve_index=False), folder / "levels.parquet"
    )


PVALUE, STATISTIC = "two_component_pvalue", "two_component_lr"


def assert_same_fits(mine: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Equal fit tables, up to the boundary p-value where its statistic is 0 to rounding.

    The two-component test's χ̄² p-value jumps from 1 (statistic 0) to 1/2 as
    the statistic leaves 0, so at a statistic within the optimiser's precision
    of 0 (below 1e-6; the statistics themselves must agree) levels that differ
    from the weights' singular values in the last bit may flip it.
    """
    if PVALUE not in reference:
        pd.testing.assert_frame_equal(mine, reference)
        return
    pd.testing.assert_frame_equal(mine.drop(columns=PVALUE), reference.drop(columns=PVALUE))
    away = (reference[STATISTIC] > 1e-6).to_numpy()
    np.testing.assert_allclose(mine[PVALUE][away], reference[PVALUE][away], rtol=1e-5)


@pytest.mark.workflow
def test_levels_and_safetensors_imports_give_the_fits_of_the_weights(tiny_run, tmp_path):
    simulated = tiny_run / "results" / "online"
    levels_and_safetensors_of(simulated / "simulate", tmp_path / "data")
    pattern = (
        r"lr(?P<learning_rate>[0-9.]+)_bs(?P<batch_size>[0-9]+)_n(?P<noise>[0-9.]+)\.safetensors$"
    )
    converted = run_convert(
        tmp_path, "data/st/*.safetensors", "--name-pattern", pattern, "-o", "data/st.parquet"
    )
    assert converted.returncode == 0, converted.stderr
    common = {"model": "external", "targets": [2.0, 2.0], "amplitude": "noise_squared"}
    common["burn_in"] = 200
    config = tmp_path / "formats.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "seed": 7,
                "experiments": {
                    "levels": {**common, "source": "data/levels.parquet"},
                    "safetensors": {**common, "source": "data/st.parquet"},
                },
            }
        )
    )
    # The tables only: no figure or report is asserted here.
    result = snakemake(tmp_path, "--until", "scaling", config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    points = sorted(path.name for path in (simulated / "fit").iterdir())
    columns = ["quantity", "cluster", "slope", "slope_err", "chi2_dof", "n_points"]
    reference = read_table(simulated / "scaling_fit.parquet", "scaling_fit")
    for experiment in ("levels", "safetensors"):
        imported = tmp_path / "results" / experiment
        assert sorted(path.name for path in (imported / "fit").iterdir()) == points
        for name in points:
            for table in ("fit", "density_fit"):
                # .safetensors holds W itself: identical fits; levels are singular values
                # recomputed from diag(s): equal to the last bits (`assert_same_fits`).
                compare = (
                    assert_same_fits if experiment == "levels" else pd.testing.assert_frame_equal
                )
                compare(
                    read_table(imported / table / name, table),
                    read_table(simulated / table / name, table),
                )
        lines = read_table(imported / "scaling_fit.parquet", "scaling_fit")
        pd.testing.assert_frame_equal(lines[columns], reference[columns])


# --- The README's commands, run as written ---------------------------------------------


def readme_block(after: str, language: str) -> str:
    readme = (REPOSITORY / "README.md").read_text()
    start = readme.index(f"```{language}\n", readme.index(after)) + len(f"```{language}\n")
    return readme[start : readme.index("```", start)]


def test_the_readme_commands_convert_the_stand_ins_of_both_releases(tmp_path):
    teacher_student_release(tmp_path / "data", replicas=60)
    for part, path in enumerate(rbm_release(tmp_path / "data")):
        with np.load(path) as stored:  # independent runs: distinct seeds
            np.savez(path, w=stored["w"], sv=stored["sv"], seed=stored["seed"] + 100 * part)
    for after in ("The authors' teacher–student release", "The RBM release"):
        commands = readme_block(after, "bash")
        result = subprocess.run(
            ["bash", "-e", "-c", commands], capture_output=True, text=True, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
    assert len(discover_points([tmp_path / "runs" / "ts.parquet"], None, KEY)) == 5
    for name in ("rbm.parquet", "rbm_levels.parquet"):
        (point,) = discover_points([tmp_path / "runs" / name], None, KEY)
        assert (point["learning_rate"], point["batch_size"], point["replicas"]) == (0.1, 16, 120)


class FakeTensor:
    """Just enough of a torch tensor for the README's .pt lines."""

    def __init__(self, array):
        self.array = array

    def double(self):
        return FakeTensor(self.array.astype(np.float64))

    def numpy(self):
        return self.array


def test_the_readme_pytorch_lines_write_safetensors_the_converter_reads(tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    saved = {f"ckpt_{r}_{s}.pt": rng.normal(size=(3, 4)) for r in range(2) for s in (10, 20)}
    torch = types.ModuleType("torch")
    torch.load = lambda path, map_location, weights_only: {"fc.weight": FakeTensor(saved[path])}
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    checkpoints = [(r, s, f"ckpt_{r}_{s}.pt") for r in range(2) for s in (10, 20)]
    exec(readme_block("**PyTorch `.pt` checkpoints**", "python"), {"checkpoints": checkpoints})
    pattern = ["--name-pattern", r"lr(?P<learning_rate>[0-9.]+)_bs(?P<batch_size>[0-9]+)"]
    output = "runs/weights.parquet"
    assert convert_main(["runs/lr0.1_bs16.safetensors", *pattern, "-o", output]) == 0
    (point,) = discover_points([Path(output)], None, KEY)
    snapshots, weights = point_snapshots(point["files"], point, None, KEY, 2)
    assert list(snapshots["step"]) == [10, 20, 10, 20]
    np.testing.assert_array_equal(weights, np.stack([saved[c[2]] for c in checkpoints]))


def test_weights_and_levels_in_one_conversion_name_the_files_of_each(tmp_path, capsys):
    weights = archive(tmp_path / "a.npz", learning_rate=0.1)
    levels = tmp_path / "b.npz"
    np.savez(levels, levels=np.ones((3, 2, 2)), learning_rate=0.2)
    output = tmp_path / "out.parquet"
    assert convert_main([str(weights), str(levels), *POINT_OPTIONS[2:], "-o", str(output)]) == 1
    assert f"W in {weights} but levels in {levels}" in capsys.readouterr().err
    assert not output.exists()


def test_a_levels_file_of_several_points_counts_the_levels_of_each_snapshot(tmp_path):
    path = tmp_path / "levels.parquet"
    frames = [levels_rows(levels=3).assign(batch_size=size) for size in (8, 16)]
    frames.append(levels_rows(levels=3).assign(batch_size=32, noise=None))
    pq.write_table(pa.Table.from_pandas(pd.concat(frames), preserve_index=False), path)
    points = discover_points([path], None, KEY)
    assert [(p["batch_size"], p["levels"], p["replicas"]) for p in points] == [
        (8, [3], 3),
        (16, [3], 3),
        (32, [3], 3),
    ]
    _, weights = point_snapshots([str(path)], points[2], None, KEY, 2)
    np.testing.assert_array_equal(
        np.diagonal(weights, axis1=1, axis2=2), frames[2]["value"].to_numpy().reshape(-1, 3)
    )
