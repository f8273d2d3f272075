"""The random-number floor: only the random draws of the package's simulations.

For one sweep point these functions draw exactly the random numbers that
`sgd_dyson.models.teacher_student.simulate` or
`sgd_dyson.models.gaussian_rbm.simulate` draws (read off
`teacher_student._BatchSource`, `sampling.batch_second_moments`,
`sampling.goe_matrices`, `gibbs_chains.update_normals_shape` and
`simulation.gaussian_initial_weights`): the same PCG64 generators, seeded by the
same `numpy.random.SeedSequence` spawn keys, asked for the same
distributions in the same chunks, and restarted at the same epochs. They do
nothing with the numbers, so their time is a lower bound for any
simulation that draws those numbers this way.

The chunking is the package's own (`simulation.chunk_boundaries`, the
models' ``CHUNK_ELEMENTS`` and ``EPOCH_NOISE_BYTES``), imported rather than
copied so that the floor follows it. The package's sampling changes as it
is optimised, so the benchmark checks the floor against it on every run: the
same count of numbers of each distribution, and every per-replica generator
left in the state the simulation leaves it (`FloorRun.streams`).

The network draws only its disorder, datasets and initial weights, a few
numbers per replica-step: its floor is instead the matrix products of its
steps (`network_product_floor`), on the engine's own arrays.

Import this module after putting ``workflow/`` on ``sys.path`` (benchmark.py does).
"""

from dataclasses import dataclass

import numpy as np

from sgd_dyson import gibbs_chains, networks
from sgd_dyson.models import gaussian_rbm, teacher_student
from sgd_dyson.models.base import run_of
from sgd_dyson.network_data import learnable_views, step_elements
from sgd_dyson.seeding import ReplicaStream, Stream, draw_sizes, seed_sequence
from sgd_dyson.simulation import chunk_boundaries, snapshot_steps


def block_generators(
    settings: dict, replicas_per_draw: list[int], streams: tuple[Stream, ...]
) -> ReplicaStream:
    """The simulation's own per-(draw, replica block) generators of ``streams``.

    The floor draws from their `ReplicaStream.blocks` itself, without joining
    the blocks' arrays (which is work, not drawing).
    """
    return ReplicaStream(settings["root_seed"], settings["point_seed"], replicas_per_draw, streams)


@dataclass
class FloorRun:
    """What a floor drew: the count of numbers, and its per-replica generators by stream."""

    numbers: int
    streams: dict[tuple[Stream, ...], ReplicaStream]


def chunks(settings: dict, epoch: int | None, max_chunk: int) -> list[tuple[int, int]]:
    """``(first, end)`` steps of the simulation's chunks (`simulation.Trajectory`)."""
    snapshots = snapshot_steps(settings["steps"], settings["snapshot_every"])
    ends = chunk_boundaries(settings["steps"], snapshots, epoch, max_chunk).tolist()
    return list(zip([0, *ends[:-1]], ends, strict=True))


def initial_weight_draws(group: ReplicaStream, n: int) -> int:
    """The initial weights' normals, ``(1, block, n, n)`` per block; returns their count."""
    return sum(
        generator.standard_normal((1, size, n, n)).size for (generator,), size in group.blocks
    )


