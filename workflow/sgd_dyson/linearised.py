"""Linearised stationary theory of online SGD on a feed-forward network near its teacher.

Near a realisable teacher ``θ*`` (the learnable entries of `networks.NetworkRun`, packed
as in `network_data.learnable_views`), SGD on a differentiable network is, to leading
order in the noise, SGD on a quadratic. With ``δ = θ − θ*`` and the per-sample Jacobian
``J_n = ∂ŷ_n/∂θ`` at the teacher (``n_L × P``), the mini-batch gradient is

    g_B(δ) = H_B δ + ξ_B,     H_B = mean_{b∈B} h_b,   h_n = J_nᵀ J_n,

the Gauss–Newton form: the Hessian's second term ``Σ r ∂²ŷ`` vanishes at the teacher,
whose residual ``r`` is zero on noise-free labels. With label noise ``y = ŷ* + ε ξ`` the
residual keeps a part ``−ε ξ ∂²ŷ δ``: it has mean zero and adds ``O(α ε²)`` relative to the
restoring ``α H M`` terms below, so to leading order in ε the label noise enters only
through the additive ``ξ_B = −ε mean_b J_bᵀ ξ_b`` (covariance ``ε² H/|B|``). Injected noise
adds the batch mean of its per-sample matrices (`network_data.injected_noise`): GOE of
scale ε on a square matrix, i.i.d. ``N(0, ε²)`` entries on a rectangular one.

SGD ``δ ← δ − α g_B`` with independent samples at every step (the ``online`` protocol)
maps ``M = E[δ δᵀ]`` to ``E[(1 − α H_B) M (1 − α H_B)] + α² C``, ``C = Cov ξ_B``, so the
stationary ``M`` solves (Aarts, Lucini & Park 2025 for the linear model, `theory`)

    L(M) = H M + M H − α E[H_B M H_B] = α C,
    E[H_B M H_B] = H M H + (E_n[h_n M h_n] − H M H)/|B|,   H = E_n h_n.

``H``, ``E_n[h_n M h_n]`` and (injected noise aside) ``C`` are Monte-Carlo averages over
inputs ``x ~ N(0, I)`` of a fixed seed. For a finite dataset (``paper``, ``per_replica``)
these population averages are an approximation: the theory is that of online SGD.

Solver (`stationary_covariance`): in the eigenframe of ``H = V diag(h) Vᵀ`` the
deterministic part ``L₀(M) = H M + M H − α H M H`` is diagonal, ``l_ij = h_i + h_j −
α h_i h_j``, and ``M = L₀⁻¹(α C) + R(M)`` with the positive map ``R(M) = (α/|B|)
L₀⁻¹(E_n[h_n M h_n] − H M H)``. GMRES solves it for ``Y = L₀(M)``, ``Y − R'(Y) = αC``
with ``R' = L₀ R L₀⁻¹`` (right preconditioning: its residual is that of ``L(M) = αC``),
matrix-free (one application costs ``O(samples · n_L · P²)``; the ``P² × P²``
operator is never formed). Mean-square stability: the one-step map is the positive map
``M ↦ E[(1 − α H_B) M (1 − α H_B)]``; it contracts iff ``α h_max < 2`` and ``R`` has
spectral radius below 1 (a regular splitting of positive maps), and then ``M = Σ_k
Rᵏ L₀⁻¹(αC)`` is positive semi-definite; beyond, a solution of the linear equation has a
negative eigenvalue (pair it with the Perron eigenvector of ``R``'s adjoint). So a
solution that is not a covariance, or no solution within the iteration budget, is
reported as unstable (None), as `theory` reports ``unstable``.

Directions ``H`` never sees (``h = 0``: dead ReLU units, symmetries) have no restoring
force; they get zero variance if no noise enters them, and `LinearisationError` if some
does (the linearised walk there is free diffusion, with no stationary state).

The predicted levels (`predicted_levels`) sample Gaussian ``δ ~ N(0, M)`` around each
draw's teacher, like `theory.predicted_levels`, and pool the draws.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as sparse_linalg

from .network_data import learnable_views
from .networks import ACTIVATIONS, NetworkRun, Quenched, forward, quenched
from .seeding import Stream, draw_sizes, seed_sequence
from .spectra import OBSERVABLE_COLUMNS, gram_eigenvalues, singular_values
from .theory import NEGATIVE_EIGENVALUE_TOLERANCE

INPUT_BLOCK = 1
"""Block of ``Stream.THEORY`` whose normals are the Monte-Carlo inputs of draw ``d``
(``seed_sequence(root, point, d, INPUT_BLOCK, THEORY)``; the theory stage samples its
predicted levels from block 0)."""

NULL_TOLERANCE = 1e-10
"""Eigenvalues of ``H`` below ``NULL_TOLERANCE × h_max`` are directions the data never sees."""

SOLVER_TOLERANCE = 1e-10
"""Relative residual at which GMRES stops."""

SOLVER_RESTART = 40
SOLVER_CYCLES = 10
"""GMRES keeps ``SOLVER_RESTART`` Krylov vectors and restarts at most ``SOLVER_CYCLES`` times:
at most 400 applications of the fourth-moment operator (a stable point whose ``R`` has
spectral radius within ~1/400 of 1 counts as unstable)."""


class LinearisationError(RuntimeError):
    """The linearised theory does not apply (noise enters directions with no restoring force)."""


# --- Jacobians and moments at the teacher ------------------------------------------------


def jacobians(run: NetworkRun, disorder: Quenched, draw: int, inputs: np.ndarray) -> np.ndarray:
    """``J_n = ∂ŷ_n/∂θ`` of draw ``draw``'s teacher at ``inputs`` ``(samples, n_0)``.

    Shape ``(samples, n_L, P)``, ``θ`` packed as in `network_data.learnable_views`.
    Backpropagation of each output unit (`networks.loss_and_gradients` with the loss
    replaced by ``ŷ_o``): ``δ_L = e_o ⊙ f'_{L−1}(z_L)``, ``δ_k = (δ_{k+1} W_k) ⊙
    f'_{k−1}(z_k)`` and ``∂ŷ_o/∂(W_k)_ij = δ_{k+1,oi} h_{k,j}``.
    """
    weights = [matrix[draw] for matrix in disorder.teacher_network()]
    layers = forward(weights, run.activations, inputs)
    samples, outputs = len(inputs), run.layers[-1]
    delta = np.broadcast_to(np.eye(outputs), (samples, outputs, outputs))  # ∂ŷ_o/∂h_L
    blocks = {}
    for k in range(run.matrices - 1, run.learnable[0] - 1, -1):
        slope = ACTIVATIONS[run.activations[k]][1]
        if slope is not None:
            delta = delta * slope(layers.pre[k], layers.post[k + 1])[:, None, :]
        if k in run.learnable:
            block = delta[..., :, None] * layers.post[k][:, None, None, :]
            blocks[k] = block.reshape(samples, outputs, -1)
        if k > run.learnable[0]:
            delta = delta @ weights[k]
    return np.concatenate([blocks[k] for k in run.learnable], axis=-1)


def monte_carlo_inputs(run: NetworkRun, draw: int, samples: int) -> np.ndarray:
    """``samples`` inputs ``x ~ N(0, I_{n_0})`` of draw ``draw``, ``(samples, n_0)``.

    From ``seed_sequence(root_seed, point_seed, draw, INPUT_BLOCK, Stream.THEORY)``.
    """
    seed = seed_sequence(run.root_seed, run.point_seed, draw, INPUT_BLOCK, Stream.THEORY)
    return np.random.default_rng(seed).standard_normal((samples, run.layers[0]))


def injected_noise_covariance(run: NetworkRun) -> np.ndarray:
    """``Cov ξ_B`` of the batch-mean injected noise, ``(P, P)``, block-diagonal per matrix.

    Square matrix: ``(ε²/|B|)(δ_ik δ_jl + δ_il δ_jk)`` (GOE: off-diagonal variance ε²,
    diagonal 2ε², as `theory.injected_noise_moments`); rectangular: ``(ε²/|B|) δ_ik δ_jl``.
    """
    covariance = np.zeros((run.parameters, run.parameters))
    offset = 0
    for rows, cols in (run.shapes[k] for k in run.learnable):
        size = rows * cols
        block = np.eye(size)
        if rows == cols:  # vec(Aᵀ) = Π vec(A): the symmetric matrix adds Π
            block = block + block.reshape(rows, cols, rows, cols).transpose(0, 1, 3, 2).reshape(
                size, size
            )
        covariance[offset : offset + size, offset : offset + size] = block
        offset += size
    return run.noise**2 / run.batch_size * covariance


@dataclass(frozen=True)
class LinearisedMoments:
    """The pieces of the linearised moment equation of one draw, in ``θ`` coordinates.

    ``jacobians`` ``(samples, n_L, P)`` are the Monte-Carlo ``J_n``; ``gauss_newton`` is
    ``H = mean_n J_nᵀ J_n`` ``(P, P)``; ``noise`` is ``C = Cov ξ_B`` ``(P, P)``.
    """

    jacobians: np.ndarray
    gauss_newton: np.ndarray
    noise: np.ndarray
    learning_rate: float
    batch_size: int


def fourth_moment(jacobians: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``E_n[h_n M h_n] = mean_n J_nᵀ (J_n M J_nᵀ) J_n``, ``(p, p)``.

    ``jacobians`` ``J`` are ``(samples, n_L, p)``, ``covariance`` ``M`` is ``(p, p)``. Two
    products of ``O(samples · n_L · p²)``; the ``p² × p²`` operator is never formed.
    """
    samples, outputs, size = jacobians.shape
    projected = (jacobians @ covariance) @ jacobians.swapaxes(-1, -2)  # J M Jᵀ: (samples, n_L, n_L)
    right = (projected @ jacobians).reshape(samples * outputs, size)
    return jacobians.reshape(samples * outputs, size).T @ right / samples


