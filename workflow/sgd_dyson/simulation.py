"""What every model's simulation shares: snapshot steps, chunking, divergence, the result."""

import logging
import time
from dataclasses import dataclass

import numpy as np

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


class Progress:
    """Logs steps done, rate and time left, at most once every ``interval`` seconds."""

    def __init__(self, total_steps: int, interval: float = 30.0):
        self.total_steps, self.interval = total_steps, interval
        self.started = self.last_report = time.monotonic()

    def update(self, step: int) -> None:
        now = time.monotonic()
        if now - self.last_report > self.interval:
            self.last_report = now
            rate = step / (now - self.started)
            logger.info(
                "step %d/%d, %.0f steps/s, about %.0f s left",
                step,
                self.total_steps,
                rate,
                (self.total_steps - step) / rate,
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
