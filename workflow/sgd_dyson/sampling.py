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
    return _unpack(upper, dim, rows * dim + cols, cols * dim + rows)


def _unpack(packed: np.ndarray, dim: int, *positions: np.ndarray) -> np.ndarray:
    """``(..., dim, dim)`` matrices with ``packed[..., k]`` at the flat ``positions[·][k]``.

    Entries at no position take ``packed[..., -1]`` (a zero, for triangular
    matrices). One gather along the last axis (`numpy.take`): much faster than
    scattering into the matrices by fancy indexing.
    """
    source = np.full(dim * dim, packed.shape[-1] - 1)
    for flat in positions:
        source[flat] = np.arange(flat.size)
    return np.take(packed, source, axis=-1).reshape(*packed.shape[:-1], dim, dim)


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
    diagonal = np.arange(dim)
    degrees = batch_size - diagonal
    # L packed: its diagonal, the entries below it, and a zero for the entries above.
    packed = np.zeros((*shape, dim + rows.size + 1))
    packed[..., :dim] = np.sqrt(chisquare_generator.chisquare(degrees, size=(*shape, dim)))
    packed[..., dim:-1] = normal_generator.standard_normal((*shape, rows.size))
    positions = np.concatenate([diagonal * (dim + 1), rows * dim + cols])
    factor = _unpack(packed, dim, positions)
    # Lᵀ unpacked too: a product of two contiguous stacks is much faster than with a view.
    transposed = _unpack(packed, dim, (positions % dim) * dim + positions // dim)
    return factor @ transposed / batch_size


def haar_orthogonal(generator: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-random ``dim×dim`` orthogonal matrix: QR of a Gaussian matrix, signs fixed.

    Multiplying the columns of ``Q`` by the signs of ``diag(R)`` makes the
    decomposition unique, and then ``Q`` is Haar-distributed (Mezzadri 2007).
    """
    q, r = np.linalg.qr(generator.standard_normal((dim, dim)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs
