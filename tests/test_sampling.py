"""Specifications of the random-matrix samplers in `sgd_dyson.sampling`.

Moments are compared with their exact values within 4 standard errors, the
standard error estimated from the sample's own spread; when one test makes many
comparisons the 4σ level is Bonferroni-corrected so that the whole test keeps a
false-failure probability ~6e-5.
"""

import itertools

import numpy as np
import pytest
from scipy import stats

from sgd_dyson.sampling import batch_second_moments, goe_matrices

from tolerances import FOUR_SIGMA_TAIL


def z_threshold(comparisons: int) -> float:
    """Two-sided z such that ``comparisons`` tests together fail falsely with probability ~6e-5."""
    return float(stats.norm.isf(FOUR_SIGMA_TAIL / (2 * comparisons)))


def assert_means_match(products: np.ndarray, expected: np.ndarray) -> None:
    """Sample means over axis 0 equal ``expected`` within the Bonferroni 4σ level."""
    samples = len(products)
    standard_error = products.std(axis=0, ddof=1) / np.sqrt(samples)
    deviation = np.abs(products.mean(axis=0) - expected)
    assert np.all(deviation <= z_threshold(expected.size) * standard_error), (
        deviation / standard_error
    )


def wishart_fourth_moments(dim: int, batch_size: int) -> np.ndarray:
    """``E[Ĉ_ij Ĉ_kl] = δ_ij δ_kl + (δ_ik δ_jl + δ_il δ_jk)/|B|`` (Aarts, Lucini & Park 2025)."""
    delta = np.eye(dim)
    return (
        np.einsum("ij,kl->ijkl", delta, delta)
        + (np.einsum("ik,jl->ijkl", delta, delta) + np.einsum("il,jk->ijkl", delta, delta))
        / batch_size
    )


def direct_batch_moments(rng: np.random.Generator, samples: int, dim: int, batch_size: int):
    """Reference sampler: draw each batch of ``u_b ~ N(0, I)`` and average ``u_b u_bᵀ``."""
    u = rng.standard_normal((samples, batch_size, dim))
    return np.swapaxes(u, -1, -2) @ u / batch_size


# --- GOE matrices -------------------------------------------------------------------


def test_goe_matrices_are_symmetric_with_the_requested_shape():
    matrices = goe_matrices(np.random.default_rng(1), (4, 5), 3, 0.7)
    assert matrices.shape == (4, 5, 3, 3)
    np.testing.assert_array_equal(matrices, np.swapaxes(matrices, -1, -2))


def test_goe_matrices_have_offdiagonal_variance_scale_squared_and_diagonal_twice_that():
    samples, dim, scale = 20_000, 3, 0.4
    matrices = goe_matrices(np.random.default_rng(2), (samples,), dim, scale)
    rows, cols = np.triu_indices(dim, k=1)
    off_diagonal = matrices[:, rows, cols]
    diagonal = matrices[:, np.arange(dim), np.arange(dim)]
    # Entries have mean 0, so var = mean(x²); for a normal its standard error is
    # var·sqrt(2/n) with n = samples × entries pooled. 4σ: false-failure probability ~6e-5.
    for entries, variance in [(off_diagonal, scale**2), (diagonal, 2 * scale**2)]:
        standard_error = variance * np.sqrt(2 / entries.size)
        assert abs(np.mean(entries**2) - variance) < 4 * standard_error


def test_goe_matrix_entries_are_uncorrelated_and_centred():
    samples, dim = 20_000, 3
    matrices = goe_matrices(np.random.default_rng(3), (samples,), dim, 1.0)
    rows, cols = np.triu_indices(dim)
    upper = matrices[:, rows, cols]
    pairs = np.array(list(itertools.combinations(range(rows.size), 2)))
    products = upper[:, pairs[:, 0]] * upper[:, pairs[:, 1]]
    assert_means_match(np.concatenate([upper, products], axis=1), np.zeros(rows.size + len(pairs)))


# --- Mini-batch second moments ------------------------------------------------------

