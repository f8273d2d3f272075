"""The closure of the Gaussian RBM's theory: levels of ``X = WᵀW`` from its mean and covariance.

`rbm_theory` predicts the first two moments of ``X`` in the eigenframe of the target;
the levels are the eigenvalues of a random matrix with those moments. The Gaussian
closure (`predicted_gram_levels`) draws ``X`` itself as a Gaussian; the Gram closure
(`gram_closure_levels`) draws the weights as a Gaussian and keeps ``X = WᵀW`` a Gram
matrix, with its third cumulants.
"""

import numpy as np


def symmetric_normals(samples: int, size: int, generator: np.random.Generator) -> np.ndarray:
    """Symmetric matrices ``(samples, size, size)`` of independent standard normal entries.

    The upper triangle (diagonal included) is drawn, the lower mirrors it.
    """
    normals = np.triu(generator.standard_normal((samples, size, size)))
    return normals + np.triu(normals, 1).swapaxes(-1, -2)


def gram_closure_weights(
    center: np.ndarray, covariance: np.ndarray, tolerance: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``W = diag(√c) + Z`` whose Gram matrix ``X = WᵀW`` has ``E[X] = diag(center)``
    and ``Var X_ij = covariance_ij``: ``c`` ``(n,)`` and ``w = Var Z_ij`` ``(n, n)`` symmetric.

    ``Z`` has independent Gaussian entries (the weights' fluctuation is isotropic to
    leading order: ``Z_ij`` and ``Z_ji`` alike). By Isserlis, with ``X_ij = √c_i Z_ij +
    √c_j Z_ji + Σ_k Z_ki Z_kj + δ_ij c_i``,

        E[X_ii] = c_i + Σ_k w_ki,
        Var X_ij = (c_i + c_j) w_ij + Σ_k w_ki w_kj        (i ≠ j),
        Var X_ii = 4 c_i w_ii + 2 Σ_k w_ki²,

    solved by fixed-point iteration from ``w = 0`` (the quadratic terms are of relative
    order ``w/c``). Raises `ValueError` where no such weights exist.
    """
    center = np.asarray(center, dtype=float)
    covariance = np.asarray(covariance, dtype=float)
    diagonal = np.diag_indices(center.size)
    spread, weights = np.zeros_like(covariance), center
    for _ in range(200):
        sums = weights[:, None] + weights[None, :]
        sums[diagonal] = 4 * weights
        quadratic = spread @ spread
        quadratic[diagonal] = 2 * np.sum(spread**2, axis=0)
        updated = (covariance - quadratic) / sums
        weights = center - updated.sum(axis=0)
        if np.any(weights <= 0) or np.any(updated < 0):
            raise ValueError("no Gaussian weights have a Gram matrix of this mean and covariance")
        converged = np.max(np.abs(updated - spread)) <= tolerance * np.max(covariance)
        spread = updated
        if converged:
            return weights, spread
    raise ValueError("the Gram closure's weights did not converge")


def gram_closure_levels(
    center: np.ndarray, covariance: np.ndarray, samples: int, generator: np.random.Generator
) -> np.ndarray:
    """Eigenvalues of ``X = WᵀW``, ``W = diag(√c) + Z`` (`gram_closure_weights`): ``(samples,
    n)`` ascending, ``E[X] = diag(center)`` and ``Var X_ij = covariance_ij``.

    The Gram closure of ``X`` in its eigenframe: the weights, not ``X``, fluctuate as a
    Gaussian, so ``X`` keeps a Gram matrix's third cumulants (e.g. ``E[Y_ii Y_ij²] =
    4 c_i w_ii w_ij + 2 c_j w_ij²``, of the order of ``(Var Y)²``), which push the single
    levels outward beyond a Gaussian ``X`` of the same moments (`predicted_gram_levels`):
    measured on the default lattice at α/|B| = 0.1/16, the top single by +0.006 and the
    bottom one by +0.004; given the simulation's own moments this closure reproduces
    every single level's mean.
    """
    center = np.asarray(center, dtype=float)
    weights, spread = gram_closure_weights(center, covariance)
    fluctuation = generator.standard_normal((samples, center.size, center.size))
    gram_root = np.diag(np.sqrt(weights)) + fluctuation * np.sqrt(spread)
    return np.linalg.eigvalsh(np.swapaxes(gram_root, -1, -2) @ gram_root)


def predicted_gram_levels(
    center: np.ndarray, covariance: np.ndarray, samples: int, generator: np.random.Generator
) -> np.ndarray:
    """Eigenvalues of ``diag(center) + Y``, ``Y_ij ~ N(0, covariance_ij)`` independent
    (symmetric): ``(samples, n)`` ascending. The Gaussian closure of ``X`` in its eigenframe,
    the α/|B| → 0 limit of `gram_closure_levels`."""
    center = np.asarray(center, dtype=float)
    deviations = symmetric_normals(samples, center.size, generator) * np.sqrt(covariance)
    return np.linalg.eigvalsh(np.diag(center) + deviations)
