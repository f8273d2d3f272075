"""External weights: the weights format, its checks, point discovery and the converter."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from workflow_runs import REPOSITORY, snakemake

from sgd_dyson.convert import main as convert_main
from sgd_dyson.models.external import (
    ExternalDataError,
    discover_points,
    external_points,
    point_snapshots,
    source_files,
)
from sgd_dyson.spectra import gram_eigenvalues, singular_values
from sgd_dyson.tables import read_table

KEY = "experiments.mine"


def snapshot_rows(
    replicas: int = 4,
    steps: tuple[int, ...] = (10, 20),
    shape: tuple[int, int] = (2, 3),
    learning_rate: float = 0.1,
    batch_size: int = 8,
    noise: float | None = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """One point's snapshots in the weights format, with random weights."""
    rng = np.random.default_rng(seed)
    rows = []
    for replica in range(replicas):
        for step in steps:
            rows.append(
                {
                    "replica": replica,
                    "step": step,
                    "rows": shape[0],
                    "cols": shape[1],
                    "weights": rng.normal(size=shape[0] * shape[1]).tolist(),
                    "learning_rate": learning_rate,
                    "batch_size": batch_size,
                    "noise": noise,
                }
            )
    return pd.DataFrame(rows)


def write(frame: pd.DataFrame, path) -> str:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return str(path)


def read_point(path, point=None, minimum_replicas=2, layer=None):
    point = point or {"learning_rate": 0.1, "batch_size": 8, "noise": 0.2}
    return point_snapshots([str(path)], point, layer, KEY, minimum_replicas)


def test_points_are_discovered_across_files_and_read_back_in_order(tmp_path):
    first = pd.concat([snapshot_rows(), snapshot_rows(learning_rate=0.2, noise=None)])
    write(first, tmp_path / "a.parquet")
    write(snapshot_rows(replicas=2, steps=(30,), seed=1), tmp_path / "b.parquet")
    files = source_files(str(tmp_path), f"{KEY}.source")
    points = discover_points(files, None, KEY)
    assert [(p["learning_rate"], p["noise"]) for p in points] == [(0.1, 0.2), (0.2, None)]
    shared = points[0]
    assert shared["files"] == [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    assert (shared["replicas"], shared["steps"], shared["levels"]) == (4, 30, [2])
    assert points[1]["files"] == [str(tmp_path / "a.parquet")]
    snapshots, weights = point_snapshots(points[1]["files"], points[1], None, KEY, 2)
    assert weights.shape == (8, 2, 3)
    assert list(snapshots["replica"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(snapshots["step"]) == [10, 20] * 4
    expected = np.array(first[first["noise"].isna()]["weights"].tolist()).reshape(8, 2, 3)
    np.testing.assert_array_equal(weights, expected)


def test_narrow_types_and_a_column_of_nulls_are_accepted(tmp_path):
    frame = snapshot_rows(noise=None)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index("weights"),
        "weights",
        table.column("weights").cast(pa.list_(pa.float32())),
    )
    table = table.set_column(
        table.schema.get_field_index("step"), "step", table.column("step").cast(pa.int32())
    )
    pq.write_table(table, tmp_path / "narrow.parquet")
    assert table.schema.field("noise").type == pa.null()
    _, weights = read_point(tmp_path / "narrow.parquet", {"learning_rate": 0.1, "batch_size": 8})
    assert weights.dtype == np.float64 and weights.shape == (8, 2, 3)


def test_a_source_that_matches_nothing_names_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ExternalDataError, match=r"experiments.mine.source: 'runs/\*.parquet' matches"
    ):
        source_files("runs/*.parquet", f"{KEY}.source")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExternalDataError, match="folder 'empty' holds no .parquet file"):
        source_files("empty", f"{KEY}.source")


def broken(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.at[row, column] = value
    return frame


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="step"), "column 'step' missing"),
        (lambda f: broken(f, 3, "weights", [1.0, 2.0]), "column 'weights' row 3 has 2 values"),
        (lambda f: broken(f, 2, "cols", 2), "columns 'rows'/'cols' differ between snapshots"),
        (
            lambda f: broken(f, 5, "weights", [1.0, np.inf, 0.0, 0.0, 0.0, 0.0]),
            "column 'weights' holds non-finite values (first in row 5)",
        ),
        (lambda f: f.assign(step=10), "replica 0 has two snapshots at step 10"),
        (lambda f: f.drop(index=[7]), "replicas have different snapshot steps"),
        (
            lambda f: f.assign(replica=f["replica"].astype(float)),
            "column 'replica' has type double",
        ),
        (lambda f: f.assign(weights="w"), "column 'weights' has type large_string, expected lists"),
    ],
)
def test_snapshots_outside_the_format_are_rejected_naming_file_and_column(tmp_path, edit, message):
    path = write(edit(snapshot_rows()), tmp_path / "bad.parquet")
    with pytest.raises(ExternalDataError) as error:
        read_point(path)
    assert str(error.value).startswith(str(tmp_path / "bad.parquet"))
    assert message in str(error.value)


