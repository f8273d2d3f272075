"""SGD steps on a dataset shared by a draw's replicas, composed into one affine map per chunk.

The teacher–student model's paper protocol (`models.teacher_student`: a dataset shared
within each draw, injected noise) is linear in the weights, so a chunk of steps is one
affine map per draw and one contraction of the replayed noise per replica
(`composed_steps`), equal to stepping up to rounding.
"""

import numpy as np


def step_maps(moments: np.ndarray, gram: np.ndarray, learning_rate: float) -> np.ndarray:
    """``A_t = I − α G ⊗ Ĉ_tᵀ``: one SGD step's linear part on row-major ``vec(W)``.

    ``W ← W − α G W Ĉ_t`` is ``vec(W) ← A_t vec(W)`` with
    ``(G ⊗ Ĉ_tᵀ)[(i, l), (j, k)] = G_ij Ĉ_t,kl``. ``moments`` is ``(..., N, N)``;
    the result ``(..., N², N²)``.
    """
    size = gram.shape[0]
    product = np.einsum("ij,...kl->...iljk", gram, moments)
    product = product.reshape(*moments.shape[:-2], size**2, size**2)
    return np.eye(size**2) - learning_rate * product


def suffix_products(maps: np.ndarray) -> np.ndarray:
    """``S_t = A_{L−1} ⋯ A_{t+1}`` (``S_{L−1} = I``) of maps ``(..., L, m, m)``."""
    products = np.empty_like(maps)
    products[..., -1, :, :] = np.eye(maps.shape[-1])
    for t in range(maps.shape[-3] - 2, -1, -1):
        np.matmul(products[..., t + 1, :, :], maps[..., t + 1, :, :], out=products[..., t, :, :])
    return products


def composed_steps(
    weights: np.ndarray,
    teacher: np.ndarray,
    gram: np.ndarray,
    moments: np.ndarray,
    additive: np.ndarray,
    learning_rate: float,
    draw_of_replica: np.ndarray,
) -> np.ndarray:
    """A chunk of SGD steps with a dataset shared within each draw, as one affine map.

    Each step is ``vec(W) ← A_t vec(W) + α (G ⊗ Ĉ_tᵀ) vec(W*) − α vec(Ā_t)``
    (`step_maps`; ``G = ZᵀZ``). Over the chunk, ``vec(W_L) = M vec(W_0) + u +
    v``, with ``M = S_0 A_0``, the shared offset ``u = α Σ_t S_t (G ⊗ Ĉ_tᵀ)
    vec(W*)`` and the replica's own ``v = −α Σ_t S_t vec(Ā_t)`` (`suffix_products`
    ``S_t``); ``M`` and ``u`` are the same for every replica of a draw, so a
    chunk costs one contraction of the noise per replica. ``moments`` is
    ``(draws, steps, N, N)``, ``additive`` ``(steps, replicas, N, N)``, and the
    replicas of a draw are contiguous (``draw_of_replica`` ascending); returns
    the new weights. Equal to stepping up to rounding.
    """
    replicas, size = weights.shape[0], weights.shape[-1]
    squared = size * size
    maps = step_maps(moments, gram, learning_rate)
    suffix = suffix_products(maps)
    transfer = suffix[:, 0] @ maps[:, 0]
    pulls = (np.eye(squared) - maps) @ teacher.reshape(squared)  # α (G ⊗ Ĉᵀ) vec(W*)
    shared = (suffix @ pulls[..., None])[..., 0].sum(axis=1)
    flat = weights.reshape(replicas, squared)
    # Replica-major (a view when the noise was kept replica-major, else one copy).
    noise = additive.swapaxes(0, 1).reshape(replicas, -1)
    bounds = np.searchsorted(draw_of_replica, np.arange(len(moments) + 1))
    updated = np.empty_like(flat)
    for draw, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        # Σ_t S_t vec(Ā_t,r) for every replica r of the draw: one matrix product.
        by_step = suffix[draw].transpose(0, 2, 1).reshape(-1, squared)
        updated[start:stop] = (
            flat[start:stop] @ transfer[draw].T
            + shared[draw]
            - learning_rate * (noise[start:stop] @ by_step)
        )
    return updated.reshape(weights.shape)
