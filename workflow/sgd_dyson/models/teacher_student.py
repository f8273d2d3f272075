"""The teacher–student model trained by mini-batch SGD (`optimizers`), vectorised over replicas.

Teacher ``y = Z W* x`` (plus label noise ``ε ξ``), student ``ŷ = Z W x``, loss
per sample ``½ |y − ŷ|²`` (Aarts, Lucini & Park 2025; with a fixed hidden layer
``Z``, Park et al. 2024). ``Z`` is an ``N×N`` matrix shared by teacher and
student and never trained; ``Z = I`` is the model without a hidden layer. With
``y − ŷ = Z (W* − W) x + ε ξ`` the per-sample gradient is
``∇_W loss = ZᵀZ (W − W*) x xᵀ − ε Zᵀ ξ xᵀ``, and with ``x ~ N(0, I)`` the
mini-batch gradient depends on the batch only through second moments:

    mean_b ∇_W loss = ZᵀZ (W − W*) Ĉ_xx − ε Zᵀ Ĉ_ξx + Ā,

with ``Ĉ_xx = mean_b x_b x_bᵀ``, ``Ĉ_ξx = mean_b ξ_b x_bᵀ`` (label noise) and
``Ā`` the batch mean of the per-sample GOE matrices (injected noise, added to
the gradient as is, so no ``Z``; a mean of ``|B|`` GOE matrices of scale ε is
one GOE matrix of scale ε/√|B|). Sampling these moments directly is exact in
distribution and keeps memory independent of ``|B|``. Weights are
``(replicas, N, N)`` arrays, replicas on axis 0.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import momentum_theory, theory
from ..composed_sgd import composed_steps
from ..optimizers import SGD, Optimizer, is_plain_sgd, no_theory_reason, optimizer_of
from ..sampling import batch_second_moments, goe_matrices, haar_orthogonal
from ..seeding import ReplicaStream, Stream, draw_of_replica, draw_sizes, seed_sequence
from ..simulation import Checkpoint, Snapshots, Trajectory, diverged, gaussian_initial_weights
from .base import ConfigError, Labels, Model, run_of, sgd_labels, simulated_description

CHUNK_ELEMENTS = 2**20
"""Upper bound on the elements of one chunk's per-step random arrays (memory, and speed:
8 MB arrays stay in cache; 2**22 was 15% slower for N = 10 with 500 replicas)."""
EPOCH_NOISE_BYTES = 2**28
"""Largest replayed epoch of injected noise kept in memory instead of redrawn every epoch."""


@dataclass(frozen=True)
class TeacherStudentRun:
    """Everything that determines one sweep point's simulation (units: SGD steps)."""

    teacher: tuple[float, ...]
    noise_kind: str
    dataset: str
    dataset_draws: int
    batches_per_epoch: int
    steps: int
    replicas: int
    init_scale: float
    snapshot_every: int
    divergence_threshold: float
    learning_rate: float
    batch_size: int
    noise: float
    root_seed: int
    point_seed: int
    hidden: tuple[float, ...] | None = None
    """Singular values of the hidden layer ``Z`` (`hidden_matrix`); None: ``Z = I``."""
    optimizer: dict | None = None
    """The optimiser's settings (`optimizers`); None: plain SGD."""

    @property
    def size(self) -> int:
        return len(self.teacher)


def teacher_matrix(singular_values: tuple[float, ...]) -> np.ndarray:
    """The teacher ``W* = diag(singular_values)``; with isotropic data its frame is irrelevant."""
    return np.diag(np.asarray(singular_values, dtype=float))


def hidden_matrix(singular_values: tuple[float, ...], root_seed: int) -> np.ndarray:
    """The fixed hidden layer ``Z = U diag(singular_values) Vᵀ``, ``U``, ``V`` Haar-random.

    The frames come from the stream ``seed_sequence(root_seed, 0, 0, 0,
    Stream.HIDDEN_FRAME)`` (``U`` first, then ``V``), so ``Z`` depends on the
    root seed and the singular values only (their order included): every
    point of a study, and every replica, sees the same ``Z``. The frame matters:
    ``ZᵀZ = V diag(z²) Vᵀ`` sets the directions of the student's fast and slow modes
    relative to the teacher's. Unit singular values give an orthogonal ``Z``,
    under which the model's law is that of ``Z = I`` (the random numbers differ).
    """
    values = np.asarray(singular_values, dtype=float)
    generator = np.random.default_rng(seed_sequence(root_seed, 0, 0, 0, Stream.HIDDEN_FRAME))
    left = haar_orthogonal(generator, values.size)
    right = haar_orthogonal(generator, values.size)
    return (left * values) @ right.T


def hidden_layer(run: TeacherStudentRun) -> np.ndarray | None:
    """``Z`` of ``run`` (`hidden_matrix`), or None without a hidden layer."""
    return None if run.hidden is None else hidden_matrix(run.hidden, run.root_seed)


