"""Stage phase: the observables of one phase-diagram cell, per replica and per cell.

A cell of the SGD phase diagram (arXiv:2509.01349) is one `networks.NetworkRun`: a
learning rate α and an initialisation width σ_W at a fixed batch size |B|. Its
network has one learnable matrix ``W`` ``(K, L)`` between fixed layers, ``h₂ =
f(W h₁)``, and a linear read-out ``ŷ = Z h₂`` after it (`phase_architecture`). The
observables (`sgd_dyson.phase`) follow the authors' analysis notebook
(chanjure/phase_ml, ``empirical_phase.ipynb``): evaluated on fixed test inputs ``x ~
N(0, I)``, comparing the final network with its own initialisation (step 0, same
seeds) and with its draw's teacher. Replicas that diverged are not in the snapshots
and enter only as a count (the notebook keeps a stopped model's last weights).
"""

from collections.abc import Mapping
from dataclasses import replace
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import canonical
from ..models.base import run_of
from ..network_data import learnable_views
from ..networks import (
    NetworkRun,
    Quenched,
    batch_source,
    forward,
    initial_weights,
    loss_and_gradients,
    quenched,
)
from ..phase import (
    alignment,
    drift_contrast,
    eigenframe_moments,
    is_ordered,
    mean_squared_error,
    noise_sum,
    overlap,
    phase_architecture,
    spacing_growth_rate,
)
from ..seeding import Stream, seed_sequence
from ..simulation import Snapshots
from ..tables import layer_tables, weight_matrices
from . import simulate

TEST_INPUTS = 128
"""Test inputs of the observables, as in the notebook."""

OBSERVABLES = [
    "test_mse",
    "training_loss",
    "gradient_norm",
    "overlap",
    "alignment",
    "alignment_per_unit",
    "teacher_alignment",
    "spacing_growth_rate",
    "drift_contrast",
    "noise_sum",
    "noise_sum_corrected",
]
"""The real-valued per-replica observables, in the column order of `replica_table`."""

REPLICA_COLUMNS = ["replica", "draw", "step", *OBSERVABLES, "ordered"]
"""The columns of `replica_table`."""

CELL_COLUMNS = [
    "learning_rate",
    "batch_size",
    "init_width",
    "temperature",
    "inverse_init_width",
    "replicas",
    "diverged_replicas",
    *[name for observable in OBSERVABLES for name in (observable, f"{observable}_err")],
    "test_mse_median",
    "ordered_fraction",
    "ordered_fraction_err",
]
"""The columns of `cell_table`: per observable its mean over replicas and the standard error."""

# Regime thresholds (`regime`). The learned phase reaches a test MSE ~1e-7 after 10⁵
# epochs, and already ~1e-5 after 50–100 (the default run's reduced scale); the
# disordered and frozen phases stay at 1e-3–1e-1 (science: the phases).
LEARNED_MAX_TEST_MSE = 1e-4
"""Largest median test MSE of a learned cell: two decades below the unlearned 1e-2, so that
the reduced-scale run (10² epochs, test MSE ~1e-5 where it learns) is classified too."""
LEARNED_MIN_ALIGNMENT_RATIO = 0.9
"""Smallest ``hs / hs*`` of a learned cell, ``hs*`` the teacher's own alignment (the value of a
student that has learned the teacher's second layer)."""
DISORDERED_MIN_TEMPERATURE = 1.0
"""Smallest T = α/|B| of a disordered cell (the paper: T ≳ 1)."""
DISORDERED_MAX_OVERLAP = 0.1
"""Largest |q| of a disordered cell (the paper: q ≈ 0; frozen cells have q ~ 0.6–0.8)."""
FROZEN_MAX_INVERSE_SCALE = 0.25
"""Largest 1/σ_W of a frozen cell (the paper: 1/σ_W ≪ 1)."""
FROZEN_MIN_OVERLAP = 0.5
"""Smallest q of a frozen cell (the paper: q ~ 0.6–0.8)."""
REGIMES = ("learned", "disordered", "frozen", "unclassified")


# --- The network of a phase-diagram cell ----------------------------------------------------


def fixed_test_inputs(run: NetworkRun, count: int = TEST_INPUTS) -> np.ndarray:
    """``count`` test inputs ``x ~ N(0, I_{n_0})``: ``(count, n_0)``.

    One set for every replica and draw of the point (the notebook uses one set for
    all models), from ``seed_sequence(root_seed, point_seed, 0, 0, Stream.TEST_INPUTS)``.
    """
    if count < 2:
        raise ValueError(f"test_inputs = {count} must be ≥ 2")
    generator = np.random.default_rng(
        seed_sequence(run.root_seed, run.point_seed, 0, 0, Stream.TEST_INPUTS)
    )
    return generator.standard_normal((count, run.layers[0]))


