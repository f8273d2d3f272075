"""Specifications of a phase-diagram cell's tables (`stages.phase`) and maps (`plotting.phase`).

The network tests run the paper's architecture (3 → 32 → 16 → 1, tanh, only the
middle matrix trained) for a few hundred steps on a few replicas with fixed seeds;
their claims are exact identities or measured margins of more than a decade.
"""

from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from matplotlib.contour import ContourSet
from model_runs import PHASE_NETWORK

from sgd_dyson import networks
from sgd_dyson.network_data import learnable_views
from sgd_dyson.phase import CONTOUR_LEVELS
from sgd_dyson.plotting import phase as maps
from sgd_dyson.stages import phase as stage

RUN = replace(
    PHASE_NETWORK,
    dataset_draws=6,
    batches_per_epoch=100,
    steps=400,
    replicas=6,
    snapshot_every=200,
    point_seed=5,
)
"""The phase-diagram network, every replica its own draw, four epochs of 100 batches of 4."""


@pytest.fixture(scope="module")
def trained() -> list:
    return networks.simulate(RUN)


@pytest.fixture(scope="module")
def table(trained) -> pd.DataFrame:
    return stage.replica_table(RUN, trained)


class Cell:
    """The observables of `RUN`'s replicas for any final weights (`stages.phase.observables`)."""

    def __init__(self, snapshots):
        self.disorder = stage.survivors_disorder(RUN, snapshots.draw)
        (self.initial,) = learnable_views(RUN, networks.initial_weights(RUN)[snapshots.replica])
        self.inputs = stage.fixed_test_inputs(RUN)
        self.training = stage.training_data(RUN, self.disorder)

    def at(self, final: np.ndarray, training: bool = True) -> dict:
        data = self.training if training else None
        return stage.observables(RUN, self.disorder, self.initial, final, self.inputs, data, 4.0)


@pytest.fixture(scope="module")
def cell(trained) -> Cell:
    return Cell(trained[0])


# --- The replica table of a real run ------------------------------------------------------------


def test_the_replica_table_has_one_row_of_finite_values_per_surviving_replica(trained, table):
    (snapshots,) = trained
    assert list(table.columns) == stage.REPLICA_COLUMNS
    np.testing.assert_array_equal(table["replica"], snapshots.replica)
    np.testing.assert_array_equal(table["draw"], snapshots.draw)
    assert (table["step"] == RUN.steps).all()
    assert np.isfinite(table[stage.OBSERVABLES].to_numpy()).all()
    assert table["ordered"].dtype == bool