PATHS = [
    pytest.param(3, 7, id="Bartlett path (|B| > dim)"),
    pytest.param(3, 3, id="Bartlett path (|B| = dim)"),
    pytest.param(3, 2, id="direct path (|B| < dim)"),
    pytest.param(4, 1, id="direct path (|B| = 1)"),
]


@pytest.mark.parametrize(("dim", "batch_size"), PATHS)
def test_batch_second_moments_are_symmetric_with_the_requested_shape(dim, batch_size):
    rng = np.random.default_rng(4)
    moments = batch_second_moments(rng, rng, (2, 5), dim, batch_size)
    assert moments.shape == (2, 5, dim, dim)
    np.testing.assert_allclose(moments, np.swapaxes(moments, -1, -2), rtol=1e-14, atol=0)


@pytest.mark.parametrize(("dim", "batch_size"), PATHS)
def test_batch_second_moments_have_mean_identity(dim, batch_size):
    samples = 40_000
    normal, chisquare = np.random.default_rng(5), np.random.default_rng(6)
    moments = batch_second_moments(normal, chisquare, (samples,), dim, batch_size)
    assert_means_match(moments.reshape(samples, -1), np.eye(dim).ravel())


@pytest.mark.parametrize(("dim", "batch_size"), PATHS)
def test_batch_second_moments_have_the_wishart_fourth_moments(dim, batch_size):
    samples = 40_000
    normal, chisquare = np.random.default_rng(7), np.random.default_rng(8)
    moments = batch_second_moments(normal, chisquare, (samples,), dim, batch_size)
    products = np.einsum("nij,nkl->nijkl", moments, moments).reshape(samples, -1)
    assert_means_match(products, wishart_fourth_moments(dim, batch_size).ravel())


@pytest.mark.parametrize(("dim", "batch_size"), [(2, 2), (3, 5), (4, 16)])
def test_bartlett_moments_agree_in_distribution_with_drawing_the_batch(dim, batch_size):
    samples = 20_000
    normal, chisquare = np.random.default_rng(9), np.random.default_rng(10)
    bartlett = batch_second_moments(normal, chisquare, (samples,), dim, batch_size)
    direct = direct_batch_moments(np.random.default_rng(11), samples, dim, batch_size)
    # Two-sample Kolmogorov–Smirnov tests on rotation-invariant and entry-wise statistics;
    # Bonferroni over the statistics keeps the whole test's false-failure probability ~6e-5.
    statistics = {
        "trace": lambda c: np.trace(c, axis1=-2, axis2=-1),
        "log det": lambda c: np.linalg.slogdet(c)[1],
        "smallest eigenvalue": lambda c: np.linalg.eigvalsh(c)[:, 0],
        "largest eigenvalue": lambda c: np.linalg.eigvalsh(c)[:, -1],
        "first diagonal": lambda c: c[:, 0, 0],
        "last diagonal": lambda c: c[:, -1, -1],
        "off-diagonal": lambda c: c[:, -1, 0],
    }
    for name, statistic in statistics.items():
        result = stats.ks_2samp(statistic(bartlett), statistic(direct))
        assert result.pvalue > FOUR_SIGMA_TAIL / len(statistics), name


def test_bartlett_determinant_is_a_product_of_chi_squares():
    # det(|B| Ĉ) = Π_i χ²(|B| − i) (Bartlett): E[det(|B|Ĉ)] = Π_i (|B| − i) exactly.
    dim, batch_size, samples = 3, 6, 40_000
    normal, chisquare = np.random.default_rng(12), np.random.default_rng(13)
    moments = batch_second_moments(normal, chisquare, (samples,), dim, batch_size)
    determinant = np.linalg.det(batch_size * moments)
    expected = np.prod(batch_size - np.arange(dim))
    standard_error = determinant.std(ddof=1) / np.sqrt(samples)
    # 4σ: false-failure probability ~6e-5.
    assert abs(determinant.mean() - expected) < 4 * standard_error
