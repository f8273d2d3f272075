"""What every model's simulation shares: snapshot steps, chunking, divergence, checkpoints."""

import json
import logging
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .seeding import ReplicaStream, Stream
from .tables import atomic_path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshots:
    """Weights of the surviving replicas at the snapshot steps."""

    steps: np.ndarray  # (snapshots,)
    weights: np.ndarray  # (snapshots, replicas, N, N)
    replica: np.ndarray  # (replicas,) global replica index
    draw: np.ndarray  # (replicas,) dataset draw of each replica
    diverged_replicas: int
    first_divergence_step: int | None

    def by_layer(self) -> dict[int, "Snapshots"]:
        """The snapshots per analysed weight matrix: one matrix, layer 0."""
        return {0: self}


@dataclass(frozen=True)
class LayeredSnapshots:
    """Snapshots of several weight matrices of one network, by layer (the matrix's index).

    Every layer's `Snapshots` has the same steps, surviving replicas and
    draws: a replica that diverged is left out of all of them.
    """

    layers: dict[int, Snapshots]

    def by_layer(self) -> dict[int, Snapshots]:
        return dict(self.layers)

    @property
    def diverged_replicas(self) -> int:
        return next(iter(self.layers.values())).diverged_replicas

    @property
    def first_divergence_step(self) -> int | None:
        return next(iter(self.layers.values())).first_divergence_step


def snapshot_steps(steps: int, every: int) -> np.ndarray:
    """Steps at which weights are kept: every ``every`` steps, and always the last."""
    kept = np.arange(every, steps + 1, every)
    return kept if kept.size and kept[-1] == steps else np.append(kept, steps)


def chunk_boundaries(
    steps: int, snapshots: np.ndarray, epoch: int | None, max_chunk: int
) -> np.ndarray:
    """Ends of the simulation chunks: snapshots, epoch ends, and at most ``max_chunk`` apart."""
    ends = set(snapshots.tolist()) | set(range(max_chunk, steps, max_chunk))
    if epoch is not None:
        ends |= set(range(epoch, steps, epoch))
    return np.array(sorted(ends))


def diverged(weights: np.ndarray, threshold: float) -> np.ndarray:
    """Replicas whose weights are not finite or exceed ``threshold`` in size: ``(replicas,)``."""
    flat = weights.reshape(len(weights), -1)
    return ~np.isfinite(flat).all(axis=1) | (np.abs(flat).max(axis=1) > threshold)


PROGRESS_SECONDS = 30.0
"""Seconds between two progress lines in a simulation's log."""


class Progress:
    """Logs steps done, rate and time left, at most once every ``interval`` seconds."""

    def __init__(self, total_steps: int, first_step: int = 0, interval: float | None = None):
        self.total_steps, self.first_step = total_steps, first_step
        self.interval = PROGRESS_SECONDS if interval is None else interval
        self.started = self.last_report = time.monotonic()

    def update(self, step: int) -> None:
        now = time.monotonic()
        if now - self.last_report > self.interval:
            self.last_report = now
            rate = (step - self.first_step) / (now - self.started)
            logger.info(
                "step %d/%d, %.0f steps/s, about %.0f s left",
                step,
                self.total_steps,
                rate,
                (self.total_steps - step) / rate,
            )


