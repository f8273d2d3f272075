"""The teacher–student model trained by plain mini-batch SGD, vectorised over replicas.

Teacher ``y = W* x`` (plus label noise), student ``ŷ = W x``, loss per sample
``½ |y − ŷ|²`` (Aarts, Lucini & Park 2025). With ``x ~ N(0, I)`` the
mini-batch gradient depends on the batch only through second moments:

    mean_b ∇_W loss = (W − W*) Ĉ_xx − ε Ĉ_ξx + Ā,

with ``Ĉ_xx = mean_b x_b x_bᵀ``, ``Ĉ_ξx = mean_b ξ_b x_bᵀ`` (label noise) and
``Ā`` the batch mean of the per-sample GOE matrices (injected noise; a mean of
``|B|`` GOE matrices of scale ε is one GOE matrix of scale ε/√|B|). Sampling
these moments directly is exact in distribution and keeps memory independent
of ``|B|``. Weights are ``(replicas, N, N)`` arrays, replicas on axis 0.
"""

import logging
import time
from dataclasses import dataclass
from functools import partial

import numpy as np

from .sampling import batch_second_moments, goe_matrices
from .seeding import ReplicaStream, Stream, draw_sizes, seed_sequence
from .simulation import Snapshots, chunk_boundaries, diverged, snapshot_steps

logger = logging.getLogger(__name__)

CHUNK_ELEMENTS = 2**22
"""Upper bound on the elements of one chunk's per-step random arrays (memory)."""


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

    @property
    def size(self) -> int:
        return len(self.teacher)


def teacher_matrix(singular_values: tuple[float, ...]) -> np.ndarray:
    """The teacher ``W* = diag(singular_values)``; with isotropic data its frame is irrelevant."""
    return np.diag(np.asarray(singular_values, dtype=float))


class _BatchSource:
    """The per-step random inputs of SGD for one protocol: (Ĉ_xx, additive term).

    Returns, for a chunk of ``steps`` consecutive steps, ``input_moment`` and
    ``additive``, both ``(steps, replicas, N, N)``.
    """

    def __init__(self, run: TeacherStudentRun):
        self.run = run
        sizes = draw_sizes(run.replicas, run.dataset_draws)
        self.draw_of_replica = np.repeat(np.arange(run.dataset_draws), sizes)
        # Label noise enters through the joint moments of u = [x; ξ].
        self.moment_dim = run.size * (2 if run.noise_kind == "label" else 1)
        self.moments = partial(batch_second_moments, dim=self.moment_dim, batch_size=run.batch_size)
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
        if self.run.noise_kind == "injected":
            self.noise.restart()

    def chunk(self, first_step: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
        run, size = self.run, self.run.size
        if run.dataset == "paper":
            batch = np.arange(first_step, first_step + steps) % run.batches_per_epoch
            moments = self.shared[:, batch][self.draw_of_replica].swapaxes(0, 1)
        else:
            moments = self.data.sample(self.moments, steps)
        if run.noise_kind == "injected":
            additive = self.noise.sample(
                partial(
                    goe_matrices,
                    dim=size,
                    scale=run.noise / np.sqrt(run.batch_size),
                ),
                steps,
            )
        else:
            additive = -run.noise * moments[..., size:, :size]
        return moments[..., :size, :size], additive


def initial_weights(run: TeacherStudentRun) -> np.ndarray:
    """Initial weights with i.i.d. ``N(0, init_scale²)`` entries: ``(replicas, N, N)``."""
    stream = ReplicaStream(
        run.root_seed,
        run.point_seed,
        draw_sizes(run.replicas, run.dataset_draws),
        (Stream.INITIAL_WEIGHTS,),
    )
    sample = stream.sample(
        lambda generator, shape: generator.standard_normal((*shape, run.size, run.size)),
        1,
    )
    return run.init_scale * sample[0]


def simulate(run: TeacherStudentRun) -> Snapshots:
    """Train ``run.replicas`` students by SGD and keep their weights at the snapshots.

    The update is ``W ← W − α [(W − W*) Ĉ_xx + additive]`` (module docstring).
    A replica found diverged (`diverged`) at the end of a chunk is counted,
    reset to zero so its numbers cannot overflow, and left out of every
    snapshot: its numbers are never reported as a result.
    """
    teacher = teacher_matrix(run.teacher)
    source = _BatchSource(run)
    weights = initial_weights(run)
    replicas = len(weights)
    kept_steps = snapshot_steps(run.steps, run.snapshot_every)
    max_chunk = max(1, CHUNK_ELEMENTS // (replicas * source.moment_dim**2))
    epoch = run.batches_per_epoch if source.replays_epochs else None
    is_diverged = np.zeros(replicas, dtype=bool)
    first_divergence = None
    kept = []
    delta = np.empty_like(weights)
    gradient = np.empty_like(weights)
    step, started, last_report = 0, time.monotonic(), time.monotonic()
    for end in chunk_boundaries(run.steps, kept_steps, epoch, max_chunk):
        if epoch is not None and step % epoch == 0:
            source.start_epoch()
        input_moment, additive = source.chunk(step, end - step)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(end - step):
                np.subtract(weights, teacher, out=delta)
                np.matmul(delta, input_moment[t], out=gradient)
                gradient += additive[t]
                gradient *= run.learning_rate
                weights -= gradient
        step = int(end)
        newly = diverged(weights, run.divergence_threshold) & ~is_diverged
        if newly.any():
            first_divergence = first_divergence or step
            is_diverged |= newly
            weights[newly] = 0.0
        if step in kept_steps:
            kept.append(weights.copy())
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            rate = step / (last_report - started)
            logger.info(
                "step %d/%d, %.0f steps/s, about %.0f s left",
                step,
                run.steps,
                rate,
                (run.steps - step) / rate,
            )
    survivors = ~is_diverged
    return Snapshots(
        steps=kept_steps,
        weights=np.stack(kept)[:, survivors],
        replica=np.arange(replicas)[survivors],
        draw=source.draw_of_replica[survivors],
        diverged_replicas=int(is_diverged.sum()),
        first_divergence_step=first_divergence,
    )
