"""Random streams derived from the root seed, the sweep point and the replica.

Every stream is a `numpy.random.SeedSequence` with the config's root seed as
entropy and a spawn key ``(point_seed, draw, block, stream)``, so a number
depends only on *what* it is for, never on job order, ``--cores`` or the
executor. Replicas are grouped in fixed blocks of `REPLICA_BLOCK`: adding
replicas to a point leaves the earlier full blocks bit-identical.
"""

import hashlib
from enum import IntEnum

import numpy as np

REPLICA_BLOCK = 256
"""Replicas per random-stream block (changing it changes every result)."""


class Stream(IntEnum):
    """What a random stream is for; the value enters the spawn key."""

    INITIAL_WEIGHTS = 0
    DATASET_NORMAL = 1
    DATASET_CHISQUARE = 2
    NOISE = 3
    SHARED_DATASET_NORMAL = 4
    SHARED_DATASET_CHISQUARE = 5
    GIBBS = 6
    DYSON_NOISE = 7
    HIDDEN_FRAME = 8
    THEORY = 9
    FIXED_LAYERS = 10
    TEACHER_LAYERS = 11
    TEST_INPUTS = 12


def point_seed(experiment: str, point: str) -> int:
    """Stable 63-bit key of a sweep point, from its experiment and point id.

    A hash of the names (not the point's position in the sweep), so adding or
    removing other points never changes this point's numbers.
    """
    digest = hashlib.blake2b(f"{experiment}/{point}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def seed_sequence(
    root_seed: int, point_key: int, draw: int, block: int, stream: Stream
) -> np.random.SeedSequence:
    """Seed of one stream: ``SeedSequence(root_seed, spawn_key=(point, draw, block, stream))``."""
    return np.random.SeedSequence(root_seed, spawn_key=(point_key, draw, block, int(stream)))


def draw_sizes(replicas: int, draws: int) -> list[int]:
    """Replicas per dataset draw: as even as possible, earlier draws one larger."""
    base, extra = divmod(replicas, draws)
    return [base + (draw < extra) for draw in range(draws)]


def draw_of_replica(replicas: int, draws: int) -> np.ndarray:
    """The dataset draw of every replica ``(replicas,)``, ascending (`draw_sizes` per draw)."""
    return np.repeat(np.arange(draws), draw_sizes(replicas, draws))


def block_sizes(replicas: int) -> list[int]:
    """Sizes of the consecutive replica blocks of one draw (all `REPLICA_BLOCK` but the last)."""
    full, rest = divmod(replicas, REPLICA_BLOCK)
    return [REPLICA_BLOCK] * full + ([rest] if rest else [])


class ReplicaStream:
    """Random streams over a replica axis: generators per (draw, replica block).

    ``sample(function, steps)`` calls ``function(*generators, (steps,
    block_size))`` for every block, one generator per requested `Stream`, and
    concatenates the results along axis 1 (the replica axis). Each generator
    fills its arrays step-major, so a chunk of ``steps`` draws equals ``steps``
    single-step draws: results do not depend on how the simulation chunks its
    steps. ``restart()`` rewinds every generator, which replays a finite
    dataset epoch after epoch.
    """

    def __init__(
        self,
        root_seed: int,
        point_key: int,
        replicas_per_draw: list[int],
        streams: tuple[Stream, ...],
    ):
        self._seeds = [
            (
                [seed_sequence(root_seed, point_key, draw, block, s) for s in streams],
                size,
            )
            for draw, replicas in enumerate(replicas_per_draw)
            for block, size in enumerate(block_sizes(replicas))
        ]
        self.restart()

    def restart(self) -> None:
        """Rewind every generator to the start of its stream."""
        self._generators = [
            ([np.random.default_rng(seed) for seed in seeds], size) for seeds, size in self._seeds
        ]

    @property
    def blocks(self) -> list[tuple[list[np.random.Generator], int]]:
        """``(generators, block size)`` of every (draw, replica block), in replica order."""
        return self._generators

    def get_state(self) -> list[list[dict]]:
        """The bit-generator state of every generator (JSON-serialisable, for checkpoints)."""
        return [[g.bit_generator.state for g in generators] for generators, _ in self._generators]

    def set_state(self, state: list[list[dict]]) -> None:
        """Continue every generator from a state returned by `get_state`."""
        for (generators, _), states in zip(self._generators, state, strict=True):
            for generator, generator_state in zip(generators, states, strict=True):
                generator.bit_generator.state = generator_state

    def sample(self, function, steps: int) -> np.ndarray:
        """Concatenate ``function(*generators, (steps, block_size))`` over blocks along axis 1."""
        blocks = [function(*generators, (steps, size)) for generators, size in self.blocks]
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
