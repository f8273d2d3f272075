"""What the network engine's SGD sees: datasets, labels and injected noise (`networks`).

Inputs ``x ~ N(0, I_{n_0})``, labels ``y = teacher(x)``, plus ``ε ξ`` with
``ξ ~ N(0, I_{n_L})`` for label noise. The teacher enters as a function of the
inputs (`Teacher`), so this module needs nothing of the networks but their
sizes (`networks.NetworkRun`). The learnable matrices of a replica are packed into
one flat state of ``P`` entries (`learnable_views`), and so is the noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .seeding import ReplicaStream, Stream, draw_sizes, seed_sequence

if TYPE_CHECKING:
    from .networks import NetworkRun

Teacher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Inputs ``(..., batch, n_0)`` → the teacher's ``(h_k, ŷ)``: the features entering the lowest
learnable matrix ``k`` (the layers below it are fixed, the student's too) and its outputs."""


def learnable_views(run: NetworkRun, flat: np.ndarray) -> list[np.ndarray]:
    """Views ``(..., rows, cols)`` of each learnable matrix in a flat ``(..., P)`` state.

    The matrices are packed in ``learnable`` order, each row-major.
    """
    views, offset = [], 0
    for rows, cols in (run.shapes[k] for k in run.learnable):
        views.append(flat[..., offset : offset + rows * cols].reshape(*flat.shape[:-1], rows, cols))
        offset += rows * cols
    return views


def injected_noise(
    run: NetworkRun, generator: np.random.Generator, shape: tuple[int, ...]
) -> np.ndarray:
    """Batch means of the per-sample injected gradient noise, packed: ``(*shape, P)``.

    Every sample carries, per learnable matrix, a fixed random matrix added to
    its gradient: for a square matrix a GOE matrix of scale ε (off-diagonal
    standard deviation ε, diagonal √2 ε: the law of `sampling.goe_matrices`,
    so one square layer has the linear model's injected noise), for a
    rectangular one i.i.d. ``N(0, ε²)`` entries. The mean over a batch of
    ``|B|`` samples has the same law at scale ε/√|B| and is drawn directly:
    exact for every protocol, since batches never reshuffle, so a sample's
    matrix only ever enters through its batch's mean. A
    GOE matrix is drawn as ``(X + Xᵀ)/√2`` of i.i.d. normal ``X``, so every
    matrix takes ``rows × cols`` normals, all of a step's together (step-major).
    """
    noise = generator.standard_normal((*shape, run.parameters))
    noise *= run.noise / np.sqrt(run.batch_size)
    for view in learnable_views(run, noise):
        if view.shape[-1] == view.shape[-2]:
            view[...] = (view + view.swapaxes(-1, -2)) / np.sqrt(2.0)
    return noise


def sample_width(run: NetworkRun) -> int:
    """Normals per sample: the input's ``n_0``, and the label noise's ``n_L`` if any."""
    return run.layers[0] + (run.layers[-1] if run.noise_kind == "label" else 0)