def test_dropped_replicas_leave_the_survivors_rows_unchanged(table):
    # A loss threshold of 0.3 drops replica 1 at its first batches (measured: its initial
    # batch losses exceed 0.3, the others' never do); every replica has its own draw, so
    # the survivors train exactly as before and must keep their rows.
    (snapshots,) = networks.simulate(replace(RUN, loss_threshold=0.3))
    assert snapshots.diverged_replicas == 1
    survivors = stage.replica_table(replace(RUN, loss_threshold=0.3), [snapshots])
    assert survivors["replica"].tolist() == [0, 2, 3, 4, 5]
    expected = table[table["replica"] != 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(survivors, expected, rtol=1e-12)


def test_a_cell_without_survivors_has_an_empty_table_with_every_column():
    (snapshots,) = networks.simulate(replace(RUN, loss_threshold=1e-6, steps=10, snapshot_every=10))
    empty = stage.replica_table(RUN, [snapshots])
    assert empty.empty and list(empty.columns) == stage.REPLICA_COLUMNS
    cell = stage.cell_table(empty, RUN, snapshots.diverged_replicas).iloc[0]
    assert cell["replicas"] == 0 and cell["diverged_replicas"] == RUN.replicas
    assert np.isnan(cell["test_mse"]) and stage.regime(cell) == "unclassified"


def test_the_initial_network_overlaps_itself_by_its_mean_square_second_layer(cell):
    values = cell.at(cell.initial)
    # h₂⁰ = tanh(W₀ tanh(M x)), written out here without the engine's forward pass.
    fixed_first = cell.disorder.fixed[0][cell.disorder.draw_of_replica]
    first = np.tanh(np.einsum("rli,ni->rnl", fixed_first, cell.inputs))
    second = np.tanh(np.einsum("rkl,rnl->rnk", cell.initial, first))
    np.testing.assert_allclose(values["overlap"], np.mean(second**2, axis=(1, 2)), rtol=1e-12)
    np.testing.assert_array_equal(values["spacing_growth_rate"], 0.0)


def test_a_student_equal_to_its_teacher_has_no_error_no_gradient_and_the_teachers_alignment(cell):
    teacher = cell.disorder.teacher[0][cell.disorder.draw_of_replica]
    values = cell.at(teacher)
    np.testing.assert_array_equal(values["test_mse"], 0.0)
    np.testing.assert_array_equal(values["training_loss"], 0.0)
    np.testing.assert_array_equal(values["gradient_norm"], 0.0)
    np.testing.assert_allclose(values["alignment"], values["teacher_alignment"], rtol=1e-12)


def test_learning_at_a_small_learning_rate_lowers_the_test_error(cell, table):
    # Measured: after 4 epochs at α = 0.05 the test MSE is 16–220 times below its initial
    # value in every replica; a factor 5 leaves a margin of 3 or more.
    initial = cell.at(cell.initial)["test_mse"]
    assert np.all(table["test_mse"].to_numpy() < initial / 5)


def test_ordered_is_the_criterion_with_the_coded_noise_sum(table):
    # K_t/(√r (K − 1)) ≥ T V_t/(4σ_W²), r = 32/16, K = 16, T = α/|B|, σ_W = init_width.
    drift_side = table["drift_contrast"] / (np.sqrt(2.0) * 15)
    noise_side = RUN.learning_rate / RUN.batch_size * table["noise_sum"] / (4 * RUN.init_width**2)
    np.testing.assert_array_equal(table["ordered"], drift_side >= noise_side)


def test_per_sample_gradients_are_minus_the_notebooks_grad(trained, cell):
    # The notebook: φ = (y* − ŷ) Z ⊙ tanh'(W s₀), grad = φ ⊗ s₀, with s₀ = tanh(M x).
    final = trained[0].weights[-1]
    draws = cell.disorder.draw_of_replica
    fixed_first, readout = (cell.disorder.fixed[k][draws] for k in (0, 2))
    s0 = np.tanh(np.einsum("rli,ni->rnl", fixed_first, cell.inputs))
    student_pre = np.einsum("rkl,rnl->rnk", final, s0)
    teacher_hidden = np.tanh(np.einsum("rkl,rnl->rnk", cell.disorder.teacher[0][draws], s0))
    residual = np.einsum("rok,rnk->rno", readout, teacher_hidden - np.tanh(student_pre))
    phi = np.einsum("rno,rok->rnk", residual, readout) * (1 - np.tanh(student_pre) ** 2)
    notebook = np.einsum("rnk,rnl->rnkl", phi, s0)
    labels = np.einsum("rok,rnk->rno", readout, teacher_hidden)
    gradients = stage.per_sample_gradients([final, readout], RUN.activations[1:], s0, labels)
    np.testing.assert_allclose(gradients, -notebook, rtol=1e-10, atol=1e-15)


def test_without_a_dataset_the_gradient_norm_is_that_of_the_mean_test_gradient(trained, cell):
    final = trained[0].weights[-1]
    draws = cell.disorder.draw_of_replica
    fixed_first, readout = (cell.disorder.fixed[k][draws] for k in (0, 2))
    s0 = np.tanh(np.einsum("rli,ni->rnl", fixed_first, cell.inputs))
    teacher_hidden = np.tanh(np.einsum("rkl,rnl->rnk", cell.disorder.teacher[0][draws], s0))
    labels = np.einsum("rok,rnk->rno", readout, teacher_hidden)
    gradients = stage.per_sample_gradients([final, readout], RUN.activations[1:], s0, labels)
    values = cell.at(final, training=False)
    expected = np.linalg.norm(gradients.mean(axis=1), axis=(-2, -1))
    np.testing.assert_allclose(values["gradient_norm"], expected, rtol=1e-10)


def test_the_test_inputs_are_fixed_by_the_point_and_shared_by_its_replicas():
    inputs = stage.fixed_test_inputs(RUN, 8)
    assert inputs.shape == (8, 3)
    np.testing.assert_array_equal(
        inputs, stage.fixed_test_inputs(replace(RUN, replicas=2, dataset_draws=1), 8)
    )
    assert not np.array_equal(inputs, stage.fixed_test_inputs(replace(RUN, point_seed=6), 8))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": (3, 4, 3, 2), "learnable": (0, 2)}, "one learnable matrix"),
        ({"layers": (3, 32, 16), "activations": ("tanh", "identity")}, "linear read-out"),
        ({"activations": ("tanh", "tanh", "tanh")}, "linear read-out"),
        ({"layers": (3, 32, 1, 1)}, "K ≥ 2"),
    ],
)
def test_an_architecture_without_the_observables_is_an_error_naming_why(changes, message):
    with pytest.raises(ValueError, match=message):
        stage.phase_architecture(replace(RUN, **changes))