class Checkpoint:
    """An in-job checkpoint of one simulation: its loop state and RNG state, in one file.

    Snakemake deletes a job's declared outputs before the job starts, so the
    checkpoint lives at an undeclared ``path``. Every random number of a
    simulation comes from generators whose states are saved with the loop
    state, so a job restarted from a checkpoint produces exactly the numbers of
    an uninterrupted run. ``fingerprint`` identifies the settings and code
    that wrote it; a checkpoint with another fingerprint is ignored (and
    overwritten at the next save). Saves are atomic and happen at most once
    every ``interval`` seconds.
    """

    def __init__(self, path: str | Path, fingerprint: str, interval: float):
        self.path, self.fingerprint, self.interval = Path(path), fingerprint, interval
        self.last_save = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last_save >= self.interval

    def save(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Write ``arrays`` and the JSON-serialisable ``meta`` (atomically)."""
        with atomic_path(self.path) as temporary, open(temporary, "wb") as file:
            np.savez(file, **arrays, meta=json.dumps({"fingerprint": self.fingerprint, **meta}))
        self.last_save = time.monotonic()

    def load(self) -> tuple[dict[str, np.ndarray], dict] | None:
        """The saved ``(arrays, meta)``, or None if there is none or it is another run's.

        A file that cannot be read whole (truncated, corrupted, not an archive)
        is reported in a warning naming it and deleted: the simulation starts
        over, and gives the numbers of a run that never had a checkpoint.
        """
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                meta = json.loads(str(saved["meta"]))
                fingerprint = meta.pop("fingerprint")
                arrays = {name: saved[name] for name in saved.files if name != "meta"}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            logger.warning(
                "discarding the checkpoint %s: it cannot be read (%s: %s); starting over",
                self.path,
                type(error).__name__,
                error,
            )
            self.remove()
            return None
        if fingerprint != self.fingerprint:
            logger.warning("ignoring %s: it was written for other settings", self.path)
            return None
        return arrays, meta

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class Trajectory:
    """The bookkeeping of a simulation loop: step, snapshots, divergence, progress, checkpoints.

    ``state`` holds the arrays the loop updates in place (the weights first,
    plus e.g. Gibbs chains) and ``streams`` every random stream it draws from
    after the start. With a `Checkpoint` that holds a save of the same run,
    the constructor restores all of them in place and the loop continues
    from the saved step (`remaining_chunks`).
    """

    def __init__(
        self,
        steps: int,
        snapshot_every: int,
        state: dict[str, np.ndarray],
        streams: list[ReplicaStream],
        checkpoint: Checkpoint | None = None,
    ):
        self.steps, self.state, self.streams = steps, state, streams
        self.snapshot_at = snapshot_steps(steps, snapshot_every)
        self.checkpoint = checkpoint
        self.step = 0
        self.kept: list[np.ndarray] = []
        self.is_diverged = np.zeros(len(next(iter(state.values()))), dtype=bool)
        self.first_divergence: int | None = None
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:
            self._restore(*saved)
        self.progress = Progress(steps, self.step)

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        for name, array in self.state.items():
            array[...] = arrays[name]
        for stream, stream_state in zip(self.streams, meta["streams"], strict=True):
            stream.set_state(stream_state)
        self.kept = list(arrays["kept"])
        self.is_diverged = arrays["is_diverged"]
        self.step, self.first_divergence = meta["step"], meta["first_divergence"]
        logger.info("resuming from the checkpoint %s at step %d", self.checkpoint.path, self.step)

    def _save(self) -> None:
        kept = np.stack(self.kept) if self.kept else np.empty((0, *self.state["weights"].shape))
        self.checkpoint.save(
            {**self.state, "kept": kept, "is_diverged": self.is_diverged},
            {
                "step": self.step,
                "first_divergence": self.first_divergence,
                "streams": [stream.get_state() for stream in self.streams],
            },
        )
        logger.info("checkpoint saved at step %d", self.step)

    def remaining_chunks(self, epoch: int | None, max_chunk: int) -> list[tuple[int, int]]:
        """``(first, end)`` steps of the chunks still to run (`chunk_boundaries`)."""
        ends = chunk_boundaries(self.steps, self.snapshot_at, epoch, max_chunk).tolist()
        starts = [0, *ends[:-1]]
        return [(first, end) for first, end in zip(starts, ends, strict=True) if end > self.step]

    def mark_diverged(self, found: np.ndarray, step: int) -> np.ndarray:
        """Record the replicas ``found`` diverged by ``step``; return the newly diverged ones."""
        newly = found & ~self.is_diverged
        if newly.any():
            self.first_divergence = self.first_divergence or step
            self.is_diverged |= newly
        return newly

    def end_chunk(self, end: int, weights: np.ndarray) -> None:
        """Advance to step ``end``; keep ``weights`` if it is a snapshot; checkpoint if due."""
        self.step = end
        if end in self.snapshot_at:
            self.kept.append(weights.copy())
        self.progress.update(end)
        if self.checkpoint is not None and end < self.steps and self.checkpoint.due():
            self._save()

    def snapshots(self, draw: np.ndarray) -> Snapshots:
        """`Snapshots` of the replicas that never diverged; ``draw`` is each replica's draw."""
        return surviving_snapshots(
            self.snapshot_at, self.kept, self.is_diverged, draw, self.first_divergence
        )


def surviving_snapshots(
    steps: np.ndarray,
    kept: list[np.ndarray],
    is_diverged: np.ndarray,
    draw: np.ndarray,
    first_divergence_step: int | None,
) -> Snapshots:
    """`Snapshots` of the never-diverged replicas, from per-step ``(replicas, n, n)`` arrays."""
    survivors = ~is_diverged
    return Snapshots(
        steps=steps,
        weights=np.stack(kept)[:, survivors],
        replica=np.arange(is_diverged.size)[survivors],
        draw=draw[survivors],
        diverged_replicas=int(is_diverged.sum()),
        first_divergence_step=first_divergence_step,
    )


def gaussian_initial_weights(
    root_seed: int, point_seed: int, draws: list[int], size: int, scale: float
) -> np.ndarray:
    """Initial weights with i.i.d. ``N(0, scale²)`` entries: ``(replicas, size, size)``.

    ``draws`` gives the replicas of each dataset draw; the normals come in
    blocks of replicas (`seeding.ReplicaStream`), so the first blocks do not
    depend on the replica count.
    """
    stream = ReplicaStream(root_seed, point_seed, draws, (Stream.INITIAL_WEIGHTS,))
    sample = stream.sample(
        lambda generator, shape: generator.standard_normal((*shape, size, size)), 1
    )
    return scale * sample[0]