def survivors_disorder(run: NetworkRun, draws: np.ndarray) -> Quenched:
    """The quenched disorder of ``run`` with one entry per surviving replica of draws ``draws``."""
    return replace(quenched(run), draw_of_replica=np.asarray(draws))


def training_data(run: NetworkRun, disorder: Quenched) -> tuple[np.ndarray, np.ndarray] | None:
    """Each replica's whole ``paper`` dataset: features ``(replicas, samples, n_k)``, labels.

    The features enter the learnable matrix ``k``, the labels are ``(replicas,
    samples, n_L)`` (`network_data.shared_dataset`, through `networks.batch_source`);
    one row per entry of ``disorder.draw_of_replica``. None for the other protocols,
    which have no fixed dataset.
    """
    if run.dataset != "paper":
        return None
    source = batch_source(run, disorder)
    return tuple(
        array.reshape(array.shape[0], -1, array.shape[-1])[disorder.draw_of_replica]
        for array in (source.features, source.labels)
    )


# --- Observables --------------------------------------------------------------------------------


def per_sample_gradients(
    weights: list[np.ndarray],
    activations: tuple[str, ...],
    features: np.ndarray,
    labels: np.ndarray,
) -> np.ndarray:
    """``g_n = ∇_W ½ |y_n − ŷ_n|²`` of the first matrix of ``weights``, each sample alone.

    ``weights`` ``[(replicas, rows, cols)]`` are the matrices from the learnable one
    up, ``features`` ``(replicas, samples, cols)`` the activations entering it,
    ``labels`` ``(replicas, samples, n_L)``. Every sample is a batch of one
    (`networks.loss_and_gradients`, broadcast over a sample axis). Returns
    ``(replicas, samples, rows, cols)``; the notebook's ``grad`` is ``−g_n``.
    """
    _, (gradients,) = loss_and_gradients(
        [matrix[:, None] for matrix in weights],
        activations,
        (0,),
        features[:, :, None],
        labels[:, :, None],
    )
    return gradients


def observables(
    run: NetworkRun,
    disorder: Quenched,
    initial: np.ndarray,
    final: np.ndarray,
    inputs: np.ndarray,
    training: tuple[np.ndarray, np.ndarray] | None,
    epochs: float,
) -> dict[str, np.ndarray]:
    """Every per-replica observable (`OBSERVABLES` and ``ordered``): ``{name: (replicas,)}``.

    ``initial`` and ``final`` are the learnable matrix ``W`` ``(replicas, K, L)`` at
    step 0 and at the end, ``disorder`` has one draw per replica (`survivors_disorder`),
    ``inputs`` ``(n, n_0)`` are the test inputs and ``epochs`` the training time
    between ``initial`` and ``final``. On the test inputs, with ``h₂⁰, h₂, h₂*`` the
    layer after ``W`` of the initial, final and teacher network: ``test_mse``,
    ``overlap`` q of ``h₂⁰`` and ``h₂``, ``alignment`` (hs) and ``alignment_per_unit``
    of ``h₂`` with ``H = y* Z``, ``teacher_alignment`` that of ``h₂*`` (hs of a student
    equal to its teacher), and the drift-versus-noise terms from the per-sample
    gradients at ``final`` (`per_sample_gradients`): ``drift_contrast`` K_t,
    ``noise_sum`` V_t as coded, ``noise_sum_corrected``, and ``ordered``, the
    criterion with the coded V_t (`phase.is_ordered`, σ_W = ``init_width``).
    ``training_loss`` ``½ mean_n |y − ŷ|²`` and ``gradient_norm`` ``‖∇_W‖_F`` are those
    of the whole ``training`` dataset at ``final``: the notebook's are the averages
    over the last epoch's batches, whose weights move within the epoch; with
    ``training=None`` both are on the test inputs. ``spacing_growth_rate`` is the
    "Lyapunov" rate of the levels of ``W Wᵀ`` from ``initial`` to ``final``.
    """
    learnable = phase_architecture(run)
    teacher = forward(disorder.replica_teacher_network(), run.activations, inputs).post
    student = disorder.student_network([final])
    final_layers = forward(student, run.activations, inputs).post
    initial_layers = forward(disorder.student_network([initial]), run.activations, inputs).post
    teacher_outputs, hidden, readout = teacher[-1], final_layers[learnable + 1], student[-1]
    trained, trained_activations = student[learnable:], run.activations[learnable:]
    if training is None:
        training = final_layers[learnable], teacher_outputs
    features, labels = training
    training_loss, (gradient,) = loss_and_gradients(
        trained, trained_activations, (0,), features, labels
    )
    sample_gradients = per_sample_gradients(
        trained, trained_activations, final_layers[learnable], teacher_outputs
    )
    moments = eigenframe_moments(final, sample_gradients)
    rows, cols = run.shapes[learnable]
    values = {
        "test_mse": mean_squared_error(teacher_outputs, final_layers[-1]),
        "training_loss": training_loss,
        "gradient_norm": np.linalg.norm(gradient, axis=(-2, -1)),
        "overlap": overlap(initial_layers[learnable + 1], hidden),
        "alignment": alignment(teacher_outputs, readout, hidden),
        "alignment_per_unit": alignment(teacher_outputs, readout, hidden, "per_unit"),
        "teacher_alignment": alignment(teacher_outputs, readout, teacher[learnable + 1]),
        "spacing_growth_rate": spacing_growth_rate(initial, final, epochs),
        "drift_contrast": drift_contrast(moments.drift),
        "noise_sum": noise_sum(moments.noise),
        "noise_sum_corrected": noise_sum(moments.noise, "corrected"),
    }
    values["ordered"] = is_ordered(
        values["drift_contrast"],
        values["noise_sum"],
        levels=rows,
        width_ratio=cols / rows,
        learning_rate=run.learning_rate,
        batch_size=run.batch_size,
        init_width=run.init_width,
    )
    return values


