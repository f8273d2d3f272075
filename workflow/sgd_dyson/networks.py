"""Feed-forward teacher–student networks trained by mini-batch SGD, vectorised over replicas.

Architecture ``layers = (n_0, …, n_L)``: weight matrix ``k`` is ``W_k`` of shape
``(n_{k+1}, n_k)``, ``h_{k+1} = f_k(W_k h_k)``, ``h_0 = x``, output ``ŷ = h_L``,
no biases (the multilayer SGD phase-diagram study, arXiv:2509.01349: 3 → 32 →
16 → 1, tanh, only the middle matrix trained). Teacher and student share the
architecture and the fixed (not learnable) matrices; the student's learnable
matrices follow ``W ← W − α ∇_W`` on the batch loss ``½ mean_b |y_b − ŷ_b|²``
(or another rule of `optimizers`: momentum, Adam, AdamW).

Samples are rows: activations are ``(replicas, batch, n_k)`` and
``z_{k+1} = h_k W_kᵀ``. Backpropagation, with ``δ_{k+1} = ∂loss/∂z_{k+1}``:
``δ_L = (ŷ − y) ⊙ f'_{L−1}(z_L) / |B|``, ``δ_k = (δ_{k+1} W_k) ⊙ f'_{k−1}(z_k)``
and ``∇_{W_k} loss = Σ_b δ_{k+1,b}ᵀ h_{k,b}``, one batched matmul per layer.

Quenched disorder: the replicas are split over ``dataset_draws`` draws
(`seeding.draw_sizes`), and each draw has its own fixed matrices, teacher and,
for the ``paper`` protocol, dataset (`quenched`, `network_data.shared_dataset`).
"""

from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

import numpy as np
from scipy import special

from .network_data import BatchSource, learnable_views, step_elements
from .optimizers import checked, optimizer_of
from .sampling import haar_orthogonal
from .seeding import ReplicaStream, Stream, draw_of_replica, draw_sizes, seed_sequence
from .simulation import Checkpoint, Snapshots, Trajectory, diverged

CHUNK_ELEMENTS = 2**20
"""Upper bound on the elements of one chunk's per-step arrays (`network_data.step_elements`)."""

NOISE_KINDS = ("none", "label", "injected")
DATASETS = ("paper", "per_replica", "online")


# --- Activations ----------------------------------------------------------------------


def _identity(pre: np.ndarray) -> np.ndarray:
    return pre


def _relu(pre: np.ndarray) -> np.ndarray:
    return np.maximum(pre, 0.0)