def labelled(
    run: NetworkRun, teacher: Teacher, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels from standard normals ``(..., batch, sample_width)``.

    ``x`` is the first ``n_0`` normals, ``(h_k, ŷ) = teacher(x)``, and the
    label ``y = ŷ``, plus ``ε ξ`` with ``ξ`` the remaining ``n_L`` normals for
    label noise.
    """
    features, labels = teacher(normals[..., : run.layers[0]])
    if run.noise_kind == "label":
        labels = labels + run.noise * normals[..., run.layers[0] :]
    return features, labels


def shared_dataset(run: NetworkRun, teacher: Teacher) -> tuple[np.ndarray, np.ndarray]:
    """The ``paper`` protocol's dataset of every draw, cut into its batches in order.

    Features ``(draws, batches_per_epoch, batch, n_k)`` and labels ``(…,
    n_L)`` (`labelled`), from the normals of ``seed_sequence(root_seed,
    point_seed, d, 0, Stream.SHARED_DATASET_NORMAL)`` for draw ``d``;
    ``teacher`` maps ``(draws, samples, n_0)`` through each draw's teacher.
    """
    shape = (run.batches_per_epoch * run.batch_size, sample_width(run))
    normals = np.stack(
        [
            np.random.default_rng(
                seed_sequence(run.root_seed, run.point_seed, draw, 0, Stream.SHARED_DATASET_NORMAL)
            ).standard_normal(shape)
            for draw in range(run.dataset_draws)
        ]
    )
    batches = (run.dataset_draws, run.batches_per_epoch, run.batch_size)
    return tuple(array.reshape(*batches, -1) for array in labelled(run, teacher, normals))


class BatchSource:
    """The per-step features, labels and injected noise of SGD for one dataset protocol.

    The features are the activations entering the lowest learnable matrix
    (`Teacher`). ``paper``: each draw's `shared_dataset`, batches in fixed
    order, replayed every epoch (``teacher`` maps ``(draws, samples, n_0)``);
    ``per_replica``: every replica's own samples from ``Stream.DATASET_NORMAL``,
    rewound every epoch; ``online``: the same stream, never rewound
    (``teacher`` maps ``(steps, replicas, batch, n_0)``, each replica's own).
    The injected noise (``Stream.NOISE``, every replica its own) is fixed with
    its sample, so finite datasets rewind it every epoch too (`start_epoch`).
    """

    def __init__(self, run: NetworkRun, draw_of_replica: np.ndarray, teacher: Teacher):
        self.run, self.draw_of_replica, self.teacher = run, draw_of_replica, teacher
        seeds = (run.root_seed, run.point_seed, draw_sizes(run.replicas, run.dataset_draws))
        self.data = self.noise = None
        if run.dataset == "paper":
            self.features, self.labels = shared_dataset(run, teacher)
        else:
            self.data = ReplicaStream(*seeds, (Stream.DATASET_NORMAL,))
        if run.noise_kind == "injected":
            self.noise = ReplicaStream(*seeds, (Stream.NOISE,))

    @property
    def streams(self) -> list[ReplicaStream]:
        """The per-replica streams drawn from during training (checkpointed)."""
        return [stream for stream in (self.data, self.noise) if stream is not None]

    def start_epoch(self) -> None:
        """Rewind the per-replica streams so that the next epoch replays the same samples."""
        for stream in self.streams:
            stream.restart()

    def chunk(self, first_step: int, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features ``(steps, replicas, batch, n_k)``, labels ``(…, n_L)``, noise ``(…, P)``.

        The noise is None without injected noise. A chunk never crosses an epoch's end.
        """
        run = self.run
        if run.dataset == "paper":
            offset = first_step % run.batches_per_epoch
            features, labels = (
                array[:, offset : offset + steps][self.draw_of_replica].swapaxes(0, 1)
                for array in (self.features, self.labels)
            )
        else:
            normals = self.data.sample(
                lambda generator, shape: generator.standard_normal(
                    (*shape, run.batch_size, sample_width(run))
                ),
                steps,
            )
            features, labels = labelled(run, self.teacher, normals)
        noise = None
        if self.noise is not None:
            noise = self.noise.sample(
                lambda generator, shape: injected_noise(run, generator, shape), steps
            )
        return features, labels, noise


def step_elements(run: NetworkRun) -> int:
    """Elements of one step's arrays in a chunk (an upper bound for every protocol).

    Per replica: a batch of normals, labels, and the teacher's and the fixed
    layers' activations and pre-activations, ``|B| (n_0 + n_L + 2 Σ_{k≥1}
    n_k)``, plus the packed injected noise, ``P``.
    """
    per_sample = run.layers[0] + run.layers[-1] + 2 * sum(run.layers[1:])
    noise = run.parameters if run.noise_kind == "injected" else 0
    return run.replicas * (run.batch_size * per_sample + noise)


def dataset_elements(run: NetworkRun) -> int:
    """Elements of the ``paper`` protocol's datasets at their peak (`shared_dataset`); else 0.

    Per sample: the normals and the teacher's activations and pre-activations
    while it is labelled, ``n_0 + n_L + 2 Σ_{k≥1} n_k`` (then only the
    features and the labels are kept).
    """
    if run.dataset != "paper":
        return 0
    samples = run.dataset_draws * run.batches_per_epoch * run.batch_size
    return samples * (run.layers[0] + run.layers[-1] + 2 * sum(run.layers[1:]))