def replica_table(
    run: NetworkRun,
    snapshots: list[Snapshots],
    test_inputs: int = TEST_INPUTS,
    epochs: float | None = None,
) -> pd.DataFrame:
    """One row per surviving replica of a cell (`REPLICA_COLUMNS`), at its last snapshot.

    ``snapshots`` is `networks.simulate`'s result for ``run`` (one `Snapshots`, the
    learnable matrix); the initial weights are `networks.initial_weights` (step 0, the
    same seeds), the fixed matrices and teachers `networks.quenched`. ``test_inputs``
    inputs are shared by all replicas (`fixed_test_inputs`); the training loss and gradient
    norm are on each draw's dataset for the ``paper`` protocol, else on the test inputs
    (`observables`). ``epochs`` is the training time of the spacing growth rate,
    by default the last snapshot's step over ``batches_per_epoch``. ``step`` is the
    last snapshot's step.
    """
    phase_architecture(run)
    if len(snapshots) != 1:
        raise ValueError(
            f"snapshots must hold one Snapshots per learnable matrix, got {len(snapshots)}"
        )
    (kept,) = snapshots
    step = int(kept.steps[-1])
    if epochs is None:
        epochs = step / run.batches_per_epoch
    if len(kept.replica) == 0:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in _dtypes().items()})
    disorder = survivors_disorder(run, kept.draw)
    (initial,) = learnable_views(run, initial_weights(run)[kept.replica])
    values = observables(
        run,
        disorder,
        initial,
        kept.weights[-1],
        fixed_test_inputs(run, test_inputs),
        training_data(run, disorder),
        epochs,
    )
    table = pd.DataFrame({"replica": kept.replica, "draw": kept.draw, "step": step, **values})
    return table.astype(_dtypes())[REPLICA_COLUMNS]


def _dtypes() -> dict[str, str]:
    """The dtype of every column of `replica_table`."""
    identifiers = {"replica": "int64", "draw": "int64", "step": "int64"}
    return identifiers | dict.fromkeys(OBSERVABLES, "float64") | {"ordered": "bool"}


# --- The cell ---------------------------------------------------------------------------------


def mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """The mean of ``values`` ``(replicas,)`` and its standard error ``s/√n`` (``ddof = 1``).

    NaN for the mean without replicas, for the error with fewer than two.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def cell_table(replicas: pd.DataFrame, run: NetworkRun, diverged_replicas: int) -> pd.DataFrame:
    """One row (`CELL_COLUMNS`) summarising a cell's `replica_table` over its replicas.

    The point: ``learning_rate`` α, ``batch_size`` |B|, ``init_width`` σ_W,
    ``temperature`` T = α/|B| and ``inverse_init_width`` 1/σ_W (the map's axes);
    ``replicas`` the survivors, ``diverged_replicas`` those dropped in training.
    Per observable its mean over the survivors and ``_err``, the standard error of
    that mean (`mean_and_error`), plus the ``test_mse_median`` (the test MSE spans
    decades across replicas) and ``ordered_fraction``, the fraction of survivors
    passing the criterion (`phase.ordered_fraction`), with its standard error.
    """
    missing = [name for name in REPLICA_COLUMNS if name not in replicas]
    if missing:
        raise ValueError(f"replicas lacks the replica_table columns {missing}")
    if not run.init_width > 0:
        raise ValueError(f"init_width = {run.init_width} must be positive: the map's x is 1/σ_W")
    row = {
        "learning_rate": run.learning_rate,
        "batch_size": run.batch_size,
        "init_width": run.init_width,
        "temperature": run.learning_rate / run.batch_size,
        "inverse_init_width": 1.0 / run.init_width,
        "replicas": len(replicas),
        "diverged_replicas": diverged_replicas,
    }
    for name in [*OBSERVABLES, "ordered"]:
        column = "ordered_fraction" if name == "ordered" else name
        row[column], row[f"{column}_err"] = mean_and_error(replicas[name].to_numpy(dtype=float))
    row["test_mse_median"] = float(replicas["test_mse"].median()) if len(replicas) else float("nan")
    return pd.DataFrame([row])[CELL_COLUMNS]


def regime(cell: Mapping | pd.Series) -> str:
    """The phase a cell's means point to: one of `REGIMES`.

    ``learned``, ``disordered``, ``frozen`` or ``unclassified``, read from a `cell_table`
    row in this order (the thresholds are this module's
    constants):

    - ``learned``: ``test_mse_median ≤ LEARNED_MAX_TEST_MSE`` and the mean alignment at
      least ``LEARNED_MIN_ALIGNMENT_RATIO`` of the teacher's own;
    - ``disordered``: ``T ≥ DISORDERED_MIN_TEMPERATURE`` and ``|q| ≤ DISORDERED_MAX_OVERLAP``;
    - ``frozen``: ``1/σ_W ≤ FROZEN_MAX_INVERSE_SCALE`` and ``q ≥ FROZEN_MIN_OVERLAP``;
    - ``unclassified``: none of these, or no surviving replica (NaN means).

    A label summarises the cell's means and says nothing of its spread: cells near a
    boundary may hold replicas of several phases.
    """
    learned = (
        cell["test_mse_median"] <= LEARNED_MAX_TEST_MSE
        and cell["alignment"] >= LEARNED_MIN_ALIGNMENT_RATIO * cell["teacher_alignment"]
    )
    if learned:
        return "learned"
    if (
        cell["temperature"] >= DISORDERED_MIN_TEMPERATURE
        and abs(cell["overlap"]) <= DISORDERED_MAX_OVERLAP
    ):
        return "disordered"
    if (
        cell["inverse_init_width"] <= FROZEN_MAX_INVERSE_SCALE
        and cell["overlap"] >= FROZEN_MIN_OVERLAP
    ):
        return "frozen"
    return "unclassified"


# --- The rule's step --------------------------------------------------------------------------


def settings(experiment: dict, point: dict) -> dict:
    """What the phase stage reads: the point's run (stage simulate's) and its test inputs."""
    return canonical(
        {
            "run": simulate.settings(experiment, point),
            "test_inputs": experiment["phase_diagram"]["test_inputs"],
        }
    )


def final_snapshots(table: pa.Table, path: str | PathLike, run: NetworkRun) -> Snapshots:
    """The last snapshot of the learnable matrix in a simulate ``table`` (its file ``path``)."""
    (layer,) = run.learnable
    rows = layer_tables(table).get(layer)
    if rows is None or rows.num_rows == 0:  # every replica diverged
        return Snapshots(
            steps=np.array([run.steps]),
            weights=np.empty((1, 0, *run.shapes[layer])),
            replica=np.empty(0, dtype=int),
            draw=np.empty(0, dtype=int),
            diverged_replicas=run.replicas,
            first_divergence_step=None,
        )
    steps = rows.column("step").to_numpy()
    last = rows.filter(pa.array(steps == steps.max()))
    replica = last.column("replica").to_numpy()
    order = np.argsort(replica)
    return Snapshots(
        steps=np.array([steps.max()]),
        weights=weight_matrices(last, path)[order][None],
        replica=replica[order],
        draw=last.column("draw").to_numpy()[order],
        diverged_replicas=run.replicas - replica.size,
        first_divergence_step=None,
    )


def tables(
    table: pa.Table, path: str | PathLike, settings: dict, point: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``phase_replica`` and ``phase_cell`` tables of one point's simulate table.

    `replica_table` of the final snapshot (`final_snapshots`) and its `cell_table`,
    with the point's id and the cell's `regime`.
    """
    run = run_of(NetworkRun, settings["run"])
    snapshots = final_snapshots(table, path, run)
    replicas = replica_table(run, [snapshots], settings["test_inputs"])
    cell = cell_table(replicas, run, snapshots.diverged_replicas)
    cell["regime"] = cell.apply(regime, axis=1)
    identity = {"point": point["point"]}
    return replicas.assign(**identity), cell.assign(**identity)
