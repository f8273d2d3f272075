"""Specifications of the random streams in `sgd_dyson.seeding`.

Streams are reproducible, independent of chunking, and extendable by replicas.
"""

from functools import partial

import numpy as np
import pytest

from sgd_dyson.sampling import batch_second_moments, goe_matrices
from sgd_dyson.seeding import (
    REPLICA_BLOCK,
    ReplicaStream,
    Stream,
    block_sizes,
    draw_sizes,
    point_seed,
    seed_sequence,
)

ROOT_SEED = 20240723
POINT_KEY = point_seed("ts_paper", "lr~0.1_bs~16_noise~0.1")


def normals(generator, shape):
    return generator.standard_normal((*shape, 2))


SAMPLERS = {
    "normals": (normals, (Stream.NOISE,)),
    "goe": (partial(goe_matrices, dim=2, scale=0.1), (Stream.NOISE,)),
    "wishart (Bartlett)": (
        partial(batch_second_moments, dim=2, batch_size=4),
        (Stream.DATASET_NORMAL, Stream.DATASET_CHISQUARE),
    ),
    "wishart (direct)": (
        partial(batch_second_moments, dim=4, batch_size=2),
        (Stream.DATASET_NORMAL, Stream.DATASET_CHISQUARE),
    ),
}


# --- Point keys ---------------------------------------------------------------------


def test_point_seed_is_a_stable_hash_of_experiment_and_point():
    # Regression value: changing the hash changes every number of every study.
    assert point_seed("ts_paper", "lr~0.1_bs~16_noise~0.1") == 8794051937176549399


def test_point_seed_fits_a_signed_64_bit_integer():
    keys = [point_seed("experiment", f"point{i}") for i in range(200)]
    assert all(0 <= key < 2**63 for key in keys)


def test_point_seed_differs_between_points_and_between_experiments():
    point = "lr~0.1_bs~16_noise~0.1"
    keys = {
        point_seed("ts_paper", point),
        point_seed("ts_paper", "lr~0.2_bs~16_noise~0.1"),
        point_seed("ts_online", point),
    }
    assert len(keys) == 3


def test_seed_sequences_differ_by_stream_draw_and_block():
    def first_number(draw, block, stream):
        sequence = seed_sequence(ROOT_SEED, POINT_KEY, draw, block, stream)
        return np.random.default_rng(sequence).random()

    numbers = {
        first_number(draw, block, stream)
        for draw in range(2)
        for block in range(2)
        for stream in Stream
    }
    assert len(numbers) == 2 * 2 * len(Stream)


# --- Draws and blocks ---------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "draws"), [(3000, 10), (1000, 3), (7, 7), (5, 8), (1, 1)])
def test_draw_sizes_sum_to_the_replicas_and_differ_by_at_most_one(replicas, draws):
    sizes = draw_sizes(replicas, draws)
    assert len(sizes) == draws
    assert sum(sizes) == replicas
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # earlier draws are the larger ones


@pytest.mark.parametrize("replicas", [1, REPLICA_BLOCK - 1, REPLICA_BLOCK, 3 * REPLICA_BLOCK + 5])
def test_block_sizes_are_full_blocks_and_one_remainder(replicas):
    sizes = block_sizes(replicas)
    assert sum(sizes) == replicas
    assert all(size == REPLICA_BLOCK for size in sizes[:-1])
    assert 0 < sizes[-1] <= REPLICA_BLOCK


# --- Replica streams ----------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_replica_stream_chunk_of_k_steps_equals_k_single_steps(sampler):
    function, streams = SAMPLERS[sampler]
    replicas_per_draw = [REPLICA_BLOCK + 10, 3]  # two blocks in draw 0, one in draw 1
    chunked = ReplicaStream(ROOT_SEED, POINT_KEY, replicas_per_draw, streams).sample(function, 5)
    stepwise_stream = ReplicaStream(ROOT_SEED, POINT_KEY, replicas_per_draw, streams)
    stepwise = np.concatenate([stepwise_stream.sample(function, 1) for _ in range(5)], axis=0)
    assert chunked.shape[:2] == (5, sum(replicas_per_draw))
    np.testing.assert_array_equal(chunked, stepwise)


def test_replica_stream_chunks_of_any_split_agree():
    function, streams = SAMPLERS["wishart (Bartlett)"]
    whole = ReplicaStream(ROOT_SEED, POINT_KEY, [40], streams).sample(function, 10)
    stream = ReplicaStream(ROOT_SEED, POINT_KEY, [40], streams)
    pieces = np.concatenate([stream.sample(function, k) for k in (3, 1, 6)], axis=0)
    np.testing.assert_array_equal(whole, pieces)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_replica_stream_restart_replays_the_same_numbers(sampler):
    function, streams = SAMPLERS[sampler]
    stream = ReplicaStream(ROOT_SEED, POINT_KEY, [REPLICA_BLOCK + 1], streams)
    first = stream.sample(function, 3)
    second = stream.sample(function, 3)
    stream.restart()
    replay = stream.sample(function, 3)
    np.testing.assert_array_equal(replay, first)
    assert not np.array_equal(second, first)  # without a restart the stream moves on


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_adding_replicas_leaves_the_first_full_blocks_unchanged(sampler):
    function, streams = SAMPLERS[sampler]
    few = ReplicaStream(ROOT_SEED, POINT_KEY, [2 * REPLICA_BLOCK + 7], streams)
    many = ReplicaStream(ROOT_SEED, POINT_KEY, [5 * REPLICA_BLOCK], streams)
    kept = 2 * REPLICA_BLOCK
    np.testing.assert_array_equal(
        few.sample(function, 4)[:, :kept], many.sample(function, 4)[:, :kept]
    )


def test_replicas_in_different_blocks_and_draws_get_different_numbers():
    stream = ReplicaStream(ROOT_SEED, POINT_KEY, [REPLICA_BLOCK + 1, 1], (Stream.NOISE,))
    sample = stream.sample(normals, 1)[0]
    assert np.unique(sample[:, 0]).size == sample.shape[0]


def test_replica_streams_depend_on_the_root_seed_and_the_point():
    def first(root_seed, point_key):
        return ReplicaStream(root_seed, point_key, [4], (Stream.NOISE,)).sample(normals, 1)

    reference = first(ROOT_SEED, POINT_KEY)
    np.testing.assert_array_equal(first(ROOT_SEED, POINT_KEY), reference)
    assert not np.array_equal(first(ROOT_SEED + 1, POINT_KEY), reference)
    assert not np.array_equal(first(ROOT_SEED, POINT_KEY + 1), reference)
