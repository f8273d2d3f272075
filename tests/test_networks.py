"""Specifications of the feed-forward teacher–student engine (`sgd_dyson.networks`).

Statistical tolerances are 4 standard errors in all (Bonferroni-split where a
test makes several comparisons; two-sided false-failure probability ~6e-5),
with errors from replica-level resampling: replicas are independent,
snapshots of one replica need not be.
"""

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
from model_runs import PHASE_NETWORK
from test_checkpoints import JobKilledError, KilledAfterSaves

from sgd_dyson import networks
from sgd_dyson.fits import spacing_and_width
from sgd_dyson.models import teacher_student
from sgd_dyson.network_data import injected_noise, learnable_views, shared_dataset, step_elements
from sgd_dyson.seeding import REPLICA_BLOCK
from sgd_dyson.simulation import Checkpoint
from sgd_dyson.spectra import singular_values
from sgd_dyson.statistics import equal_groups, jackknife

from tolerances import bonferroni_z

BASE = networks.NetworkRun(
    layers=(3, 4, 3, 2),
    activations=("tanh", "tanh", "identity"),
    learnable=(0, 2),
    teacher=None,
    init_width=1.0,
    noise_kind="injected",
    dataset="paper",
    dataset_draws=3,
    batches_per_epoch=20,
    steps=90,
    replicas=12,
    snapshot_every=30,
    divergence_threshold=1e3,
    loss_threshold=100.0,
    learning_rate=0.1,
    batch_size=4,
    noise=0.1,
    root_seed=20240723,
    point_seed=424242,
)
"""A small three-matrix network: a square and a rectangular learnable matrix, a fixed one."""


def settings(**changes) -> networks.NetworkRun:
    return replace(BASE, **changes)


def assert_same_snapshots(first: list, second: list) -> None:
    assert len(first) == len(second)
    for one, other in zip(first, second, strict=True):
        np.testing.assert_array_equal(one.steps, other.steps)
        np.testing.assert_array_equal(one.weights, other.weights)
        np.testing.assert_array_equal(one.replica, other.replica)
        np.testing.assert_array_equal(one.draw, other.draw)
        assert one.diverged_replicas == other.diverged_replicas
        assert one.first_divergence_step == other.first_divergence_step


# --- Activations and bad input ------------------------------------------------------------


def test_a_single_activation_name_is_used_after_every_matrix_but_a_linear_output():
    assert networks.activations_of("tanh", 3) == ("tanh", "tanh", "identity")
    assert networks.activations_of("relu", 1) == ("identity",)


def test_a_list_of_one_activation_per_matrix_is_taken_as_given():
    assert networks.activations_of(["erf", "relu"], 2) == ("erf", "relu")


def test_a_list_of_the_wrong_length_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"\['tanh', 'tanh'\] has 2 names .* 3 weight matrices"):
        networks.activations_of(["tanh", "tanh"], 3)


def test_an_unknown_activation_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'sigmoid' is not one of"):
        networks.activations_of("sigmoid", 2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learnable": (0, 3)}, r"learnable = \[0, 3\] names a matrix outside 0 … 2"),
        ({"learnable": ()}, r"learnable = \[\] must ascend"),
        ({"learnable": (2, 0)}, r"learnable = \[2, 0\] must ascend"),
        ({"teacher": ((1.0, 1.0),)}, r"teacher = .* must give \[3, 2\] singular values"),
        ({"activations": ("tanh", "identity")}, r"has 2 names but the network has 3"),
        ({"dataset": "shuffled"}, r"dataset = 'shuffled' is not one of"),
        ({"noise_kind": "weight"}, r"noise_kind = 'weight' is not one of"),
        ({"dataset_draws": 0}, r"dataset_draws = 0 must be ≥ 1"),
        ({"layers": (3,)}, r"layers = \[3\] needs ≥ 2 widths"),
        ({"batch_size": 0}, r"batch_size = 0 must be ≥ 1"),
    ],
)
def test_bad_settings_are_errors_naming_the_field_and_value(changes, message):
    with pytest.raises(ValueError, match=message):
        settings(**changes)


