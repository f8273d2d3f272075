"""Exact stationary second moments of SGD with heavy-ball (or Nesterov) momentum.

Teacher–student model as in `theory`: with ``D = W − W*`` the mini-batch
gradient is ``g = G D Ĉ + A`` (``G = ZᵀZ``, fresh Wishart ``Ĉ = mean_b x_b x_bᵀ``,
mean-zero additive noise ``A`` with moments ``S = E[A ⊗ A]``), and PyTorch's
momentum (``dampening = 0``; buffer ``V = 0`` before the first step) is

    heavy ball:  V ← β V + g,   D ← D − α V,
    Nesterov:    V ← β V + g,   D ← D − α (g + β V).

In terms of the buffer *before* the step both are ``D ← D − a V − c g`` with
``(a, c) = (αβ, α)`` (heavy ball) or ``(αβ², α(1 + β))`` (Nesterov). The pair
``(D, V)`` is a linear random recursion, so its second moments ``P = E[D ⊗ D]``,
``Q = E[D ⊗ V]`` and ``R = E[V ⊗ V]`` (``M_ijkl = E[X_ij Y_kl]``; ``Qᵀ_ijkl = Q_klij
= E[V_ij D_kl]``) follow the closed linear recursion (`momentum_moment_step`)

    R ← β² R + β (G·Q + Qᵀ·G) + K(P) + S
    Q ← β Q + P·G − aβ R − a Qᵀ·G − cβ G·Q − c (K(P) + S)
    P ← P − a (Q + Qᵀ) − c (G·P + P·G) + a² R + ac (G·Q + Qᵀ·G) + c² (K(P) + S)

with ``(G·M)_ijkl = G_ia M_ajkl`` (``E[g ⊗ Y]``), ``(M·G)_ijkl = G_kc M_ijcl``
(``E[X ⊗ g]``) and ``K(P) + S = E[g ⊗ g]``, ``K`` = `theory.gradient_second_moments`
(the Wishart fourth moments, where two ``g`` meet). It follows from expanding
``E[(βV + g) ⊗ (βV + g)]``, ``E[(D − aV − cg) ⊗ (βV + g)]`` and ``E[(D − aV − cg) ⊗
(D − aV − cg)]`` with ``E[Ĉ] = 1`` and ``A`` independent of ``(D, V, Ĉ)``, as
`theory.moment_operator` does for ``β = 0`` (where ``P`` alone closes: ``P ← P −
αL(P) + α²S``). For the heavy ball the ``Q`` and ``P`` rows read ``Q ← βQ + P·G −
αR'`` and ``P ← P − α(β(Q + Qᵀ) + G·P + P·G) + α²R'`` with the updated ``R'``.

Solver: in the eigenframe of ``G = U diag(g) Uᵀ`` (left indices rotated, as in
`theory.stationary_second_moments`) every operation acts on the ``N × N`` blocks
``X_ik = X̃_{i·k·}`` alone, except ``Qᵀ``, which pairs block ``(i, k)`` of ``Q`` with
the transpose of block ``(k, i)``. ``G·`` and ``·G`` become ``g_i`` and ``g_k``, and
``K`` is ``κ g_i g_k`` on the antisymmetric, symmetric traceless and trace parts
of a block, ``κ = 1 − 1/|B|, 1 + 1/|B|, 1 + (N + 1)/|B|``. So each block and part
carries four numbers ``x = (p, q, q̌, r)`` (``q̌`` from ``Q̃_kiᵀ``) with ``x ← T x +
s (c², −c, −c, 1)``, ``s`` the part of ``S̃`` there (`_block_maps`): ``3N²`` exact
``4 × 4`` solves, ``O(N⁵)`` in all (the frame rotations), for any ``N``.
"""

from typing import NamedTuple

import numpy as np

from .theory import (
    _block_parts,
    _check_moments,
    _from_frame,
    _symmetric_gram,
    _to_frame,
    continuum_second_moments,
    gradient_second_moments,
    linear_model_noise_moments,
)

UNKNOWNS = 4
"""Numbers per block and part: ``p, q, q̌, r`` (`_block_maps`)."""


class MomentumMoments(NamedTuple):
    """Second moments of ``(D, V)``, each of shape ``(N,)*4`` (``M_ijkl = E[X_ij Y_kl]``)."""

    deviation: np.ndarray
    """``E[D_ij D_kl]``, ``D = W − W*``."""
    cross: np.ndarray
    """``E[D_ij V_kl]``."""
    velocity: np.ndarray
    """``E[V_ij V_kl]``, ``V`` the momentum buffer."""


def _check_momentum(momentum: float) -> None:
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")


def update_coefficients(
    learning_rate: float, momentum: float, nesterov: bool = False
) -> tuple[float, float]:
    """``(a, c)`` of the update ``D ← D − a V − c g`` with the buffer ``V`` before the step.

    Heavy ball ``D ← D − α(βV + g)``: ``(αβ, α)``; Nesterov ``D ← D − α(g + β(βV + g))``:
    ``(αβ², α(1 + β))``.
    """
    if nesterov:
        return learning_rate * momentum**2, learning_rate * (1 + momentum)
    return learning_rate * momentum, learning_rate


def momentum_moment_step(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    moments: MomentumMoments,
    noise_moments: np.ndarray,
    nesterov: bool = False,
) -> MomentumMoments:
    """The second moments of ``(D, V)`` one step later: the recursion of the module docstring.

    Applied matrix-free in ``O(N⁵)``; ``noise_moments`` is ``S = E[A ⊗ A]``.
    """
    gram = np.asarray(gram, dtype=float)
    shift, rate = update_coefficients(learning_rate, momentum, nesterov)
    deviation, cross, velocity = moments
    reversed_cross = cross.transpose(2, 3, 0, 1)  # E[V ⊗ D]
    gradients = gradient_second_moments(gram, batch_size, deviation) + noise_moments  # E[g ⊗ g]
    deviation_gradient = np.einsum("kc,ijcl->ijkl", gram, deviation)  # E[D ⊗ g]
    gradient_deviation = np.einsum("ia,ajkl->ijkl", gram, deviation)  # E[g ⊗ D]
    velocity_gradient = np.einsum("kc,ijcl->ijkl", gram, reversed_cross)  # E[V ⊗ g]
    gradient_velocity = np.einsum("ia,ajkl->ijkl", gram, cross)  # E[g ⊗ V]
    next_velocity = (
        momentum**2 * velocity + momentum * (gradient_velocity + velocity_gradient) + gradients
    )
    next_cross = (
        momentum * cross
        + deviation_gradient
        - shift * (momentum * velocity + velocity_gradient)
        - rate * (momentum * gradient_velocity + gradients)
    )
    next_deviation = (
        deviation
        - shift * (cross + reversed_cross)
        - rate * (deviation_gradient + gradient_deviation)
        + shift**2 * velocity
        + shift * rate * (velocity_gradient + gradient_velocity)
        + rate**2 * gradients
    )
    return MomentumMoments(next_deviation, next_cross, next_velocity)