def test_snapshots_of_several_matrices_are_an_error(trained):
    with pytest.raises(ValueError, match="one Snapshots per learnable matrix, got 2"):
        stage.replica_table(RUN, [trained[0], trained[0]])


# --- The cell table and the regime ---------------------------------------------------------------


def hand_made_replicas(rows: int) -> pd.DataFrame:
    values = {
        name: np.arange(rows, dtype=float) + index for index, name in enumerate(stage.OBSERVABLES)
    }
    values["test_mse"] = 10.0 ** -np.arange(rows, dtype=float)  # 1, 0.1, 0.01
    return pd.DataFrame(
        {
            "replica": np.arange(rows),
            "draw": np.arange(rows),
            "step": 400,
            **values,
            "ordered": np.arange(rows) % 2 == 0,
        }
    )[stage.REPLICA_COLUMNS]


def test_the_cell_table_holds_the_point_and_the_means_with_their_standard_errors():
    run = replace(RUN, learning_rate=0.5, batch_size=4, init_width=4.0)
    cell = stage.cell_table(hand_made_replicas(3), run, diverged_replicas=2)
    assert list(cell.columns) == stage.CELL_COLUMNS and len(cell) == 1
    row = cell.iloc[0]
    assert (row["temperature"], row["inverse_init_width"]) == (0.125, 0.25)
    assert (row["replicas"], row["diverged_replicas"]) == (3, 2)
    # overlap is 3, 4, 5 (the 4th observable): mean 4, s = 1, error 1/√3.
    assert row["overlap"] == pytest.approx(4.0, rel=1e-14)
    assert row["overlap_err"] == pytest.approx(1 / np.sqrt(3), rel=1e-14)
    assert row["test_mse"] == pytest.approx(0.37, rel=1e-14)
    assert row["test_mse_median"] == pytest.approx(0.1, rel=1e-14)
    # ordered: True, False, True.
    assert row["ordered_fraction"] == pytest.approx(2 / 3, rel=1e-14)
    assert row["ordered_fraction_err"] == pytest.approx(np.sqrt(1 / 3) / np.sqrt(3), rel=1e-14)


def test_one_replica_has_a_mean_but_no_standard_error():
    row = stage.cell_table(hand_made_replicas(1), RUN, diverged_replicas=0).iloc[0]
    assert row["overlap"] == 3.0 and np.isnan(row["overlap_err"])


def test_a_replica_table_without_a_column_is_an_error_naming_it():
    with pytest.raises(ValueError, match="overlap"):
        stage.cell_table(hand_made_replicas(2).drop(columns="overlap"), RUN, 0)


LEARNED = {
    "test_mse_median": 1e-7,
    "alignment": 2.0e-3,
    "teacher_alignment": 2.1e-3,
    "temperature": 0.01,
    "inverse_init_width": 2.0,
    "overlap": 0.05,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "learned"),
        ({"alignment": 1.0e-3}, "unclassified"),  # low error but half the teacher's alignment
        ({"test_mse_median": 1e-2, "temperature": 4.0}, "disordered"),
        ({"test_mse_median": 1e-2, "temperature": 4.0, "overlap": 0.3}, "unclassified"),
        ({"test_mse_median": 3e-2, "inverse_init_width": 0.125, "overlap": 0.7}, "frozen"),
        ({"test_mse_median": 3e-2, "inverse_init_width": 1.0, "overlap": 0.7}, "unclassified"),
        ({"test_mse_median": np.nan, "alignment": np.nan, "overlap": np.nan}, "unclassified"),
    ],
)
def test_the_regime_of_a_hand_made_cell(changes, expected):
    assert stage.regime(pd.Series(LEARNED | changes)) == expected


