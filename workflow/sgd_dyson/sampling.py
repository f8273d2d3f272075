"""Samplers of the random matrices SGD sees: GOE noise and mini-batch covariances.

All take the generator and the leading shape explicitly and return arrays of
shape ``(*shape, dim, dim)``.
"""

import numpy as np


def goe_matrices(
    generator: np.random.Generator, shape: tuple[int, ...], dim: int, scale: float
) -> np.ndarray:
    """Symmetric Gaussian (GOE-normalised) matrices.

    Off-diagonal entries have standard deviation ``scale``, diagonal entries
    ``sqrt(2) * scale`` (Aarts, Lucini & Park 2025). Draws ``dim (dim + 1) / 2``
    normals per matrix, upper triangle row by row.
    """
    rows, cols = np.triu_indices(dim)
    upper = generator.standard_normal((*shape, rows.size))
    upper *= scale
    upper[..., rows == cols] *= np.sqrt(2.0)
    matrices = np.empty((*shape, dim, dim))
    # Entry by entry: strided copies are much faster than fancy-indexed scatters.
    for index, (row, col) in enumerate(zip(rows, cols, strict=True)):
        matrices[..., row, col] = matrices[..., col, row] = upper[..., index]
    return matrices


def batch_second_moments(
    normal_generator: np.random.Generator,
    chisquare_generator: np.random.Generator,
    shape: tuple[int, ...],
    dim: int,
    batch_size: int,
) -> np.ndarray:
    """Mini-batch second moments ``mean_b u_b u_bᵀ`` of ``u_b ~ N(0, I_dim)``.

    ``batch_size * result`` is Wishart(I_dim, batch_size). For ``batch_size >=
    dim`` it is sampled by the Bartlett decomposition ``A = L Lᵀ`` with
    ``L_ii = sqrt(χ²(batch_size − i))`` and ``L_ij ~ N(0, 1)`` below the
    diagonal (Bartlett 1933), which costs ``dim (dim + 1) / 2`` numbers instead
    of ``batch_size * dim``; smaller batches are drawn sample by sample. The
    distribution is exactly that of drawing the batch.
    """
    if batch_size < dim:
        samples = normal_generator.standard_normal((*shape, batch_size, dim))
        return np.swapaxes(samples, -1, -2) @ samples / batch_size
    rows, cols = np.tril_indices(dim, k=-1)
    factor = np.zeros((*shape, dim, dim))
    diagonal = np.arange(dim)
    degrees = batch_size - diagonal
    factor[..., diagonal, diagonal] = np.sqrt(
        chisquare_generator.chisquare(degrees, size=(*shape, dim))
    )
    factor[..., rows, cols] = normal_generator.standard_normal((*shape, rows.size))
    return factor @ np.swapaxes(factor, -1, -2) / batch_size
