"""Persistent block-Gibbs chains of the Gaussian RBM: sweep by sweep, or k sweeps in one step.

The chains are stored scaled, ``u = μ v`` (`models.gaussian_rbm`), as ``(R, |B|, n)``
row vectors, replicas on axis 0. One sweep (``h | v``, then ``v | h``) is
``u ← B u + η`` with ``B = s² WᵀW``, ``s = σ_h/μ``, ``Cov η = I + B``
(`gibbs_sweeps`); its ``k``-fold composition is one Gaussian transition
(`k_sweep_transition`, `transition_step`). The two are the same Markov chain in
law, not the same numbers.
"""

import numpy as np

GIBBS_SAMPLERS = ("transition", "sweeps")
"""How the chains advance by ``gibbs_steps`` sweeps: in one exact step, or sweep by sweep."""

CHOLESKY_SAFETY = 20.0
"""Cholesky of an n × n positive-definite C runs to completion in floating point if
``20 n^{3/2} κ₂(C) u < 1`` (u the unit round-off; Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., ch. 10), the factor 20 of that bound."""


def update_normals_shape(sampler: str, gibbs_steps: int, batch_size: int, size: int):
    """The standard normals one update draws per replica, by `GIBBS_SAMPLERS` entry.

    ``transition``: ``(|B|, n)``, one ``ζ`` per chain (`k_sweep_transition`);
    ``sweeps``: ``(gibbs_steps, 2, |B|, n)``, index 0 of the second axis driving
    the hidden half-sweep and 1 the visible one (`gibbs_sweeps`).
    """
    if sampler == "transition":
        return (batch_size, size)
    return (gibbs_steps, 2, batch_size, size)


def chain_normals(generator: np.random.Generator, shape: tuple[int, ...], per_update: tuple):
    """Normals of ``steps × block`` updates, step-major: ``(steps, block, *per_update)``."""
    return generator.standard_normal((*shape, *per_update))


def gibbs_sweeps(
    chains: np.ndarray,
    weights: np.ndarray,
    coupling: float,
    normals: np.ndarray,
    hidden: np.ndarray,
    to_hidden: np.ndarray,
    to_visible: np.ndarray,
) -> None:
    """Block-Gibbs sweeps on scaled chains ``u = μ v`` ``(R, |B|, n)``, in place.

    In the scaled variables ``u = μ v`` and ``g = h/σ_h`` the conditionals
    ``h | v ~ N(σ_h² W v, σ_h² I)`` and ``v | h ~ N(Wᵀh/μ², I/μ²)`` read
    ``g = s W u + ξ`` and ``u = s Wᵀ g + ξ'`` with ``coupling`` ``s = σ_h/μ``
    and standard normals ``ξ, ξ'``: each half-sweep is one matmul and one add.
    ``weights`` ``(R, n, n)``; ``normals`` ``(R, sweeps, 2, |B|, n)`` holds ``ξ``
    at index 0 and ``ξ'`` at 1 of axis 2. ``hidden`` ``(R, |B|, n)``,
    ``to_hidden`` and ``to_visible`` ``(R, n, n)`` are scratch space.
    """
    # Row vectors: g_row = s u_row Wᵀ, u_row = s g_row W.
    np.multiply(np.swapaxes(weights, -1, -2), coupling, out=to_hidden)
    np.multiply(weights, coupling, out=to_visible)
    for sweep in range(normals.shape[1]):
        np.matmul(chains, to_hidden, out=hidden)
        hidden += normals[:, sweep, 0]
        np.matmul(hidden, to_visible, out=chains)
        chains += normals[:, sweep, 1]


def k_sweep_transition(weights: np.ndarray, coupling: float, sweeps: int):
    """Mean map ``P`` and noise factor ``U`` of ``sweeps`` block-Gibbs sweeps drawn in one step.

    In the scaled variables of `gibbs_sweeps` (column vectors) one sweep is
    ``u ← s² WᵀW u + s Wᵀξ + ξ' = B u + η`` with ``B = s² X``, ``X = WᵀW``, ``s =
    σ_h/μ`` and ``Cov η = I + B`` (``ξ, ξ'`` independent). ``k`` sweeps compose to
    ``u ← Bᵏ u + Σ_{j<k} Bʲ η_j``, a Gaussian transition with noise covariance

        C = Σ_{j<k} Bʲ (I + B) Bʲ = Σ_{m<2k} Bᵐ = G (I + Bᵏ),   G = Σ_{j<k} Bʲ

    (B symmetric, and ``B²ʲ(I + B) = B²ʲ + B²ʲ⁺¹``), for any ``X`` and any
    state of the chain. Where ``K = μ² − σ_h² X`` is positive definite this is
    ``S − Bᵏ S Bᵏ`` with ``S = (I − B)⁻¹ = μ² K⁻¹``, the chains' stationary
    covariance ``(μ² − σ_h² X)⁻¹`` in ``v = u/μ`` (one sweep: ``S − BSB = I + B
    = Cov η``). Every eigenvalue of ``C`` is ``Σ_{m<2k} bᵐ ≥ 1`` (``b ≥ 0``), so
    ``κ₂(C) ≤ tr C``: replicas with ``tr C`` below the Cholesky bound
    (`CHOLESKY_SAFETY`) are factored by Cholesky, the others (``K`` far from
    positive definite: chains growing without bound) by `_spectral_transition`;
    replicas with non-finite ``X`` get NaN, which the model's divergence check then finds.

    ``weights`` ``(R, n, n)``; returns ``P = Bᵏ`` and upper-triangular ``U`` with
    ``UᵀU = C``, both ``(R, n, n)``. In row form the ``k`` sweeps are
    ``u ← u P + ζ U`` with ``ζ ~ N(0, I_n)`` per chain (`transition_step`):
    ``n`` normals per chain instead of ``2kn``.
    """
    scaled = coupling * weights
    # Contiguous operands: a transposed view takes numpy's slower matmul path.
    step_map = np.ascontiguousarray(np.swapaxes(scaled, -1, -2)) @ scaled  # B = s² WᵀW
    mean_map, higher = step_map, np.zeros_like(step_map)  # higher: Σ_{0<j<k} Bʲ
    for _ in range(sweeps - 1):
        higher += mean_map
        mean_map = mean_map @ step_map
    covariance = higher @ mean_map  # C = (I + higher)(I + Bᵏ)
    covariance += higher
    covariance += mean_map
    size = weights.shape[-1]
    covariance.reshape(len(covariance), -1)[:, :: size + 1] += 1.0  # + I, on the diagonal view
    bound = 1.0 / (CHOLESKY_SAFETY * size**1.5 * np.finfo(float).eps / 2)
    trace = np.trace(covariance, axis1=-2, axis2=-1)
    factorable = np.isfinite(covariance).all(axis=(1, 2)) & (trace < bound)
    if factorable.all():  # the usual case: only diverging replicas are beyond the bound
        return mean_map, _upper_factor(covariance)
    noise_factor = np.empty_like(covariance)
    noise_factor[factorable] = _upper_factor(covariance[factorable])
    rest = ~factorable
    mean_map[rest], noise_factor[rest] = _spectral_transition(step_map[rest], sweeps)
    return mean_map, noise_factor


def _upper_factor(covariance: np.ndarray) -> np.ndarray:
    """``U = Lᵀ`` of the Cholesky factor ``L Lᵀ = C`` ``(R, n, n)``, C-contiguous, so ``UᵀU = C``.

    (numpy's ``cholesky(upper=True)`` takes twice as long for these small matrices.)
    """
    return np.swapaxes(np.linalg.cholesky(covariance), -1, -2).copy()


def _spectral_transition(step_map: np.ndarray, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """`k_sweep_transition` by the eigendecomposition ``B = Q diag(b) Qᵀ``: ``(R', n, n)`` each.

    ``P = Q diag(bᵏ) Qᵀ`` and ``U = diag(√c) Qᵀ`` with ``c = Σ_{m<2k} bᵐ`` (so
    ``UᵀU = C``), backward stable however ill-conditioned ``C`` is. A replica
    whose ``B`` is not finite gets NaN in both.
    """
    finite = np.isfinite(step_map).all(axis=(1, 2))
    levels, frame = np.linalg.eigh(np.where(finite[:, None, None], step_map, 0.0))
    levels = np.maximum(levels, 0.0)  # B = s² WᵀW ⪰ 0; rounding can give −1e-17
    variances = sum(levels**power for power in range(2 * sweeps))
    frame_t = np.swapaxes(frame, -1, -2)
    mean_map = (frame * levels[:, None, :] ** sweeps) @ frame_t
    noise_factor = np.sqrt(variances)[:, :, None] * frame_t
    mean_map[~finite] = noise_factor[~finite] = np.nan
    return mean_map, noise_factor


def transition_step(
    chains: np.ndarray,
    mean_map: np.ndarray,
    noise_factor: np.ndarray,
    normals: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """``u ← u P + ζ U`` on scaled chains ``(R, |B|, n)`` in place (`k_sweep_transition`).

    ``normals`` ``ζ`` ``(R, |B|, n)``; ``scratch`` ``(R, |B|, n)``. ``P`` is
    symmetric, so the row form ``u P`` is the column form's ``P u``.
    """
    np.matmul(chains, mean_map, out=scratch)
    np.matmul(normals, noise_factor, out=chains)
    chains += scratch