def _tanh_slope(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """``tanh' = 1 − tanh²``, from the activation already computed."""
    return 1.0 - post * post


def _relu_slope(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """The step function ``[z > 0]`` (0 at the kink)."""
    return (pre > 0.0).astype(pre.dtype)


def _erf_slope(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """``erf'(z) = (2/√π) exp(−z²)``."""
    return (2.0 / np.sqrt(np.pi)) * np.exp(-pre * pre)


ACTIVATIONS = {
    "identity": (_identity, None),
    "tanh": (np.tanh, _tanh_slope),
    "relu": (_relu, _relu_slope),
    "erf": (special.erf, _erf_slope),
}
"""Activation name → (``f(z)``, ``f'(z)`` from ``(z, f(z))``; None for the identity's 1)."""


def activations_of(activation: str | list[str] | tuple[str, ...], matrices: int) -> tuple[str, ...]:
    """The activation after each of ``matrices`` weight matrices.

    A single name is that name after every matrix but the last and the
    identity at the output (a linear read-out); a sequence of ``matrices``
    names is taken as given.
    """
    if isinstance(activation, str):
        names = (activation,) * (matrices - 1) + ("identity",)
    elif len(activation) == matrices:
        names = tuple(activation)
    else:
        raise ValueError(
            f"activation = {list(activation)} has {len(activation)} names "
            f"but the network has {matrices} weight matrices"
        )
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"activation = {unknown[0]!r} is not one of {list(ACTIVATIONS)}")
    return names


# --- Forward pass and backpropagation --------------------------------------------------


class Layers(NamedTuple):
    """A forward pass: ``pre[k] = z_{k+1} = h_k W_kᵀ`` and ``post[k] = h_k`` (``post[0] = x``)."""

    pre: list[np.ndarray]  # L arrays (..., batch, n_{k+1})
    post: list[np.ndarray]  # L + 1 arrays (..., batch, n_k)


def forward(weights: list[np.ndarray], activations: tuple[str, ...], inputs: np.ndarray) -> Layers:
    """``h_{k+1} = f_k(h_k W_kᵀ)`` through ``weights`` ``[(..., n_{k+1}, n_k)]``.

    ``inputs`` is ``(..., batch, n_0)``; the leading axes (replicas, or steps
    and replicas) broadcast against the weights'. An empty ``weights`` returns
    the inputs.
    """
    pre, post = [], [inputs]
    for matrix, name in zip(weights, activations, strict=True):
        pre.append(post[-1] @ matrix.swapaxes(-1, -2))
        post.append(ACTIVATIONS[name][0](pre[-1]))
    return Layers(pre, post)


def network_outputs(
    weights: list[np.ndarray], activations: tuple[str, ...], inputs: np.ndarray
) -> np.ndarray:
    """The network's outputs ``ŷ = h_L`` (`forward`): ``(..., batch, n_L)``."""
    return forward(weights, activations, inputs).post[-1]


def teacher_pass(
    weights: list[np.ndarray], activations: tuple[str, ...], lowest: int, inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(h_lowest, ŷ)`` of one forward pass (`forward`) of inputs ``(..., batch, n_0)``.

    ``h_lowest`` are the features entering matrix ``lowest``: below the
    lowest learnable matrix the teacher's layers are the student's.
    """
    post = forward(weights, activations, inputs).post
    return post[lowest], post[-1]


def chunk_teacher_pass(
    weights: list[np.ndarray], activations: tuple[str, ...], lowest: int, inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`teacher_pass` of a chunk's inputs ``(steps, replicas, batch, n_0)``.

    ``weights`` are per replica, ``[(replicas, n_{k+1}, n_k)]``. Computed
    replica-major with the chunk's steps and batches stacked: one matrix
    product per replica and layer for the whole chunk instead of one per step.
    """
    steps, replicas, batch, width = inputs.shape
    stacked = inputs.swapaxes(0, 1).reshape(replicas, steps * batch, width)
    return tuple(
        array.reshape(replicas, steps, batch, -1).swapaxes(0, 1)
        for array in teacher_pass(weights, activations, lowest, stacked)
    )


def batch_loss(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``½ mean_b |y_b − ŷ_b|²`` of ``(..., batch, n_L)`` outputs and labels: ``(...)``."""
    return 0.5 * np.square(outputs - labels).sum(axis=(-2, -1)) / outputs.shape[-2]


def loss_and_gradients(
    weights: list[np.ndarray],
    activations: tuple[str, ...],
    learnable: tuple[int, ...],
    inputs: np.ndarray,
    labels: np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The batch loss ``(replicas,)`` and its gradient for each matrix in ``learnable``.

    Backpropagation (module docstring) from the output down to the lowest
    learnable matrix only. ``weights`` ``[(replicas, n_{k+1}, n_k)]``,
    ``inputs`` ``(replicas, batch, n_0)``, ``labels`` ``(replicas, batch, n_L)``,
    ``learnable`` ascending; the gradients are ``(replicas, n_{k+1}, n_k)`` in
    ``learnable`` order.
    """
    layers = forward(weights, activations, inputs)
    outputs = layers.post[-1]
    delta = (outputs - labels) / outputs.shape[-2]  # ∂loss/∂ŷ
    gradients = {}
    for k in range(len(weights) - 1, learnable[0] - 1, -1):
        slope = ACTIVATIONS[activations[k]][1]
        if slope is not None:
            delta = delta * slope(layers.pre[k], layers.post[k + 1])  # now ∂loss/∂z_{k+1}
        if k in learnable:
            gradients[k] = delta.swapaxes(-1, -2) @ layers.post[k]
        if k > learnable[0]:
            delta = delta @ weights[k]  # ∂loss/∂h_k
    return batch_loss(outputs, labels), [gradients[k] for k in learnable]


# --- The run and its quenched disorder ---------------------------------------------------


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"NetworkRun: {name} = {value!r} is not one of {list(options)}")


@dataclass(frozen=True)
class NetworkRun:
    """Everything that determines one sweep point's network simulation (units: SGD steps).

    ``teacher`` gives, per learnable matrix (in ``learnable`` order), the
    singular values of the teacher's matrix, ``min(rows, cols)`` of them
    (`teacher_matrices`); None draws its entries ``N(0, 1/fan_in)``.
    ``loss_threshold`` drops a replica whose batch loss exceeds it (the
    phase-diagram study stops at 100; ``inf`` never drops on the loss).
    Lists are accepted and stored as tuples; bad values raise ``ValueError``
    naming the field.
    """

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    learnable: tuple[int, ...]
    teacher: tuple[tuple[float, ...], ...] | None
    init_width: float
    noise_kind: str
    dataset: str
    dataset_draws: int
    batches_per_epoch: int
    steps: int
    replicas: int
    snapshot_every: int
    divergence_threshold: float
    loss_threshold: float
    learning_rate: float
    batch_size: int
    noise: float
    root_seed: int
    point_seed: int
    optimizer: dict | None = None
    """The optimiser's settings (`optimizers`); None: plain SGD."""

    def __post_init__(self):
        canonical = {
            "layers": tuple(int(width) for width in self.layers),
            "activations": tuple(self.activations),
            "learnable": tuple(int(index) for index in self.learnable),
            "teacher": None
            if self.teacher is None
            else tuple(tuple(float(s) for s in values) for values in self.teacher),
        }
        for name, value in canonical.items():
            object.__setattr__(self, name, value)
        self._check()

    def _check(self) -> None:
        if len(self.layers) < 2 or min(self.layers) < 1:
            raise ValueError(f"NetworkRun: layers = {list(self.layers)} needs ≥ 2 widths ≥ 1")
        activations_of(self.activations, self.matrices)
        learnable = self.learnable
        if not learnable or list(learnable) != sorted(set(learnable)):
            raise ValueError(f"NetworkRun: learnable = {list(learnable)} must ascend, non-empty")
        if learnable[0] < 0 or learnable[-1] >= self.matrices:
            raise ValueError(
                f"NetworkRun: learnable = {list(learnable)} names a matrix outside "
                f"0 … {self.matrices - 1}"
            )
        if self.teacher is not None:
            expected = [min(self.shapes[k]) for k in learnable]
            if [len(values) for values in self.teacher] != expected:
                raise ValueError(
                    f"NetworkRun: teacher = {[list(v) for v in self.teacher]} must give "
                    f"{expected} singular values for the learnable matrices {list(learnable)}"
                )
        _choice("noise_kind", self.noise_kind, NOISE_KINDS)
        _choice("dataset", self.dataset, DATASETS)
        # More draws than replicas is allowed: the flow rerun keeps the point's first
        # replicas, each in its own draw, and the later draws are empty.
        for name in ("dataset_draws", "batches_per_epoch", "steps", "snapshot_every", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"NetworkRun: {name} = {getattr(self, name)} must be ≥ 1")
        try:
            checked(self.optimizer)
        except ValueError as error:
            raise ValueError(f"NetworkRun: {error}") from None

    @property
    def matrices(self) -> int:
        """The number L of weight matrices."""
        return len(self.layers) - 1

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(n_{k+1}, n_k)`` of every weight matrix."""
        return list(zip(self.layers[1:], self.layers[:-1], strict=True))

    @property
    def parameters(self) -> int:
        """Entries of the learnable matrices: the length P of a replica's flat state."""
        return sum(self.shapes[k][0] * self.shapes[k][1] for k in self.learnable)


def teacher_matrices(run: NetworkRun, generator: np.random.Generator) -> list[np.ndarray]:
    """One draw's teacher matrices, in ``learnable`` order.

    ``teacher=None``: entries ``N(0, 1/fan_in)``. Else ``W* = U diag(s) Vᵀ``
    with ``U`` (``rows×rows``) and ``V`` (``cols×cols``) Haar-random, drawn in
    that order (`sampling.haar_orthogonal`), and ``s`` the given
    singular values on the first ``min(rows, cols)`` columns of both. A square
    matrix has ``V = U`` (one frame drawn): the law of the injected GOE noise
    is invariant under ``W → U W Uᵀ`` only; in the frame ``UᵀWV`` it would be
    ``UᵀV · GOE``, and the singular values' spread would depend on ``UᵀV`` (a
    reflection cuts a pair's mean spacing by a third). With ``V = U`` one
    square layer is the linear model's ``W* = diag(s)`` seen in another frame.
    """
    matrices = []
    for index, k in enumerate(run.learnable):
        rows, cols = run.shapes[k]
        if run.teacher is None:
            matrices.append(generator.standard_normal((rows, cols)) / np.sqrt(cols))
            continue
        values = np.asarray(run.teacher[index])
        left = haar_orthogonal(generator, rows)
        right = left if rows == cols else haar_orthogonal(generator, cols)
        matrices.append((left[:, : values.size] * values) @ right[:, : values.size].T)
    return matrices


def fixed_matrices(run: NetworkRun, generator: np.random.Generator) -> list[np.ndarray]:
    """One draw's fixed matrices, in index order, with entries ``N(0, 1/fan_in)``."""
    return [
        generator.standard_normal(run.shapes[k]) / np.sqrt(run.shapes[k][1])
        for k in range(run.matrices)
        if k not in run.learnable
    ]


@dataclass(frozen=True)
class Quenched:
    """The quenched disorder of a run: per draw, the fixed matrices and the teacher.

    ``fixed`` maps each fixed matrix's index to ``(draws, rows, cols)``;
    ``teacher`` holds the teacher's learnable matrices ``(draws, rows, cols)``
    in ``learnable`` order; ``draw_of_replica`` ``(replicas,)`` ascends.
    """

    fixed: dict[int, np.ndarray]
    teacher: tuple[np.ndarray, ...]
    draw_of_replica: np.ndarray

    def _assembled(self, fixed: dict[int, np.ndarray], learnable: list[np.ndarray]) -> list:
        trained = iter(learnable)
        matrices = len(fixed) + len(learnable)
        return [fixed[k] if k in fixed else next(trained) for k in range(matrices)]

    def teacher_network(self) -> list[np.ndarray]:
        """The teacher of every draw: all matrices, ``(draws, rows, cols)``."""
        return self._assembled(self.fixed, list(self.teacher))

    def replica_teacher_network(self) -> list[np.ndarray]:
        """The teacher of every replica's draw: all matrices, ``(replicas, rows, cols)``."""
        return [matrix[self.draw_of_replica] for matrix in self.teacher_network()]

    def student_network(self, learnable: list[np.ndarray]) -> list[np.ndarray]:
        """All matrices ``(replicas, rows, cols)``: ``learnable`` and the draws' fixed ones."""
        fixed = {k: matrix[self.draw_of_replica] for k, matrix in self.fixed.items()}
        return self._assembled(fixed, learnable)


def quenched(run: NetworkRun) -> Quenched:
    """The fixed matrices and the teacher of every draw of ``run``.

    Per draw ``d``: the fixed matrices (`fixed_matrices`) from
    ``seed_sequence(root_seed, point_seed, d, 0, Stream.FIXED_LAYERS)`` and the
    teacher (`teacher_matrices`) from ``Stream.TEACHER_LAYERS``, so a draw's
    disorder depends neither on the replica count nor on the other draws.
    With ``dataset_draws = replicas`` every replica has its own.
    """

    def generator(draw: int, stream: Stream) -> np.random.Generator:
        return np.random.default_rng(seed_sequence(run.root_seed, run.point_seed, draw, 0, stream))

    draws = range(run.dataset_draws)
    fixed = [fixed_matrices(run, generator(d, Stream.FIXED_LAYERS)) for d in draws]
    teacher = [teacher_matrices(run, generator(d, Stream.TEACHER_LAYERS)) for d in draws]
    fixed_indices = [k for k in range(run.matrices) if k not in run.learnable]
    return Quenched(
        fixed={
            k: np.stack(matrices)
            for k, matrices in zip(fixed_indices, zip(*fixed, strict=True), strict=True)
        },
        teacher=tuple(np.stack(matrices) for matrices in zip(*teacher, strict=True)),
        draw_of_replica=draw_of_replica(run.replicas, run.dataset_draws),
    )


def initial_weights(run: NetworkRun) -> np.ndarray:
    """The students' learnable matrices at step 0, packed (`learnable_views`): ``(replicas, P)``.

    Entries ``N(0, init_width²/fan_in)``; the normals come per replica block
    from ``Stream.INITIAL_WEIGHTS`` (`seeding.ReplicaStream`), so adding
    replicas keeps the earlier blocks' students.
    """
    stream = ReplicaStream(
        run.root_seed,
        run.point_seed,
        draw_sizes(run.replicas, run.dataset_draws),
        (Stream.INITIAL_WEIGHTS,),
    )
    weights = stream.sample(
        lambda generator, shape: generator.standard_normal((*shape, run.parameters)), 1
    )[0]
    for view, k in zip(learnable_views(run, weights), run.learnable, strict=True):
        view *= run.init_width / np.sqrt(run.shapes[k][1])
    return weights


def batch_source(run: NetworkRun, disorder: Quenched) -> BatchSource:
    """The data of ``run``'s training, through its teachers (`network_data.BatchSource`).

    The paper protocol's datasets go through each draw's teacher once; the
    other protocols' samples through each replica's, chunk by chunk.
    """
    if run.dataset == "paper":
        teacher, teacher_of = disorder.teacher_network(), teacher_pass
    else:
        teacher, teacher_of = disorder.replica_teacher_network(), chunk_teacher_pass
    return BatchSource(
        run,
        disorder.draw_of_replica,
        partial(teacher_of, teacher, run.activations, run.learnable[0]),
    )


# --- Training -------------------------------------------------------------------------------


def simulate(run: NetworkRun, checkpoint: Checkpoint | None = None) -> list[Snapshots]:
    """Train ``run.replicas`` students by SGD; one `Snapshots` per learnable matrix.

    Every step ``W ← W − α (∇_W loss + Ā)`` on the learnable matrices
    (`loss_and_gradients`; ``Ā`` the injected noise, if any), or the step of
    the run's optimiser with that gradient (`optimizers`). The layers below
    the lowest learnable matrix are fixed, so their activations come with the
    data (`network_data.BatchSource`). A replica whose batch loss exceeds
    ``loss_threshold`` at a step, or whose weights are found diverged
    (`simulation.diverged`) at a chunk's end, is counted, reset to zero at the
    chunk's end with its optimiser state (so its numbers cannot overflow) and
    left out of every snapshot. The state is the packed ``(replicas, P)``
    weights (`learnable_views`) and the optimiser's arrays of that shape; with
    a ``checkpoint`` the loop saves them with every stream and resumes from a
    previous save (`simulation.Trajectory`). The `Snapshots` share steps,
    replicas and draws; their ``weights`` are ``(snapshots, survivors, rows,
    cols)``, in ``learnable`` order.
    """
    disorder = quenched(run)
    source = batch_source(run, disorder)
    lowest = run.learnable[0]
    weights = initial_weights(run)
    optimizer = optimizer_of(run.optimizer, run.learning_rate, weights.shape)
    trained = disorder.student_network(learnable_views(run, weights))[lowest:]
    trained_activations = run.activations[lowest:]
    trained_learnable = tuple(k - lowest for k in run.learnable)
    state = {"weights": weights, **optimizer.state}
    trajectory = Trajectory(run.steps, run.snapshot_every, state, source.streams, checkpoint)
    epoch = None if run.dataset == "online" else run.batches_per_epoch
    max_chunk = max(1, CHUNK_ELEMENTS // step_elements(run))
    for first, end in trajectory.remaining_chunks(epoch, max_chunk):
        if epoch is not None and first % epoch == 0:
            source.start_epoch()
        features, labels, noise = source.chunk(first, end - first)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(end - first):
                loss, gradients = loss_and_gradients(
                    trained, trained_activations, trained_learnable, features[t], labels[t]
                )
                gradient = np.concatenate([g.reshape(run.replicas, -1) for g in gradients], axis=1)
                if noise is not None:
                    gradient += noise[t]
                optimizer.update(weights, gradient, first + t + 1)
                exceeded = loss > run.loss_threshold
                if exceeded.any():
                    trajectory.mark_diverged(exceeded, first + t + 1)
        trajectory.mark_diverged(diverged(weights, run.divergence_threshold), end)
        weights[trajectory.is_diverged] = 0.0
        optimizer.reset(trajectory.is_diverged)
        trajectory.end_chunk(end, weights)
    kept = trajectory.snapshots(disorder.draw_of_replica)
    return [replace(kept, weights=view) for view in learnable_views(run, kept.weights)]