def moment_draws(
    normal: np.random.Generator,
    chisquare: np.random.Generator,
    shape: tuple[int, ...],
    dim: int,
    batch: int,
) -> int:
    """The draws of `sampling.batch_second_moments`; returns their count.

    Bartlett (``batch ≥ dim``): ``dim`` chi-squares and ``dim (dim − 1)/2``
    normals per moment; smaller batches: the ``batch × dim`` samples.
    """
    if batch < dim:
        return normal.standard_normal((*shape, batch, dim)).size
    degrees = batch - np.arange(dim)
    return (
        chisquare.chisquare(degrees, size=(*shape, dim)).size
        + normal.standard_normal((*shape, dim * (dim - 1) // 2)).size
    )


# --- Teacher–student --------------------------------------------------------------------


def teacher_student_floor(settings: dict) -> FloorRun:
    """Draw every random number of `teacher_student.simulate` for ``settings``.

    Injected noise, online or paper data (the benchmark's cases). Online, per
    replica-step: the batch moment ``Ĉ_xx`` (``N`` chi-squares and ``N (N − 1)/2``
    normals, `moment_draws`) and one GOE matrix (``N (N + 1)/2`` normals).
    Paper: each draw's shared dataset once, and the GOE matrices of one epoch
    per replica, replayed every epoch (`keeps_epoch_noise`); or, for an epoch
    too large to keep, drawn again every epoch from the rewound streams.
    """
    if settings["noise_kind"] != "injected" or settings["dataset"] not in ("online", "paper"):
        raise ValueError("the floor implements injected noise, online or paper data")
    n, batch = len(settings["teacher"]), settings["batch_size"]
    replicas_per_draw = draw_sizes(settings["replicas"], settings["dataset_draws"])
    numbers = hidden_frame_draws(settings)
    streams, data = {}, None
    if settings["dataset"] == "paper":
        numbers += shared_dataset_draws(settings)
        epoch = settings["batches_per_epoch"]
    else:  # online: every replica draws its own batch moments
        data_streams = (Stream.DATASET_NORMAL, Stream.DATASET_CHISQUARE)
        data = streams[data_streams] = block_generators(settings, replicas_per_draw, data_streams)
        epoch = None
    injected, initial = (Stream.NOISE,), (Stream.INITIAL_WEIGHTS,)
    noise = streams[injected] = block_generators(settings, replicas_per_draw, injected)
    streams[initial] = block_generators(settings, replicas_per_draw, initial)
    numbers += initial_weight_draws(streams[initial], n)
    kept = epoch is not None and keeps_epoch_noise(settings)
    if kept:  # one epoch of noise, drawn once from the rewound streams
        noise.restart()
        numbers += goe_draws(noise, epoch, n)
    max_chunk = max(1, teacher_student.CHUNK_ELEMENTS // (settings["replicas"] * n**2))
    for first, end in chunks(settings, epoch, max_chunk):
        if data is not None:
            for (normal, chisquare), size in data.blocks:
                numbers += moment_draws(normal, chisquare, (end - first, size), n, batch)
        if not kept:
            if epoch is not None and first % epoch == 0:
                noise.restart()  # each sample's injected noise is fixed: it repeats every epoch
            numbers += goe_draws(noise, end - first, n)
    return FloorRun(numbers, streams)


def keeps_epoch_noise(settings: dict) -> bool:
    """Whether the package keeps a finite dataset's epoch of noise (`_BatchSource`)."""
    n = len(settings["teacher"])
    epoch_bytes = 8 * settings["batches_per_epoch"] * settings["replicas"] * n**2
    return epoch_bytes <= teacher_student.EPOCH_NOISE_BYTES


def goe_draws(noise: ReplicaStream, steps: int, n: int) -> int:
    """The normals of ``steps`` GOE matrices per replica (`sampling.goe_matrices`)."""
    return sum(
        normal.standard_normal((steps, size, n * (n + 1) // 2)).size
        for (normal,), size in noise.blocks
    )


def hidden_frame_draws(settings: dict) -> int:
    """The two Haar frames of the hidden layer ``Z`` (`teacher_student.hidden_matrix`)."""
    if settings.get("hidden") is None:
        return 0
    n = len(settings["hidden"])
    generator = np.random.default_rng(
        seed_sequence(settings["root_seed"], 0, 0, 0, Stream.HIDDEN_FRAME)
    )
    return sum(generator.standard_normal((n, n)).size for _ in range(2))


def shared_dataset_draws(settings: dict) -> int:
    """The batch moments of every draw's shared dataset (`_BatchSource._shared_dataset`)."""
    numbers = 0
    for draw in range(settings["dataset_draws"]):
        normal, chisquare = (
            np.random.default_rng(
                seed_sequence(settings["root_seed"], settings["point_seed"], draw, 0, stream)
            )
            for stream in (Stream.SHARED_DATASET_NORMAL, Stream.SHARED_DATASET_CHISQUARE)
        )
        numbers += moment_draws(
            normal,
            chisquare,
            (settings["batches_per_epoch"],),
            len(settings["teacher"]),
            settings["batch_size"],
        )
    return numbers


# --- Gaussian RBM -----------------------------------------------------------------------


def gaussian_rbm_floor(settings: dict) -> FloorRun:
    """Draw every random number of `gaussian_rbm.simulate` for ``settings``.

    Per replica-step: the Gibbs normals of its ``gibbs_sampler``
    (`gibbs_chains.update_normals_shape`): ``|B| × size`` for the transition
    (the default), ``gibbs_steps × 2 × |B| × size`` sweep by sweep.
    """
    n, replicas = settings["size"], settings["replicas"]
    per_update = gibbs_chains.update_normals_shape(
        settings["gibbs_sampler"], settings["gibbs_steps"], settings["batch_size"], n
    )
    initial, gibbs = (Stream.INITIAL_WEIGHTS,), (Stream.GIBBS,)
    streams = {
        initial: block_generators(settings, [replicas], initial),
        gibbs: block_generators(settings, [replicas], gibbs),
    }
    numbers = initial_weight_draws(streams[initial], n)
    max_chunk = max(1, gaussian_rbm.CHUNK_ELEMENTS // (replicas * int(np.prod(per_update))))
    for first, end in chunks(settings, None, max_chunk):
        for (normal,), size in streams[gibbs].blocks:
            numbers += normal.standard_normal((end - first, size, *per_update)).size
    return FloorRun(numbers, streams)


FLOORS = {"teacher_student": teacher_student_floor, "gaussian_rbm": gaussian_rbm_floor}
"""The random-number floor of each model, by its config name."""


# --- Network: the matrix products of its steps ------------------------------------------


@dataclass
class NetworkProducts:
    """The arrays one step of `networks.simulate` multiplies, from the engine's own builders.

    ``trained`` are the matrices from the lowest learnable one up, ``[(replicas,
    n_{k+1}, n_k)]``; ``features`` one chunk of the features entering them,
    ``(chunk steps, replicas, batch, n_lowest)``, which the floor cycles through.
    """

    trained: list[np.ndarray]
    learnable: tuple[int, ...]  # indices into ``trained``
    features: np.ndarray
    steps: int


def network_products(settings: dict) -> NetworkProducts:
    """The disorder, initial weights and first chunk of features of `networks.simulate`.

    Built as the engine builds them (`networks.quenched`, `networks.batch_source`,
    `networks.initial_weights`, the chunk length of `networks.CHUNK_ELEMENTS`), so
    they draw exactly the engine's random numbers.
    """
    run = run_of(networks.NetworkRun, settings)
    disorder = networks.quenched(run)
    source = networks.batch_source(run, disorder)
    lowest = run.learnable[0]
    trained = disorder.student_network(learnable_views(run, networks.initial_weights(run)))
    chunk = min(run.steps, max(1, networks.CHUNK_ELEMENTS // step_elements(run)))
    features = source.chunk(0, chunk)[0]
    learnable = tuple(k - lowest for k in run.learnable)
    return NetworkProducts(trained[lowest:], learnable, np.ascontiguousarray(features), run.steps)


def network_product_floor(products: NetworkProducts) -> list[np.ndarray]:
    """Only the matrix products of every step of `networks.loss_and_gradients`; the last gradients.

    Per step ``t``, with ``h_0`` the features of step ``t`` (cycling through the
    chunk): ``h_{k+1} = h_k W_kᵀ`` up the trained matrices, then down from ``δ =
    h_top``: ``G_k = δᵀ h_k`` for a learnable ``k`` and ``δ ← δ W_k`` above the
    lowest one. The engine's products, without the activations, the loss and
    the update in between (so the values are those of a linear network with
    zero labels, times ``|B|``): into preallocated arrays, so that only the
    products are timed.
    """
    trained, features = products.trained, products.features
    replicas, batch = features.shape[1:3]
    transposed = [matrix.swapaxes(-1, -2) for matrix in trained]
    post = [features[0], *(np.empty((replicas, batch, m.shape[-1])) for m in transposed)]
    back = [np.empty_like(layer) for layer in post[:-1]]
    gradients = {k: np.empty_like(trained[k]) for k in products.learnable}
    lowest = products.learnable[0]
    for step in range(products.steps):
        post[0] = features[step % len(features)]
        for k, matrix in enumerate(transposed):
            np.matmul(post[k], matrix, out=post[k + 1])
        delta = post[-1]
        for k in range(len(trained) - 1, lowest - 1, -1):
            if k in gradients:
                np.matmul(delta.swapaxes(-1, -2), post[k], out=gradients[k])
            if k > lowest:
                delta = np.matmul(delta, trained[k], out=back[k])
    return [gradients[k] for k in products.learnable]