def _block_maps(
    rates: np.ndarray, learning_rate: float, momentum: float, batch_size: int, nesterov: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One-step maps ``T`` ``(N, N, 3, 4, 4)`` of ``x = (p, q, q̌, r)`` per block and part.

    For block ``(i, k)`` and the part of ``K``-eigenvalue ``h = κ g_i g_k`` (parts in
    the order of `theory._block_parts`):

        p ← (1 − c(g_i + g_k) + c²h) p + a(c g_i − 1) q + a(c g_k − 1) q̌ + a² r + c² s
        q ← (g_k − c h) p + β(1 − c g_i) q − a g_k q̌ − aβ r − c s
        q̌ ← (g_i − c h) p − a g_i q + β(1 − c g_k) q̌ − aβ r − c s
        r ← h p + β g_i q + β g_k q̌ + β² r + s

    (the module docstring's recursion in the eigenframe; ``q̌`` obeys the transpose of
    the ``Q`` row of block ``(k, i)``). Returns ``T`` and the source direction
    ``(c², −c, −c, 1)``.
    """
    shift, rate = update_coefficients(learning_rate, momentum, nesterov)
    kappa = 1 + np.array([-1.0, 1.0, rates.size + 1]) / batch_size
    left, right = rates[:, None, None], rates[None, :, None]
    coupling = kappa * left * right
    left, right = np.broadcast_arrays(left, right, coupling)[:2]
    ones = np.ones_like(coupling)
    rows = [
        [
            1 - rate * (left + right) + rate**2 * coupling,
            shift * (rate * left - 1),
            shift * (rate * right - 1),
            shift**2 * ones,
        ],
        [
            right - rate * coupling,
            momentum * (1 - rate * left),
            -shift * right,
            -shift * momentum * ones,
        ],
        [
            left - rate * coupling,
            -shift * left,
            momentum * (1 - rate * right),
            -shift * momentum * ones,
        ],
        [coupling, momentum * left, momentum * right, momentum**2 * ones],
    ]
    maps = np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)
    return maps, np.array([rate**2, -rate, -rate, 1.0])


def _present_parts(size: int) -> np.ndarray:
    """``(N, N, 3)`` mask of the block parts a replica's moments can have.

    ``P`` and ``R`` are symmetric under ``(ij) ↔ (kl)``, so a diagonal block ``i = k``
    has no antisymmetric ``p, r``, and its ``q̌`` is the transpose of its ``q``: of its
    antisymmetric part only ``q = −q̌`` remains, with eigenvalue ``β(1 − c g_i) + a g_i``.
    The block's trace map has that eigenvalue too (on its own ``q = −q̌`` direction, which
    cannot be reached), so masking the diagonal antisymmetric maps loses no eigenvalue.
    For ``N = 1`` only the trace part exists.
    """
    present = np.ones((size, size, 3), dtype=bool)
    present[np.arange(size), np.arange(size), 0] = False
    if size == 1:
        present[..., 1] = False
    return present


def momentum_mean_square_contraction(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    nesterov: bool = False,
) -> float:
    """Spectral radius of the one-step map of ``(P, Q, R)``; stationary moments exist iff < 1.

    The largest ``|eigenvalue|`` of the block maps ``T`` (`_block_maps`) over the parts
    present (`_present_parts`). For ``N = 1`` the trace map's unreachable ``q = −q̌``
    eigenvalue is the determinant ``λ₁λ₂`` of the mean ``(d, v)`` map, and the
    second-moment map, positive and at least the mean map's ``λ ⊗ λ``, has spectral
    radius ``≥ max |λ|² ≥ |λ₁λ₂|``: it never sets the maximum spuriously. For ``β = 0``
    this is `theory.mean_square_contraction`.
    """
    _check_momentum(momentum)
    rates = np.linalg.eigvalsh(_symmetric_gram(gram))
    maps, _ = _block_maps(rates, learning_rate, momentum, batch_size, nesterov)
    eigenvalues = np.linalg.eigvals(maps[_present_parts(rates.size)])
    return float(np.abs(eigenvalues).max())


def stationary_momentum_state(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    noise_moments: np.ndarray,
    nesterov: bool = False,
) -> MomentumMoments:
    """Exact stationary ``E[D ⊗ D]``, ``E[D ⊗ V]``, ``E[V ⊗ V]`` of momentum SGD.

    The fixed point of `momentum_moment_step`, solved exactly block by block in the
    eigenframe of ``G`` (module docstring): ``(1 − T) x = s (c², −c, −c, 1)`` per
    block and part. The solution is checked by its residual under
    `momentum_moment_step`. ``ValueError`` if the recursion is not mean-square
    stable (`momentum_mean_square_contraction` ≥ 1: the second moments grow
    without bound), or ``momentum`` is outside ``[0, 1)``.
    """
    gram = _symmetric_gram(gram)
    size = len(gram)
    noise_moments = _check_moments(noise_moments, size)
    contraction = momentum_mean_square_contraction(
        gram, learning_rate, momentum, batch_size, nesterov
    )
    if not contraction < 1:
        raise ValueError(
            f"momentum SGD is not mean-square stable at learning rate {learning_rate}, momentum "
            f"{momentum}, batch size {batch_size}: the second moments grow by a factor up to "
            f"{contraction:.4g} per step, so no stationary second moments exist"
        )
    rates, frame = np.linalg.eigh(gram)
    maps, source = _block_maps(rates, learning_rate, momentum, batch_size, nesterov)
    # Absent parts get the identity: their source vanishes, and so does their solution.
    present = _present_parts(size)[..., None, None]
    systems = np.where(present, np.eye(UNKNOWNS) - maps, np.eye(UNKNOWNS))
    responses = np.linalg.solve(
        systems, np.broadcast_to(source[:, None], systems.shape[:-1] + (1,))
    )[..., 0]
    parts = _block_parts(_to_frame(noise_moments, frame).transpose(0, 2, 1, 3))
    coefficients = responses.transpose(2, 0, 1, 3)  # (part, i, k, unknown)

    def moments_of(unknown: int) -> np.ndarray:
        blocks = np.einsum("pik,pikjl->ijkl", coefficients[..., unknown], parts)
        return _from_frame(blocks, frame)

    state = MomentumMoments(moments_of(0), moments_of(1), moments_of(3))
    _check_residual(gram, learning_rate, momentum, batch_size, noise_moments, nesterov, state)
    return state


def _check_residual(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    noise_moments: np.ndarray,
    nesterov: bool,
    state: MomentumMoments,
) -> None:
    """``ArithmeticError`` unless ``state`` is a fixed point of `momentum_moment_step`."""
    stepped = momentum_moment_step(
        gram, learning_rate, momentum, batch_size, state, noise_moments, nesterov
    )
    residual = max(np.abs(new - old).max() for new, old in zip(stepped, state, strict=True))
    # Round-off scale of the step's largest terms: the check stays meaningful near the edge.
    shift, rate = update_coefficients(learning_rate, momentum, nesterov)
    largest = np.abs(np.linalg.eigvalsh(gram)).max()
    growth = (1 + shift + rate * largest) ** 2 * (1 + largest) ** 2 * (len(gram) + 2)
    scale = (1 + rate) ** 2 * np.abs(noise_moments).max() + growth * max(
        np.abs(part).max() for part in state
    )
    if not residual <= 1e-10 * max(scale, np.finfo(float).tiny):
        raise ArithmeticError(f"momentum moment equation residual {residual:.3g} too large")


def stationary_momentum_moments(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    noise_moments: np.ndarray,
    nesterov: bool = False,
) -> np.ndarray:
    """Exact stationary ``E[D_ij D_kl]`` of momentum SGD, shape ``(N,)*4``.

    The ``P`` of `stationary_momentum_state`. For ``β = 0`` (both variants) it is
    `theory.stationary_second_moments`.
    """
    return stationary_momentum_state(
        gram, learning_rate, momentum, batch_size, noise_moments, nesterov
    ).deviation


def continuum_momentum_moments(
    gram: np.ndarray,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    noise_moments: np.ndarray,
) -> np.ndarray:
    """The ``α → 0`` limit (fixed ``β``): SGD's continuum moments at ``α/(1 − β)``.

    For the heavy ball the stationary ``Q`` row gives ``(1 − β)(Q + Qᵀ) = G·P + P·G −
    2αR`` and then the ``P`` row ``G·P + P·G = α(1 + β)R``, exactly; as ``α → 0``,
    ``P, Q = O(α)`` and the ``R`` row gives ``R → S/(1 − β²)``, so ``G·P + P·G =
    αS/(1 − β)``: `theory.continuum_second_moments` at the effective learning rate
    ``α/(1 − β)`` (temperature ``α/((1 − β)|B|)``). Nesterov has the same limit (each
    gradient moves ``D`` by ``α(1 + β) + αβ²/(1 − β) = α/(1 − β)`` in all).
    """
    _check_momentum(momentum)
    return continuum_second_moments(gram, learning_rate / (1 - momentum), batch_size, noise_moments)


def linear_model_momentum_moments(
    gram: np.ndarray,
    noise_kind: str,
    noise: float,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    exact: bool = True,
    nesterov: bool = False,
) -> np.ndarray:
    """Stationary ``E[D_ij D_kl]`` of momentum SGD on ``½|Z D x|²`` with ``G = ZᵀZ = gram``.

    As `theory.linear_model_moments`: the noise moments by ``noise_kind``
    (`theory.linear_model_noise_moments`); ``exact=False`` gives
    `continuum_momentum_moments`, the same for both variants (``nesterov`` unused).
    """
    noise_moments = linear_model_noise_moments(gram, noise_kind, noise, batch_size)
    if not exact:
        return continuum_momentum_moments(gram, learning_rate, momentum, batch_size, noise_moments)
    return stationary_momentum_moments(
        gram, learning_rate, momentum, batch_size, noise_moments, nesterov
    )