def test_a_point_needs_the_replicas_its_statistics_ask_for(tmp_path):
    path = write(snapshot_rows(replicas=3), tmp_path / "few.parquet")
    with pytest.raises(
        ExternalDataError,
        match=r"has 3 replicas .* at least 50 \(experiments.mine.fit.error_groups",
    ):
        read_point(path, minimum_replicas=50)


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(ExternalDataError, match=r"garbage.parquet: not a readable Parquet file"):
        discover_points([path], None, KEY)


def test_several_layers_need_a_choice_and_the_choice_selects_one(tmp_path):
    frame = pd.concat(
        [snapshot_rows().assign(layer="fc1"), snapshot_rows(shape=(3, 3)).assign(layer="fc2")]
    )
    path = write(frame, tmp_path / "layers.parquet")
    with pytest.raises(ExternalDataError, match=r"'layer' holds \['fc1', 'fc2'\]: choose one with"):
        discover_points([tmp_path / "layers.parquet"], None, KEY)
    (point,) = discover_points([tmp_path / "layers.parquet"], "fc2", KEY)
    assert point["levels"] == [3]
    _, weights = read_point(path, layer="fc2")
    assert weights.shape == (8, 3, 3)


def test_external_points_check_targets_and_noise_against_the_config(tmp_path):
    write(snapshot_rows(noise=None), tmp_path / "w.parquet")
    experiment = {"source": str(tmp_path / "w.parquet"), "targets": "auto", "amplitude": "one"}
    assert len(external_points(KEY, experiment)) == 1
    with pytest.raises(ExternalDataError, match="which experiments.mine.amplitude = noise_squared"):
        external_points(KEY, {**experiment, "amplitude": "noise_squared"})
    with pytest.raises(ExternalDataError, match="has 2 levels .* experiments.mine.targets has 3"):
        external_points(KEY, {**experiment, "targets": [1.0, 1.0, 2.0]})


def npz_archive(path, replicas=3, snapshots=4, shape=(2, 2), **stored) -> np.ndarray:
    weights = np.random.default_rng(5).normal(size=(replicas, snapshots, *shape))
    np.savez(path, W=weights, **stored)
    return weights


def test_the_converter_writes_the_weights_format_one_point_per_archive(tmp_path):
    first = npz_archive(tmp_path / "a.npz", learning_rate=0.1, batch_size=16, step=[5, 6, 7, 8])
    npz_archive(tmp_path / "b.npz", batch_size=4)
    output = tmp_path / "weights.parquet"
    archives = [str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]
    assert convert_main([*archives, "-o", str(output), "--learning-rate", "0.1"]) == 0
    table = read_table(output, "simulate")  # the simulate table's schema
    assert len(table) == 2 * 3 * 4
    points = discover_points([output], None, KEY)
    assert [(p["batch_size"], p["noise"]) for p in points] == [(4, None), (16, None)]
    snapshots, weights = point_snapshots([str(output)], points[1], None, KEY, 2)
    np.testing.assert_array_equal(weights, first.reshape(12, 2, 2))
    assert list(snapshots["step"][:4]) == [5, 6, 7, 8]