def test_settings_given_as_lists_are_stored_as_tuples():
    run = settings(layers=[3, 4, 3, 2], learnable=[0, 2], teacher=[[1, 2, 3], [4, 5]])
    assert run == settings(teacher=((1.0, 2.0, 3.0), (4.0, 5.0)))


# --- Backpropagation ------------------------------------------------------------------------

FINITE_DIFFERENCE_STEP = 1e-5
FINITE_DIFFERENCE_TOLERANCE = 1e-7
"""Central differences err by ``h² |∂³L|/6 ~ 1e-10`` (third derivatives of order 1) plus
rounding ``~1e-16 |L| / h ~ 1e-11``: 1e-7 leaves a factor 1000 above both."""


def random_network(generator, layers, replicas):
    return [
        generator.standard_normal((replicas, rows, cols)) / np.sqrt(cols)
        for rows, cols in zip(layers[1:], layers[:-1], strict=True)
    ]


@pytest.mark.parametrize("learnable", [(0,), (1,), (2,), (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("activation", list(networks.ACTIVATIONS))
def test_backpropagation_matches_central_differences_of_the_batch_loss(activation, learnable):
    generator = np.random.default_rng(7)
    layers, replicas, batch = (3, 5, 4, 2), 3, 6
    activations = (activation, activation, activation)  # a non-linear output too
    weights = random_network(generator, layers, replicas)
    inputs = generator.standard_normal((replicas, batch, layers[0]))
    labels = generator.standard_normal((replicas, batch, layers[-1]))
    loss, gradients = networks.loss_and_gradients(weights, activations, learnable, inputs, labels)

    def loss_at(matrix: int, row: int, col: int, shift: float) -> np.ndarray:
        shifted = [w.copy() for w in weights]
        shifted[matrix][:, row, col] += shift  # every replica at once: losses are per replica
        return networks.batch_loss(networks.network_outputs(shifted, activations, inputs), labels)

    np.testing.assert_allclose(
        loss, networks.batch_loss(networks.network_outputs(weights, activations, inputs), labels)
    )
    for matrix, gradient in zip(learnable, gradients, strict=True):
        assert gradient.shape == weights[matrix].shape
        for row, col in np.ndindex(*gradient.shape[1:]):
            h = FINITE_DIFFERENCE_STEP
            central = (loss_at(matrix, row, col, h) - loss_at(matrix, row, col, -h)) / (2 * h)
            np.testing.assert_allclose(
                gradient[:, row, col], central, rtol=0, atol=FINITE_DIFFERENCE_TOLERANCE
            )


# --- Quenched disorder, initial weights and noise ---------------------------------------------


def test_teacher_singular_values_are_the_given_ones():
    run = settings(teacher=((3.0, 2.0, 0.5), (1.5, 1.5)), dataset_draws=4)
    for matrix, values in zip(networks.quenched(run).teacher, run.teacher, strict=True):
        np.testing.assert_allclose(singular_values(matrix)[:, ::-1], [values] * 4, atol=1e-12)


def test_every_draw_of_dataset_draws_equal_to_replicas_has_its_own_fixed_matrix_and_teacher():
    run = settings(dataset_draws=12)
    disorder = networks.quenched(run)
    for matrix in disorder.replica_teacher_network():  # teacher and fixed matrices
        assert len({tuple(per_replica.ravel()) for per_replica in matrix}) == run.replicas
    np.testing.assert_array_equal(disorder.draw_of_replica, np.arange(12))
    np.testing.assert_array_equal(networks.simulate(run)[0].draw, np.arange(12))


def test_a_draw_keeps_its_disorder_when_draws_are_added():
    few, many = networks.quenched(settings(dataset_draws=2)), networks.quenched(settings())
    np.testing.assert_array_equal(few.fixed[1], many.fixed[1][:2])
    for one, other in zip(few.teacher, many.teacher, strict=True):
        np.testing.assert_array_equal(one, other[:2])


def test_initial_entries_have_variance_init_width_squared_over_fan_in():
    # 4000 replicas × 12 (or 6) entries of N(0, σ²/fan_in): the sample variance has
    # relative standard error sqrt(2/n) ≤ 0.9%; z = 4.2 of those (two comparisons).
    run = settings(replicas=4000, init_width=2.0)
    views = learnable_views(run, networks.initial_weights(run))
    z = bonferroni_z(2)
    for view, k in zip(views, run.learnable, strict=True):
        expected = run.init_width**2 / run.shapes[k][1]
        assert abs(view.var() / expected - 1) < z * np.sqrt(2 / view.size)


def test_injected_noise_is_goe_on_square_and_iid_normal_on_rectangular_matrices():
    # Batch mean of |B| = 4 matrices of scale ε = 0.1: variance ε²/|B| off the diagonal
    # and on rectangular matrices, twice that on a square one's diagonal. 20000 samples:
    # relative standard error of a variance sqrt(2/n) = 1%; 3 comparisons (Bonferroni).
    run = settings(layers=(3, 3, 3, 2), learnable=(1, 2))  # a 3×3 and a 2×3 matrix
    noise = injected_noise(run, np.random.default_rng(3), (20000,))
    square, rectangular = learnable_views(run, noise)
    variance = run.noise**2 / run.batch_size
    z, error = bonferroni_z(3), np.sqrt(2 / 20000)
    np.testing.assert_array_equal(square, square.swapaxes(-1, -2))
    assert abs(square[:, 0, 1].var() / variance - 1) < z * error
    assert abs(square[:, 1, 1].var() / (2 * variance) - 1) < z * error
    assert abs(rectangular[:, 1, 2].var() / variance - 1) < z * error


@pytest.mark.parametrize("dataset", ["paper", "per_replica"])
def test_a_finite_dataset_replays_its_batches_and_their_noise_every_epoch(dataset):
    run = settings(dataset=dataset, noise_kind="label" if dataset == "per_replica" else "injected")
    source = networks.batch_source(run, networks.quenched(run))
    epoch = run.batches_per_epoch
    first = source.chunk(0, epoch)
    source.start_epoch()
    second = source.chunk(epoch, epoch)
    for one, other in zip(first, second, strict=True):
        if one is not None:
            np.testing.assert_array_equal(one, other)
    features = first[0]  # (steps, replicas, batch, n_0): replicas 0 and 1 are of draw 0
    assert not np.array_equal(features[0], features[1])  # within an epoch batches differ
    assert np.array_equal(features[:, 0], features[:, 1]) == (dataset == "paper")


# --- Reproducibility ---------------------------------------------------------------------------

PROTOCOLS = [
    pytest.param({"dataset": "paper"}, id="paper-injected"),
    pytest.param({"dataset": "per_replica", "noise_kind": "label"}, id="per_replica-label"),
    pytest.param({"dataset": "online", "noise_kind": "none"}, id="online-none"),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_simulate_is_bit_identical_for_identical_settings(protocol):
    run = settings(**protocol)
    assert_same_snapshots(networks.simulate(run), networks.simulate(run))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_simulate_does_not_depend_on_how_steps_are_chunked(protocol, monkeypatch):
    run = settings(**protocol)
    reference = networks.simulate(run)
    # Chunks of 7 steps (epochs of 20 and snapshots every 30 do not divide into them).
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 7 * step_elements(run))
    assert_same_snapshots(networks.simulate(run), reference)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_more_replicas_keep_the_first_blocks_numbers(protocol):
    run = settings(**protocol, dataset_draws=1, replicas=REPLICA_BLOCK, steps=40, snapshot_every=20)
    fewer = networks.simulate(run)
    more = networks.simulate(replace(run, replicas=REPLICA_BLOCK + 30))
    for one, other in zip(fewer, more, strict=True):
        assert one.diverged_replicas == 0 and other.diverged_replicas == 0
        np.testing.assert_array_equal(one.weights, other.weights[:, :REPLICA_BLOCK])


def test_snapshots_are_the_learnable_matrices_of_the_same_survivors():
    first, last = networks.simulate(settings())
    assert first.weights.shape == (3, 12, 4, 3) and last.weights.shape == (3, 12, 2, 3)
    np.testing.assert_array_equal(first.steps, [30, 60, 90])
    np.testing.assert_array_equal(first.replica, last.replica)
    np.testing.assert_array_equal(first.draw, np.repeat([0, 1, 2], 4))


# --- Divergence -------------------------------------------------------------------------------


def test_a_learning_rate_far_beyond_stability_drops_every_replica():
    run = settings(activations=("identity",) * 3, learning_rate=50.0, loss_threshold=np.inf)
    for snapshots in networks.simulate(run):
        assert snapshots.diverged_replicas == run.replicas
        assert snapshots.weights.shape[1] == 0 and snapshots.replica.size == 0
        assert snapshots.first_divergence_step is not None


def test_a_batch_loss_above_the_threshold_drops_the_replica_at_that_step():
    # Any initial student has a positive batch loss, so all are dropped at the first step.
    snapshots = networks.simulate(settings(loss_threshold=1e-12))[0]
    assert snapshots.diverged_replicas == BASE.replicas
    assert snapshots.first_divergence_step == 1


# --- Checkpoints ------------------------------------------------------------------------------

CHECKPOINTED = {
    "paper protocol, injected noise": settings(steps=100, snapshot_every=50),
    "per-replica label noise": settings(
        dataset="per_replica", noise_kind="label", steps=100, snapshot_every=100
    ),
    "some replicas diverge": settings(
        activations=("identity",) * 3, learning_rate=0.6, steps=100, replicas=40, dataset="online"
    ),
}


@pytest.mark.parametrize("saves", [1, 3])
@pytest.mark.parametrize("case", CHECKPOINTED)
def test_a_killed_run_resumes_to_identical_snapshots(case, saves, tmp_path, monkeypatch):
    run = CHECKPOINTED[case]
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 9 * step_elements(run))
    path = tmp_path / "point.npz"
    with pytest.raises(JobKilledError):
        networks.simulate(run, KilledAfterSaves(path, saves))
    resumed = networks.simulate(run, Checkpoint(path, fingerprint="run", interval=1e9))
    assert_same_snapshots(resumed, networks.simulate(run))


def test_the_diverging_case_diverges_before_and_after_a_kill(monkeypatch):
    run = CHECKPOINTED["some replicas diverge"]
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 9 * step_elements(run))
    early = networks.simulate(replace(run, steps=20, snapshot_every=20))[0].diverged_replicas
    late = networks.simulate(run)[0].diverged_replicas
    assert 0 < early < late < run.replicas


# --- The linear limit ---------------------------------------------------------------------------

LINEAR = dict(
    dataset="online",
    dataset_draws=1,
    batches_per_epoch=50,
    steps=2000,
    replicas=400,
    snapshot_every=50,
    divergence_threshold=1e3,
    learning_rate=0.1,
    batch_size=16,
    noise=0.1,
    root_seed=20240723,
)
"""N = 2, W* of singular values (2, 2): relaxation time 1/α = 10 steps, so snapshots from
step 300 on are stationary (the initial distance decays by 0.9³⁰⁰ ~ 1e-14) and 50 steps
apart nearly independent; 400 replicas × 34 snapshots."""
BURN_IN = 300


def spacing_and_width_with_errors(snapshots) -> tuple[np.ndarray, np.ndarray]:
    """``[⟨S⟩, x0, σ]`` of the singular-value pair after `BURN_IN`, jackknifed over replicas."""
    levels = singular_values(snapshots.weights[snapshots.steps >= BURN_IN])
    groups = equal_groups(np.tile(snapshots.replica, len(levels)), 50)
    return jackknife(spacing_and_width, levels.reshape(-1, 2), groups)


def linear_and_network(noise_kind: str) -> tuple:
    linear = teacher_student.TeacherStudentRun(
        teacher=(2.0, 2.0), noise_kind=noise_kind, init_scale=0.1, point_seed=1, **LINEAR
    )
    network = networks.NetworkRun(
        layers=(2, 2),
        activations=("identity",),
        learnable=(0,),
        teacher=((2.0, 2.0),),
        noise_kind=noise_kind,
        loss_threshold=np.inf,
        init_width=0.1 * np.sqrt(2.0),  # entries N(0, 0.1²), as the linear model's
        point_seed=2,
        **LINEAR,
    )
    (snapshots,) = networks.simulate(network)
    return (
        spacing_and_width_with_errors(teacher_student.simulate(linear)),
        spacing_and_width_with_errors(snapshots),
    )


@pytest.mark.parametrize("noise_kind", ["injected", "label"])
def test_one_square_layer_has_the_linear_models_spacing_and_width(noise_kind):
    # The network's teacher is U diag(2, 2) Uᵀ with U Haar; in its frame, UᵀWU, both
    # the data (isotropic x, ξ) and the GOE noise have the law of the linear model's.
    (linear, linear_error), (network, network_error) = linear_and_network(noise_kind)
    z = bonferroni_z(2)
    for index in (0, 2):  # ⟨S⟩ and σ
        combined = np.hypot(linear_error[index], network_error[index])
        assert abs(network[index] - linear[index]) < z * combined


def test_a_square_teacher_shares_its_left_and_right_frames():
    disorder = networks.quenched(settings(layers=(3, 3, 3, 2), teacher=((2.0, 1.0, 0.5), (1, 1))))
    square = disorder.teacher[0]
    np.testing.assert_allclose(square, square.swapaxes(-1, -2), atol=1e-13)


# --- The phase-diagram network -----------------------------------------------------------------

PHASE_DIAGRAM = PHASE_NETWORK
"""arXiv:2509.01349's network: 3 → 32 → 16 → 1, only the middle matrix trained, noise-free
labels, 1000 batches of 4 in fixed order; every replica its own M, W*, Z and data."""


def training_loss(run: networks.NetworkRun, learnable: np.ndarray) -> np.ndarray:
    """``½ mean |y − ŷ|²`` over each replica's whole dataset: ``(replicas,)``.

    The dataset's features enter the trained matrix (index 1) of each replica's student.
    """
    disorder = networks.quenched(run)
    teacher = partial(networks.teacher_pass, disorder.teacher_network(), run.activations, 1)
    features, labels = shared_dataset(run, teacher)
    student = disorder.student_network([learnable])[1:]
    outputs = networks.network_outputs(
        student, run.activations[1:], features.reshape(run.replicas, -1, run.layers[1])
    )
    return networks.batch_loss(outputs, labels.reshape(run.replicas, -1, run.layers[-1]))


def test_the_phase_diagram_network_learns_at_a_small_learning_rate():
    # Measured: initial losses 0.03–1, after 3000 steps ≤ 1e-3, every replica down by
    # 160× or more; the learned regime's loss keeps falling epoch after epoch.
    run = PHASE_DIAGRAM
    (snapshots,) = networks.simulate(run)
    assert snapshots.diverged_replicas == 0
    initial = training_loss(run, networks.initial_weights(run).reshape(run.replicas, 16, 32))
    losses = np.stack([training_loss(run, weights) for weights in snapshots.weights])
    assert np.all(losses[-1] < 1e-2 * initial)
    assert np.all(np.diff(losses, axis=0) < 0)