class _BatchSource:
    """The per-step random inputs of SGD for one protocol: (Ĉ_xx, additive term).

    Returns, for a chunk of ``steps`` consecutive steps, ``input_moment`` and
    ``additive``, both ``(steps, replicas, N, N)``. The additive term is the
    gradient's: ``Ā`` (injected) or ``−ε Zᵀ Ĉ_ξx`` (label), with ``Z`` the
    hidden layer (`hidden`, None for ``Z = I``).
    """

    def __init__(self, run: TeacherStudentRun):
        self.run = run
        self.hidden = hidden_layer(run)
        sizes = draw_sizes(run.replicas, run.dataset_draws)
        self.draw_of_replica = draw_of_replica(run.replicas, run.dataset_draws)
        # Label noise enters through the joint moments of u = [x; ξ].
        self.moment_dim = run.size * (2 if run.noise_kind == "label" else 1)
        self.moments = partial(batch_second_moments, dim=self.moment_dim, batch_size=run.batch_size)
        self.data = self.noise = None
        if run.dataset == "paper":
            self.shared = np.stack(
                [self._shared_dataset(draw) for draw in range(run.dataset_draws)]
            )
        else:
            self.data = ReplicaStream(
                run.root_seed,
                run.point_seed,
                sizes,
                (Stream.DATASET_NORMAL, Stream.DATASET_CHISQUARE),
            )
        if run.noise_kind == "injected":
            self.noise = ReplicaStream(run.root_seed, run.point_seed, sizes, (Stream.NOISE,))
        # A finite dataset replays the same noise every epoch: draw it once if it fits.
        epoch_bytes = 8 * run.batches_per_epoch * run.replicas * run.size**2
        self.keeps_epoch_noise = (
            self.noise is not None and self.replays_epochs and epoch_bytes <= EPOCH_NOISE_BYTES
        )
        self.epoch_noise = None

    @property
    def streams(self) -> list[ReplicaStream]:
        """The per-replica streams drawn from during training (checkpointed)."""
        return [stream for stream in (self.data, self.noise) if stream is not None]

    def _shared_dataset(self, draw: int) -> np.ndarray:
        """Second moments of every batch of one draw's dataset: ``(batches, d, d)``."""
        normal, chisquare = (
            np.random.default_rng(
                seed_sequence(self.run.root_seed, self.run.point_seed, draw, 0, s)
            )
            for s in (Stream.SHARED_DATASET_NORMAL, Stream.SHARED_DATASET_CHISQUARE)
        )
        return self.moments(normal, chisquare, (self.run.batches_per_epoch,))

    @property
    def replays_epochs(self) -> bool:
        """Finite datasets repeat every epoch, and so do their fixed per-sample noises."""
        return self.run.dataset != "online"

    def start_epoch(self) -> None:
        """Rewind the per-replica streams so the next epoch replays the same batches."""
        if self.run.dataset == "per_replica":
            self.data.restart()
        if self.run.noise_kind == "injected" and not self.keeps_epoch_noise:
            self.noise.restart()

    def _injected_noise(self, steps: int) -> np.ndarray:
        """The next ``steps`` batch-mean GOE matrices ``Ā`` from the noise stream."""
        return self.noise.sample(
            partial(
                goe_matrices, dim=self.run.size, scale=self.run.noise / np.sqrt(self.run.batch_size)
            ),
            steps,
        )

    def _replayed_noise(self, first_step: int, steps: int) -> np.ndarray:
        """``Ā`` of steps ``first_step …`` of an epoch, from the epoch's noise drawn once.

        The same numbers as redrawing every epoch from the rewound stream
        (`start_epoch`): the stream is rewound and one whole epoch drawn.
        """
        if self.epoch_noise is None:
            self.noise.restart()
            drawn = self._injected_noise(self.run.batches_per_epoch)
            # Replica-major, so that `composed_steps` reads a replica's steps contiguously.
            self.epoch_noise = np.ascontiguousarray(drawn.swapaxes(0, 1))
        offset = first_step % self.run.batches_per_epoch
        return self.epoch_noise[:, offset : offset + steps].swapaxes(0, 1)

    def shared_moments(self, first_step: int, steps: int) -> np.ndarray:
        """Paper protocol: each draw's ``Ĉ`` of the chunk's batches, ``(draws, steps, d, d)``."""
        batch = np.arange(first_step, first_step + steps) % self.run.batches_per_epoch
        return self.shared[:, batch]

    def injected_noise(self, first_step: int, steps: int) -> np.ndarray:
        """``Ā`` of the chunk, ``(steps, replicas, N, N)``: replayed if kept, else drawn."""
        if self.keeps_epoch_noise:
            return self._replayed_noise(first_step, steps)
        return self._injected_noise(steps)

    def chunk(self, first_step: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
        run, size = self.run, self.run.size
        if run.dataset == "paper":
            moments = self.shared_moments(first_step, steps)[self.draw_of_replica].swapaxes(0, 1)
        else:
            moments = self.data.sample(self.moments, steps)
        if run.noise_kind == "injected":
            additive = self.injected_noise(first_step, steps)
        else:
            additive = -run.noise * moments[..., size:, :size]
            if self.hidden is not None:
                additive = self.hidden.T @ additive
        return moments[..., :size, :size], additive


COMPOSED_MAX_SIZE = 3
"""Largest N whose shared-dataset chunks run as one composed affine map (`composed_steps`).

Composing costs O(N⁶) per step per draw and O(N⁴) per step per replica
against the step loop's O(N³) per step per replica, but runs in a few large
array operations instead of several small ones per step; it wins for small N.
"""


def initial_weights(run: TeacherStudentRun) -> np.ndarray:
    """Initial weights with i.i.d. ``N(0, init_scale²)`` entries: ``(replicas, N, N)``."""
    return gaussian_initial_weights(
        run.root_seed,
        run.point_seed,
        draw_sizes(run.replicas, run.dataset_draws),
        run.size,
        run.init_scale,
    )


def simulate(run: TeacherStudentRun, checkpoint: Checkpoint | None = None) -> Snapshots:
    """Train ``run.replicas`` students by SGD and keep their weights at the snapshots.

    The gradient ``g = ZᵀZ (W − W*) Ĉ_xx + additive`` (module docstring) makes the
    run's optimiser's step (`optimizers`; SGD: ``W ← W − α g``); without a hidden
    layer the product with ``ZᵀZ = I`` is skipped, so ``hidden=None`` gives the
    numbers of the model without one. A replica found diverged (`diverged`) at the
    end of a chunk is counted, reset to zero with its optimiser state, so its numbers
    cannot overflow, and left out of every snapshot. With a ``checkpoint`` the loop
    saves its state every so often and resumes from a previous save (`Trajectory`).
    """
    teacher = teacher_matrix(run.teacher)
    source = _BatchSource(run)
    gram = None if source.hidden is None else source.hidden.T @ source.hidden
    weights = initial_weights(run)
    optimizer = optimizer_of(run.optimizer, run.learning_rate, weights.shape)
    state = {"weights": weights, **optimizer.state}
    trajectory = Trajectory(run.steps, run.snapshot_every, state, source.streams, checkpoint)
    max_chunk = max(1, CHUNK_ELEMENTS // (len(weights) * source.moment_dim**2))
    epoch = run.batches_per_epoch if source.replays_epochs else None
    delta = np.empty_like(weights)
    gradient = np.empty_like(weights)
    pulled = None if gram is None else np.empty_like(weights)  # ZᵀZ (W − W*)
    composed = run.dataset == "paper" and run.noise_kind == "injected"
    # Composing chains SGD's linear steps: no other optimiser's.
    composed = composed and run.size <= COMPOSED_MAX_SIZE and isinstance(optimizer, SGD)
    if composed and source.keeps_epoch_noise:
        # The chunk's noise is a view of the kept epoch: chunks need no memory bound, and
        # chunks that do not depend on the replica count keep a block's numbers when
        # replicas are added (composing regroups the chunk's sums).
        max_chunk = run.steps
    for first, end in trajectory.remaining_chunks(epoch, max_chunk):
        if epoch is not None and first % epoch == 0:
            source.start_epoch()
        if composed:
            with np.errstate(over="ignore", invalid="ignore"):
                weights[...] = composed_steps(
                    weights,
                    teacher,
                    np.eye(run.size) if gram is None else gram,
                    source.shared_moments(first, end - first),
                    source.injected_noise(first, end - first),
                    run.learning_rate,
                    source.draw_of_replica,
                )
            _end_chunk(trajectory, weights, optimizer, end, run.divergence_threshold)
            continue
        input_moment, additive = source.chunk(first, end - first)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(end - first):
                np.subtract(weights, teacher, out=delta)
                if gram is None:
                    np.matmul(delta, input_moment[t], out=gradient)
                else:
                    np.matmul(gram, delta, out=pulled)
                    np.matmul(pulled, input_moment[t], out=gradient)
                gradient += additive[t]
                optimizer.update(weights, gradient, first + t + 1)
        _end_chunk(trajectory, weights, optimizer, end, run.divergence_threshold)
    return trajectory.snapshots(source.draw_of_replica)


def _end_chunk(
    trajectory: Trajectory, weights: np.ndarray, optimizer: Optimizer, end: int, threshold: float
) -> None:
    """Mark and reset (weights and optimiser) the replicas diverged by ``end``; close the chunk."""
    newly = trajectory.mark_diverged(diverged(weights, threshold), end)
    weights[newly] = 0.0
    optimizer.reset(newly)
    trajectory.end_chunk(end, weights)


# --- The model's declaration ----------------------------------------------------------

CONTINUUM_NOTE = (
    "Dashed: the continuum two-level Coulomb gas, ⟨S⟩ = √π σ with σ² = α ε²/|B|, "
    "a = √π ≈ 1.772 for a pair of singular values (the paper: a = 1.88 ± 0.03)."
)
HIDDEN_CONTINUUM_NOTE = (
    "Dashed: the continuum limit of the stationary theory (the Lyapunov solution with "
    "G = ZᵀZ), per cluster: behind a hidden layer the levels of a pair relax at different "
    "speeds, so its slope is not the Coulomb gas's √π."
)
MOMENTUM_CONTINUUM_NOTE = (
    "Dashed: the continuum limit of the momentum theory, SGD's at the effective learning "
    "rate α/(1 − β) (temperature α/((1 − β)|B|)), per cluster."
)
MOMENTUM_THEORY_NOTE = (
    "Small black crosses: the exact discrete-time stationary prediction of heavy-ball "
    "momentum at each point (the closed linear recursion of the second moments of the weights "
    "and the velocity, with the multiplicative mini-batch terms; Monte Carlo through the "
    "spectrum)."
)
THEORY_NOTE = (
    "Small black crosses: the exact discrete-time stationary prediction of ⟨S⟩ at each point "
    "(Monte Carlo), which keeps the O(α) and multiplicative mini-batch terms the continuum "
    "drops; points where SGD is not mean-square stable have none. The measured points should "
    "sit on the crosses even where they leave the straight line."
)


class TeacherStudent(Model):
    """Linear teacher–student regression ``y = Z W* x`` trained by SGD (or `optimizers`)."""

    name = "teacher_student"
    title = "teacher–student SGD"
    parameters = ("learning_rate", "batch_size", "noise")
    run = TeacherStudentRun
    amplitude_kind = "noise_squared"

    def check_given(self, key: str, experiment: dict) -> None:
        if "dataset_size" in experiment and "batches_per_epoch" in experiment:
            raise ConfigError(
                f"config: {key} sets both dataset_size and batches_per_epoch; keep one"
            )

    def check(self, key: str, experiment: dict) -> None:
        super().check(key, experiment)
        if experiment["replicas"] < 2 * experiment["dataset_draws"]:
            raise ConfigError(
                f"config: {key}.replicas = {experiment['replicas']} gives fewer than "
                f"two replicas to each of {key}.dataset_draws = {experiment['dataset_draws']}"
            )
        for setting in ("teacher", "hidden"):
            values = experiment.get(setting, [None] * experiment["size"])
            if len(values) != experiment["size"]:
                raise ConfigError(
                    f"config: {key}.{setting} has {len(values)} values "
                    f"but {key}.size is {experiment['size']}"
                )
        if "dataset_size" in experiment:
            self._check_dataset_size(key, experiment)
        if experiment["dataset"] == "paper" and experiment["noise_kind"] == "label":
            raise ConfigError(
                f"config: {key}.noise_kind = label with {key}.dataset = paper gives every "
                "replica of a draw the same data and labels, so replicas differ only by their "
                "initial weights and have no stationary spread; use dataset per_replica or online"
            )

    @staticmethod
    def _check_dataset_size(key: str, experiment: dict) -> None:
        if experiment["dataset"] == "online":
            raise ConfigError(
                f"config: {key}.dataset_size is set but {key}.dataset = online draws fresh "
                "samples every step; remove it or choose dataset paper or per_replica"
            )
        for index, grid in enumerate(experiment["sweep"]):
            too_large = [size for size in grid["batch_size"] if size > experiment["dataset_size"]]
            if too_large:
                raise ConfigError(
                    f"config: {key}.sweep[{index}].batch_size has {too_large[0]}, larger than "
                    f"the dataset ({key}.dataset_size = {experiment['dataset_size']})"
                )

    def dataset_draws(self, experiment: dict) -> int:
        return experiment["dataset_draws"]

    chunk_elements = CHUNK_ELEMENTS

    def step_elements(self, experiment: dict, point: dict) -> int:
        """One step's batch moments and additive noise: 2 × replicas × d², d = N (2N: label)."""
        dim = experiment["size"] * (2 if experiment["noise_kind"] == "label" else 1)
        return 2 * experiment["replicas"] * dim**2

    def extra_elements(self, experiment: dict, point: dict) -> int:
        """The kept epoch of injected noise (at most `EPOCH_NOISE_BYTES`), the shared datasets'
        batch moments, and the composed maps of a chunk (4 arrays of draws × steps × N⁴)."""
        size, draws = experiment["size"], experiment["dataset_draws"]
        batches = self.run_settings(experiment, point)["batches_per_epoch"]
        dim = size * (2 if experiment["noise_kind"] == "label" else 1)
        epoch_noise = batches * experiment["replicas"] * size**2
        extra = 0
        if experiment["dataset"] != "online" and experiment["noise_kind"] == "injected":
            extra += epoch_noise if 8 * epoch_noise <= EPOCH_NOISE_BYTES else 0
        if experiment["dataset"] == "paper":
            extra += draws * batches * dim**2
            if size <= COMPOSED_MAX_SIZE and experiment["noise_kind"] == "injected":
                extra += 4 * draws * experiment["steps"] * size**4
        return extra

    def run_settings(self, experiment: dict, point: dict) -> dict:
        """`Model.run_settings`; a ``dataset_size`` is cut into batches of the point's size."""
        settings = super().run_settings(experiment, point)
        if "dataset_size" in experiment:
            settings["batches_per_epoch"] = experiment["dataset_size"] // point["batch_size"]
        for key in ("teacher", "hidden"):
            if settings[key] is not None:
                settings[key] = [float(value) for value in settings[key]]
        return settings

    def simulate(self, settings: dict, checkpoint: Checkpoint | None = None) -> Snapshots:
        return simulate(run_of(TeacherStudentRun, settings), checkpoint)

    def targets(self, experiment: dict) -> list[float]:
        """The teacher's singular values."""
        return sorted(float(value) for value in experiment["teacher"])

    def continuum(self, experiment: dict) -> str | None:
        """SGD without a hidden layer: the Coulomb gas; behind one, or with momentum (whose
        continuum runs at α/(1 − β)): the theory's limit; Adam: none."""
        if not self.has_theory(experiment):
            return None
        plain = experiment.get("hidden") is None and is_plain_sgd(experiment.get("optimizer"))
        return "coulomb_gas" if plain else "theory"

    def has_theory(self, experiment: dict) -> bool:
        """The exact theories: plain SGD's (`theory`) and momentum's (`momentum_theory`);
        no theory of Adam's stationary state is known."""
        optimizer = experiment.get("optimizer")
        return is_plain_sgd(optimizer) or optimizer["name"] == "momentum"

    def theory_settings(self, experiment: dict, point: dict) -> dict:
        """The point's settings; a momentum optimiser's too (plain SGD's settings have none)."""
        settings = {
            **{key: experiment.get(key) for key in ("teacher", "hidden", "noise_kind")},
            **{key: point[key] for key in self.parameters},
        }
        if not is_plain_sgd(experiment.get("optimizer")):
            settings["optimizer"] = experiment["optimizer"]
        return settings

    def stationary_law(self, settings: dict, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """``W*`` and the stationary moments with ``G = ZᵀZ`` (`hidden_matrix`): SGD's
        (`theory.linear_model_moments`) or momentum's (`momentum_theory`)."""
        size = len(settings["teacher"])
        if settings["hidden"] is None:
            gram = np.eye(size)
        else:
            layer = hidden_matrix(tuple(settings["hidden"]), settings["root_seed"])
            gram = layer.T @ layer
        point = [settings[key] for key in ("noise_kind", "noise", "learning_rate")]
        optimizer = settings.get("optimizer")
        if optimizer is None:
            moments = theory.linear_model_moments(gram, *point, settings["batch_size"], exact=exact)
        else:
            moments = momentum_theory.linear_model_momentum_moments(
                gram,
                *point,
                optimizer["momentum"],
                settings["batch_size"],
                exact=exact,
                nesterov=optimizer["nesterov"],
            )
        return np.diag(settings["teacher"]), moments

    def labels(self, experiment: dict) -> Labels:
        hidden = experiment.get("hidden") is not None
        description = simulated_description(
            f"teacher–student model{' behind a fixed hidden layer' if hidden else ''}, "
            f"{experiment['dataset']} dataset",
            experiment,
        )
        if self.has_theory(experiment) and not is_plain_sgd(experiment.get("optimizer")):
            notes = {"continuum_note": MOMENTUM_CONTINUUM_NOTE, "theory_note": MOMENTUM_THEORY_NOTE}
        elif self.has_theory(experiment):
            continuum = HIDDEN_CONTINUUM_NOTE if hidden else CONTINUUM_NOTE
            notes = {"continuum_note": continuum, "theory_note": THEORY_NOTE}
        else:
            reason = no_theory_reason(experiment["optimizer"])
            notes = {"continuum_note": f"No continuum line: {reason}.", "no_theory_reason": reason}
        return sgd_labels(self.parameters, self.amplitude_kind, description=description, **notes)


MODEL = TeacherStudent()