@pytest.mark.parametrize(
    ("stored", "arguments", "message"),
    [
        ({}, [], "no 'learning_rate' in the archive; give --learning-rate"),
        (
            {"learning_rate": 0.2},
            ["--learning-rate", "0.1", "--batch-size", "4"],
            "is 0.2 in the archive but 0.1",
        ),
        (
            {"step": [1, 2]},
            ["--learning-rate", "0.1", "--batch-size", "4"],
            "2 steps for 4 snapshots",
        ),
    ],
)
def test_the_converter_names_what_is_missing_or_contradictory(
    tmp_path, capsys, stored, arguments, message
):
    npz_archive(tmp_path / "a.npz", **stored)
    output = tmp_path / "weights.parquet"
    assert convert_main([str(tmp_path / "a.npz"), "-o", str(output), *arguments]) == 1
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_the_converter_command_is_installed_and_documents_itself():
    result = subprocess.run(
        [sys.executable, "-m", "sgd_dyson.convert", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "(replicas, snapshots, rows, cols)" in result.stdout
    installed = subprocess.run(
        ["sgd-dyson-convert", "--help"], capture_output=True, text=True, check=True
    )
    assert installed.stdout == result.stdout


def test_eigenvalues_of_x_of_a_wide_matrix_are_its_squared_singular_values():
    weights = np.random.default_rng(2).normal(size=(5, 3, 7))
    np.testing.assert_allclose(gram_eigenvalues(weights), singular_values(weights) ** 2)


# --- End to end -------------------------------------------------------------------


def external_config(tmp_path, **experiment) -> Path:
    config = tmp_path / "external.yaml"
    config.write_text(
        yaml.safe_dump({"seed": 7, "experiments": {"mine": {"model": "external", **experiment}}})
    )
    return config


@pytest.mark.workflow
def test_external_weights_give_exactly_the_fits_of_the_same_weights_simulated(tiny_run, tmp_path):
    simulated = tiny_run / "results" / "online"
    config = external_config(
        tmp_path,
        source=str(simulated / "simulate" / "*.parquet"),
        targets=[2.0, 2.0],
        amplitude="noise_squared",
        burn_in=200,
    )
    # The tables only: no figure or report is asserted here.
    result = snakemake(tmp_path, "--until", "scaling", config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    imported = tmp_path / "results" / "mine"
    points = sorted(path.name for path in (simulated / "fit").iterdir())
    assert sorted(path.name for path in (imported / "fit").iterdir()) == points
    for name in points:
        pd.testing.assert_frame_equal(
            read_table(imported / "imported" / name, "simulate"),
            read_table(simulated / "simulate" / name, "simulate"),
        )
        for table in ("fit", "density_fit"):
            pd.testing.assert_frame_equal(
                read_table(imported / table / name, table),
                read_table(simulated / table / name, table),
            )
    lines = read_table(imported / "scaling_fit.parquet", "scaling_fit")
    reference = read_table(simulated / "scaling_fit.parquet", "scaling_fit")
    columns = ["quantity", "cluster", "slope", "slope_err", "chi2_dof", "n_points"]
    pd.testing.assert_frame_equal(lines[columns], reference[columns])
    assert lines["continuum_slope"].isna().all()  # no theory claimed for external weights


def own_training(folder: Path) -> list[Path]:
    """A user's own SGD code: online linear regression with label noise, saved as .npz.

    Teacher diag(2, 2, 3) (a degenerate pair and a single level), Gaussian
    inputs, labels with noise 0.3; 60 replicas per (α, |B|), a snapshot
    every 50 steps.
    """
    rng = np.random.default_rng(11)
    teacher = np.diag([2.0, 2.0, 3.0])
    archives = []
    for learning_rate, batch_size in [(0.1, 8), (0.1, 16), (0.2, 16)]:
        weights = rng.normal(0.0, 0.1, size=(60, 3, 3))
        snapshots = []
        for step in range(1, 401):
            inputs = rng.normal(size=(60, batch_size, 3))
            labels = inputs @ teacher.T + 0.3 * rng.normal(size=(60, batch_size, 3))
            errors = inputs @ np.swapaxes(weights, 1, 2) - labels
            weights -= learning_rate / batch_size * np.swapaxes(errors, 1, 2) @ inputs
            if step % 50 == 0:
                snapshots.append(weights.copy())
        archive = folder / f"run_{learning_rate}_{batch_size}.npz"
        np.savez(
            archive,
            W=np.stack(snapshots, axis=1),
            step=np.arange(50, 401, 50),
            learning_rate=learning_rate,
            batch_size=batch_size,
        )
        archives.append(archive)
    return archives


@pytest.mark.workflow
def test_npz_snapshots_of_own_code_run_through_to_the_report(tmp_path):
    archives = own_training(tmp_path)
    converted = subprocess.run(
        ["sgd-dyson-convert", *map(str, archives), "--noise", "0.3", "-o", "weights.parquet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert converted.returncode == 0, converted.stderr
    config = external_config(
        tmp_path,
        source="weights.parquet",
        targets="auto",
        amplitude="noise_squared",
        burn_in=200,
        fit={"error_groups": 20},
    )
    result = snakemake(tmp_path, config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    scaling = read_table(tmp_path / "results" / "mine" / "scaling.parquet", "scaling")
    assert sorted(scaling.drop_duplicates("cluster")["levels"]) == [1, 2]  # found in the gaps
    lines = read_table(tmp_path / "results" / "mine" / "scaling_fit.parquet", "scaling_fit")
    assert set(lines["cluster"]) == {0} and (lines["slope"] > 0).all()
    assert (tmp_path / "results" / "report.html").stat().st_size > 0


class Tensor:
    """Just enough of a PyTorch tensor for the README's export lines."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def double(self):
        return Tensor(self.array.astype(np.float64))

    def numpy(self):
        return self.array


class Model:
    def __init__(self, weights: np.ndarray):
        self.weights = weights

    def state_dict(self):
        return {"fc.weight": Tensor(self.weights), "fc.bias": Tensor(self.weights[:, 0])}


def test_the_readme_pytorch_export_writes_the_weights_format(tmp_path, monkeypatch):
    readme = (REPOSITORY / "README.md").read_text()
    start = readme.index("```python\nimport pandas as pd\n") + len("```python\n")
    export = readme[start : readme.index("```", start)]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    rng = np.random.default_rng(3)
    # Run the lines before the elided training loop, train, then the lines after it.
    before, after = export.split("# ... train")
    scope = {}
    exec(before, scope)
    for replica in range(3):
        for step in (10, 20):
            weights = rng.normal(size=(4, 5)).astype(np.float32)
            scope["snapshot"](Model(weights), replica, step, 0.1, 16)
    exec("# ... train" + after, scope)
    (point,) = discover_points([Path("runs/weights.parquet")], None, KEY)
    assert (point["replicas"], point["levels"], point["noise"]) == (3, [4], None)
    snapshots, matrices = point_snapshots(point["files"], point, None, KEY, 2)
    assert matrices.shape == (6, 4, 5)