def linearised_moments(
    run: NetworkRun, draw: int, samples: int, disorder: Quenched | None = None
) -> LinearisedMoments:
    """``J_n``, ``H`` and ``C`` of draw ``draw`` from ``samples`` Monte-Carlo inputs.

    ``C = ε² H/|B|`` for label noise (``ξ`` independent of ``x``), `injected_noise_covariance`
    for injected noise, 0 without noise. ``disorder`` defaults to `networks.quenched(run)`.
    """
    if not 0 <= draw < run.dataset_draws:
        raise ValueError(f"draw = {draw} is not one of the run's 0 … {run.dataset_draws - 1}")
    if samples < 1:
        raise ValueError(f"samples = {samples} must be ≥ 1")
    disorder = quenched(run) if disorder is None else disorder
    jacobian = jacobians(run, disorder, draw, monte_carlo_inputs(run, draw, samples))
    flat = jacobian.reshape(-1, run.parameters)
    gauss_newton = flat.T @ flat / samples
    if run.noise_kind == "label":
        noise = run.noise**2 / run.batch_size * gauss_newton
    elif run.noise_kind == "injected":
        noise = injected_noise_covariance(run)
    else:
        noise = np.zeros_like(gauss_newton)
    return LinearisedMoments(jacobian, gauss_newton, noise, run.learning_rate, run.batch_size)


def moment_operator(moments: LinearisedMoments, covariance: np.ndarray) -> np.ndarray:
    """``L(M) = HM + MH − α HMH − (α/|B|)(E_n[h_n M h_n] − HMH)``, in ``θ`` coordinates.

    The stationary covariance solves ``L(M) = α C`` (module docstring).
    """
    gauss_newton, rate = moments.gauss_newton, moments.learning_rate
    sandwiched = gauss_newton @ covariance @ gauss_newton
    fluctuation = fourth_moment(moments.jacobians, covariance) - sandwiched
    return (
        gauss_newton @ covariance
        + covariance @ gauss_newton
        - rate * sandwiched
        - rate / moments.batch_size * fluctuation
    )


# --- The stationary covariance --------------------------------------------------------------


def _range_frame(
    moments: LinearisedMoments, null_tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(h, V_range, C̃)``: ``H``'s eigenvalues above ``null_tolerance × h_max``, their
    eigenvectors, and ``Vᵀ C V`` on them.

    Raises `LinearisationError` if the noise has a part outside that range.
    """
    rates, frame = np.linalg.eigh(moments.gauss_newton)
    seen = rates > null_tolerance * max(rates[-1], np.finfo(float).tiny)
    unseen = frame[:, ~seen]
    noise_scale = np.abs(moments.noise).max()
    unseen_noise = np.abs(unseen.T @ moments.noise @ unseen).max(initial=0.0)
    if unseen_noise > 1e-8 * noise_scale:
        raise LinearisationError(
            f"noise of variance {unseen_noise:.3g} enters {unseen.shape[1]} directions with no "
            "restoring force (H = 0 there): the linearised SGD diffuses freely in them"
        )
    frame = frame[:, seen]
    return rates[seen], frame, frame.T @ moments.noise @ frame


def _is_covariance(matrix: np.ndarray) -> bool:
    values = np.linalg.eigvalsh(matrix)
    return bool(values[0] >= -NEGATIVE_EIGENVALUE_TOLERANCE * max(values[-1], 0.0))


def stationary_covariance(
    moments: LinearisedMoments, exact: bool = True, null_tolerance: float = NULL_TOLERANCE
) -> np.ndarray | None:
    """Stationary ``M = E[δ δᵀ]`` ``(P, P)`` of the linearised SGD, or None if unstable.

    ``exact=True`` solves ``L(M) = α C`` (`moment_operator`) by GMRES in the eigenframe of
    ``H``, preconditioned by the Lyapunov part ``L₀`` (module docstring); None where SGD is
    not mean-square stable (``α h_max ≥ 2``, or the solution is not a covariance, or
    GMRES does not converge within its budget). ``exact=False`` is the continuum (α → 0)
    Lyapunov solution ``M̃_ij = α C̃_ij/(h_i + h_j)``, as `theory.continuum_second_moments`.
    Without noise the stationary state is the teacher, ``M = 0``, if it is stable: then
    a positive-definite probe source decides stability (a stable map gives a positive
    definite solution for it). Zero variance in the null space of ``H``: its eigenvalues
    below ``null_tolerance × h_max``. With label noise every other direction gets about
    ``αε²/(2|B|)`` however weakly the data see it, though it relaxes only in ``1/(α h)``
    steps: raise ``null_tolerance`` to freeze directions slower than a run can equilibrate.
    """
    rate, batch = moments.learning_rate, moments.batch_size
    rates, frame, noise = _range_frame(moments, null_tolerance)
    parameters = len(moments.gauss_newton)
    if rates.size == 0:
        return np.zeros((parameters, parameters))
    pair_sums = rates[:, None] + rates[None, :]
    if not exact:
        return frame @ (rate * noise / pair_sums) @ frame.T
    if not rate * rates[-1] < 2:
        return None
    products = np.outer(rates, rates)
    lyapunov = pair_sums - rate * products  # l_ij > 0 for α h < 2
    rotated = moments.jacobians @ frame
    size = rates.size

    def remainder(vector: np.ndarray) -> np.ndarray:
        """``Y − (α/|B|) D(L₀⁻¹ Y)`` on ``vec Y``: ``L(X)`` at ``X = L₀⁻¹ Y``.

        ``D(X) = E[hXh] − hXh``. Preconditioned on the right, so that GMRES's residual is
        that of ``L(X) = αC``.
        """
        matrix = vector.reshape(size, size) / lyapunov
        matrix = (matrix + matrix.T) / 2  # M is symmetric: keep round-off from breaking that
        fluctuation = fourth_moment(rotated, matrix) - products * matrix
        return vector - rate / batch * fluctuation.ravel()

    silent = not np.any(noise)
    # Without noise a positive-definite probe source L₀⁻¹(h) decides stability alone.
    source = (np.diag(rates) if silent else rate * noise).ravel()
    operator = sparse_linalg.LinearOperator((size**2, size**2), matvec=remainder, dtype=float)
    solution, info = sparse_linalg.gmres(
        operator,
        source,
        x0=source,  # X = L₀⁻¹(αC): the first term of the Neumann series Σ Rᵏ L₀⁻¹(αC)
        rtol=SOLVER_TOLERANCE,
        atol=0.0,
        restart=SOLVER_RESTART,
        maxiter=SOLVER_CYCLES,
    )
    solution = solution.reshape(size, size) / lyapunov
    solution = (solution + solution.T) / 2
    if info != 0 or not _is_covariance(solution):
        return None
    if silent:
        return np.zeros((parameters, parameters))
    return frame @ solution @ frame.T


def relative_residual(moments: LinearisedMoments, covariance: np.ndarray) -> float:
    """``max |L(M) − α C| / max |α C|``: how well ``covariance`` solves the moment equation."""
    target = moments.learning_rate * moments.noise
    residual = moment_operator(moments, covariance) - target
    return float(np.abs(residual).max() / np.abs(target).max())


def stationary_laws(
    run: NetworkRun, samples: int, exact: bool = True
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per draw: the teacher ``θ*`` ``(P,)`` and the stationary ``M`` ``(P, P)``; None if unstable.

    Every draw has its own quenched disorder (fixed matrices and teacher), so its own
    moments from ``samples`` Monte-Carlo inputs (`linearised_moments`). None if any draw
    has no stationary state.
    """
    disorder = quenched(run)
    laws = []
    for draw in range(run.dataset_draws):
        covariance = stationary_covariance(linearised_moments(run, draw, samples, disorder), exact)
        if covariance is None:
            return None
        teacher = np.concatenate([matrix[draw].ravel() for matrix in disorder.teacher])
        laws.append((teacher, covariance))
    return laws


# --- Predicted levels ---------------------------------------------------------------------------


def gaussian_factor(covariance: np.ndarray) -> np.ndarray:
    """``F`` with ``F Fᵀ = M`` (eigen-decomposition; round-off negatives clipped, as `theory`)."""
    covariance = (covariance + covariance.T) / 2
    values, vectors = np.linalg.eigh(covariance)
    if values[0] < -NEGATIVE_EIGENVALUE_TOLERANCE * max(values[-1], 0.0):
        raise ValueError(f"covariance has a negative eigenvalue {values[0]:.3g}")
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def predicted_levels(
    run: NetworkRun,
    laws: list[tuple[np.ndarray, np.ndarray]],
    matrix: int,
    samples: int,
    generator: np.random.Generator,
    observable: str,
) -> np.ndarray:
    """Levels of learnable matrix ``matrix`` of ``θ = θ* + δ``, ``δ ~ N(0, M)``: ``(samples, n)``.

    The Gaussian closure of `theory.predicted_levels`, per draw's law (`stationary_laws`),
    ``δ`` drawn jointly for all learnable matrices; ``matrix`` indexes ``run.learnable``.
    The draws are pooled, not their moments (their teachers differ): draw ``d`` gives
    ``draw_sizes(samples, draws)[d]`` samples, the share of its replicas in the
    simulation. ``observable`` is ``singular_values`` (``min(rows, cols)`` of them) or
    ``gram_eigenvalues``; levels ascend.
    """
    if observable not in OBSERVABLE_COLUMNS:
        raise ValueError(f"unknown observable {observable!r}, expected {list(OBSERVABLE_COLUMNS)}")
    if not 0 <= matrix < len(run.learnable):
        raise ValueError(f"matrix = {matrix} is not one of 0 … {len(run.learnable) - 1}")
    spectrum = singular_values if observable == "singular_values" else gram_eigenvalues
    levels = []
    for (teacher, covariance), count in zip(laws, draw_sizes(samples, len(laws)), strict=True):
        deviation = generator.standard_normal((count, teacher.size)) @ gaussian_factor(covariance).T
        levels.append(spectrum(learnable_views(run, teacher + deviation)[matrix]))
    return np.concatenate(levels)