# --- The maps ------------------------------------------------------------------------------------


def synthetic_cells() -> pd.DataFrame:
    """3 × 3 cells; the ordered fraction falls with T from 1 to 0.9 to 0, crossing every level."""
    inverse_scales, temperatures = np.meshgrid([1.0, 2.0, 4.0], [0.25, 0.5, 1.0])
    fraction = np.array([1.0, 0.9, 0.0])[:, None] * np.ones(3)
    return pd.DataFrame(
        {
            "inverse_init_width": inverse_scales.ravel(),
            "temperature": temperatures.ravel(),
            "test_mse_median": 10.0 ** -np.arange(9.0),
            "overlap": np.linspace(0, 0.8, 9),
            "alignment": np.linspace(5e-4, 2e-3, 9),
            "spacing_growth_rate": np.linspace(-1e-4, 1e-4, 9),
            "ordered_fraction": fraction.ravel(),
            "replicas": 10,
        }
    )


def map_axes(figure) -> list:
    """The axes with a heat map (the colour bars have none)."""
    return [axes for axes in figure.axes if axes.collections and axes.get_xscale() == "log"]


def assert_line_and_contours(axes) -> None:
    lines = [line for line in axes.lines if line.get_gid() == "bimodal_line"]
    assert len(lines) == 1
    np.testing.assert_allclose(lines[0].get_xdata(), np.sqrt(2.0))
    contours = [item for item in axes.collections if item.get_gid() == "ordered_contours"]
    assert len(contours) == 1 and isinstance(contours[0], ContourSet)
    np.testing.assert_allclose(contours[0].levels, CONTOUR_LEVELS)


def test_the_phase_maps_draw_four_maps_with_the_root_two_line_and_the_contours():
    figure = maps.phase_maps(synthetic_cells())
    panels = map_axes(figure)
    assert [axes.get_title() for axes in panels] == [title for title, _ in maps.MAP_PANELS.values()]
    for axes in panels:
        assert_line_and_contours(axes)


def test_the_ordered_fraction_map_draws_the_fraction_the_line_and_the_contours():
    figure = maps.ordered_fraction_map(synthetic_cells())
    (axes,) = map_axes(figure)
    assert_line_and_contours(axes)


def test_the_frozen_corner_hides_the_contours_of_the_phase_maps_only():
    cells = synthetic_cells()
    cells["temperature"] /= 64  # every T · (1/σ_W) ≤ 4/64: the whole map is the frozen corner
    for axes in map_axes(maps.phase_maps(cells)):
        assert not [item for item in axes.collections if item.get_gid() == "ordered_contours"]
    (axes,) = map_axes(maps.ordered_fraction_map(cells))
    assert_line_and_contours(axes)


def test_cells_are_centred_in_rectangles_half_way_to_their_neighbours_in_log2():
    np.testing.assert_allclose(
        maps.log2_edges(np.array([1.0, 2.0, 8.0])), 2.0 ** np.array([-0.5, 0.5, 2.0, 4.0])
    )
    np.testing.assert_allclose(maps.log2_edges(np.array([4.0])), 2.0 ** np.array([1.5, 2.5]))


def test_two_cells_at_one_place_are_an_error_naming_it():
    cells = synthetic_cells()
    with pytest.raises(ValueError, match=r"\(1\.0, 0\.25\)"):
        maps.phase_maps(pd.concat([cells, cells.iloc[:1]]))


def test_a_cell_whose_every_replica_diverged_has_a_cell_row_and_no_replica_rows():
    empty = pa.table({"replica": pa.array([], pa.int64()), "layer": pa.array([], pa.int64())})
    snapshots = stage.final_snapshots(empty, "empty.parquet", RUN)
    assert snapshots.weights.shape == (1, 0, 16, 32)
    assert snapshots.diverged_replicas == RUN.replicas
    replicas, cell = stage.tables(
        empty, "empty.parquet", {"run": asdict(RUN), "test_inputs": 8}, {"point": "p"}
    )
    assert replicas.empty and cell["replicas"].tolist() == [0]
    assert cell["diverged_replicas"].tolist() == [RUN.replicas]
    assert cell["regime"].tolist() == ["unclassified"]
