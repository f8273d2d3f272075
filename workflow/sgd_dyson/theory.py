"""Exact stationary second moments of online SGD, and the level statistics they predict.

Teacher–student model (`models.teacher_student`): with ``D = W − W*`` online SGD is the
linear random recursion

    D ← D − α (G D Ĉ + A),        G = ZᵀZ,

with fresh ``Ĉ = mean_b x_b x_bᵀ`` (``x ~ N(0, I)``) and mean-zero additive
noise ``A`` at every step: the batch-mean GOE matrix (injected noise) or
``−ε Zᵀ Ĉ_ξx`` (label noise). The second moments ``M_ijkl = E[D_ij D_kl]``
therefore follow the closed linear recursion ``M ← M − α L(M) + α² E[A ⊗ A]``
(`moment_operator`), and the stationary ``M`` solves ``L(M) = α E[A ⊗ A]``
(Aarts, Lucini & Park 2025). The equation
keeps the O(α) discrete-time terms and the multiplicative mini-batch noise
that the continuum (Lyapunov) picture drops.

The solver (`stationary_second_moments`) never builds the ``N⁴ × N⁴`` matrix
of ``L``: ``L`` acts on the right indices ``(j, l)`` only through ``δ_jl``
and a transposition, so in the eigenframe of ``G`` it splits into ``N²``
independent ``N × N`` blocks, each diagonal on antisymmetric, symmetric
traceless and trace parts (derivation in `stationary_second_moments`). That
is an exact direct solve in ``O(N⁵)`` operations, and the same block
eigenvalues decide mean-square stability exactly.

`predicted_levels` samples Gaussian matrices with these second moments (a
Gaussian closure: the true stationary law of ``D`` has the same second
moments but, through the multiplicative noise, slightly heavier tails) and
`predicted_cluster_statistics` reduces them with the estimators of the fit
stage (`stages.fit`), so the theory can be put next to the measured tables.
"""

import numpy as np
import pandas as pd

from .fits import SPACING_AND_WIDTH, spacing_and_width
from .spectra import (
    OBSERVABLE_COLUMNS,
    clusters_of_levels,
    gram_eigenvalues,
    layered_levels,
    singular_values,
)
from .statistics import equal_groups, jackknife

PREDICTED_COLUMNS = [
    "cluster",
    "levels",
    "target",
    "mean_spacing",
    "mean_spacing_err",
    "sigma",
    "sigma_err",
    "center",
    "center_err",
]
"""The columns of `predicted_cluster_statistics`."""

NEGATIVE_EIGENVALUE_TOLERANCE = 1e-10
"""Covariance eigenvalues above ``−tolerance × largest`` count as round-off and are clipped to 0."""


def _symmetric_gram(gram: np.ndarray) -> np.ndarray:
    gram = np.asarray(gram, dtype=float)
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(f"gram must be a square matrix, got shape {gram.shape}")
    if not np.allclose(gram, gram.T, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(gram).max())):
        raise ValueError("gram must be symmetric (G = ZᵀZ)")
    return (gram + gram.T) / 2


def _check_moments(noise_moments: np.ndarray, size: int) -> np.ndarray:
    noise_moments = np.asarray(noise_moments, dtype=float)
    if noise_moments.shape != (size,) * 4:
        raise ValueError(f"noise_moments must have shape {(size,) * 4}, got {noise_moments.shape}")
    return noise_moments


def _to_frame(moments: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """``M̃_ijkl = V_ai V_ck M_ajcl``: the left indices of ``M`` in the frame of ``V``'s columns."""
    return np.einsum("ai,ck,ajcl->ijkl", frame, frame, moments, optimize=True)


def _from_frame(moments: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Inverse of `_to_frame`: ``M_ajcl = V_ai V_ck M̃_ijkl``."""
    return np.einsum("ai,ck,ijkl->ajcl", frame, frame, moments, optimize=True)


def moment_operator(
    gram: np.ndarray, learning_rate: float, batch_size: int, moments: np.ndarray
) -> np.ndarray:
    """``L(M)`` of the stationarity equation ``L(M) = α E[A ⊗ A]``, applied matrix-free.

    ``L(M)_ijkl = G_ia M_ajkl + G_kc M_ijcl
    − α G_ia G_kc [M_ajcl + (δ_jl Σ_b M_abcb + M_alcj)/|B|]``.

    One SGD step maps the second moments ``M_ijkl = E[D_ij D_kl]`` to
    ``M − α L(M) + α² E[A ⊗ A]``: expand ``E[(D − α(GDĈ + A)) ⊗ (D − α(GDĈ + A))]``
    with ``E[Ĉ] = 1``, ``A`` independent of ``(D, Ĉ)`` and the Wishart fourth
    moments ``E[Ĉ_bj Ĉ_dl] = δ_bj δ_dl + (δ_bd δ_jl + δ_bl δ_jd)/|B|``
    (Gaussian inputs; Isserlis' theorem; `gradient_second_moments`). Costs ``O(N⁵)``.
    """
    gram = np.asarray(gram, dtype=float)
    moments = np.asarray(moments, dtype=float)
    pulled = np.einsum("ia,ajkl->ijkl", gram, moments) + np.einsum("kc,ijcl->ijkl", gram, moments)
    return pulled - learning_rate * gradient_second_moments(gram, batch_size, moments)


def gradient_second_moments(gram: np.ndarray, batch_size: int, moments: np.ndarray) -> np.ndarray:
    """``E[(G X Ĉ)_ij (G Y Ĉ)_kl]`` for ``M_ijkl = E[X_ij Y_kl]``, fresh ``Ĉ`` independent of both.

    ``= G_ia G_kc [M_ajcl + (δ_jl Σ_b M_abcb + M_alcj)/|B|]``: the Wishart fourth
    moments ``E[Ĉ_bj Ĉ_dl] = δ_bj δ_dl + (δ_bd δ_jl + δ_bl δ_jd)/|B|`` of
    ``Ĉ = mean_b x_b x_bᵀ``, ``x ~ N(0, I)`` (Isserlis' theorem). Costs ``O(N⁵)``.
    """
    size = len(gram)
    inner = (
        moments
        + (np.einsum("jl,abcb->ajcl", np.eye(size), moments) + np.einsum("alcj->ajcl", moments))
        / batch_size
    )
    return np.einsum("ia,kc,ajcl->ijkl", gram, gram, inner, optimize=True)


def _block_rates(
    rates: np.ndarray, learning_rate: float, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues of ``L`` on block ``(i, k)``: antisymmetric, symmetric traceless, trace parts.

    With ``c_ik = g_i + g_k − α g_i g_k`` and ``b_ik = α g_i g_k/|B|`` they are
    ``c + b``, ``c − b`` and ``c − (N + 1) b`` (`stationary_second_moments`).
    """
    size = rates.size
    products = np.outer(rates, rates)
    common = rates[:, None] + rates[None, :] - learning_rate * products
    coupling = learning_rate * products / batch_size
    return common + coupling, common - coupling, common - (size + 1) * coupling


def _block_parts(blocks: np.ndarray) -> np.ndarray:
    """Antisymmetric, symmetric traceless and trace parts of the matrices ``blocks[..., j, l]``.

    Stacked on a new leading axis, in the order of `_block_rates`; they sum to ``blocks``.
    """
    size = blocks.shape[-1]
    transposed = blocks.swapaxes(-1, -2)
    trace = np.trace(blocks, axis1=-2, axis2=-1)[..., None, None] * np.eye(size) / size
    return np.stack([(blocks - transposed) / 2, (blocks + transposed) / 2 - trace, trace])


def _divide(parts: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """``parts[i, k] / rates[i, k]``; 0 where a rate vanishes (on a part that is absent)."""
    rates = np.broadcast_to(rates[..., None, None], parts.shape)
    return np.divide(parts, rates, out=np.zeros_like(parts), where=rates != 0)


def mean_square_contraction(gram: np.ndarray, learning_rate: float, batch_size: int) -> float:
    """Spectral radius of the second-moment map ``M ↦ M − α L(M)``; mean-square stable iff < 1.

    ``max |1 − α λ|`` over the eigenvalues ``λ`` of ``L`` on the second moments a
    replica can have (`_block_rates`; the diagonal blocks ``i = k`` are
    symmetric, so their antisymmetric part is absent). The stationary moments
    exist iff this is below 1; they are approached like its power per step.
    """
    rates = np.linalg.eigvalsh(_symmetric_gram(gram))
    antisymmetric, traceless, trace = _block_rates(rates, learning_rate, batch_size)
    size = rates.size
    modes = [trace.ravel()]
    if size >= 2:
        modes += [traceless.ravel(), antisymmetric[~np.eye(size, dtype=bool)]]
    return float(np.max(np.abs(1 - learning_rate * np.concatenate(modes))))


def stationary_second_moments(
    gram: np.ndarray, learning_rate: float, batch_size: int, noise_moments: np.ndarray
) -> np.ndarray:
    """Exact stationary ``M_ijkl = E[D_ij D_kl]`` of online SGD, shape ``(N,)*4``.

    Solves ``L(M) = α E[A_ij A_kl]`` (`moment_operator`, the linear fixed-point
    equation of SGD on a quadratic loss, here with a hidden layer ``G = ZᵀZ``)
    without forming the ``N⁴ × N⁴`` matrix.

    Method: with ``G = V diag(g) Vᵀ`` and ``M̃_ijkl = V_ai V_ck M_ajcl`` (left
    indices rotated; the right indices only meet ``δ_jl`` and a swap), ``L``
    acts on each block ``X = M̃_{i·k·}`` (an ``N × N`` matrix in ``(j, l)``) alone:

        L(X) = c X − b (tr X · 1 + Xᵀ),   c = g_i + g_k − α g_i g_k,  b = α g_i g_k / |B|.

    That is ``(c + b)`` on the antisymmetric part of ``X``, ``(c − b)`` on its
    symmetric traceless part and ``c − (N + 1) b`` on its trace, so

        X = Q_anti/(c + b) + (Q_sym − tr Q/N)/(c − b) + tr Q/(N (c − (N + 1) b))

    for ``Q = α Ẽ[A ⊗ A]`` in the same block. For ``G = 1`` this reproduces the
    online linear-regression variance ``αε²/(|B|(2 − α) − α(N + 1))``
    (`online_regression_variance`). Cost ``O(N⁵)`` (the frame rotations):
    milliseconds for ``N = 10``. The solution is checked by its relative
    residual under `moment_operator`.

    The stationary moments exist only if SGD is mean-square stable, i.e.
    every ``|1 − α λ| < 1`` (`mean_square_contraction`); otherwise the second
    moments grow without bound and ``ValueError`` is raised.
    """
    gram = _symmetric_gram(gram)
    size = len(gram)
    noise_moments = _check_moments(noise_moments, size)
    contraction = mean_square_contraction(gram, learning_rate, batch_size)
    if not contraction < 1:
        raise ValueError(
            f"SGD is not mean-square stable at learning rate {learning_rate}, batch size "
            f"{batch_size}: the second moments grow by a factor up to {contraction:.4g} per step, "
            "so no stationary second moments exist"
        )
    rates, frame = np.linalg.eigh(gram)
    antisymmetric, traceless, trace_rate = _block_rates(rates, learning_rate, batch_size)
    source = learning_rate * _to_frame(noise_moments, frame)  # blocks source[i, :, k, :]
    parts = _block_parts(source.transpose(0, 2, 1, 3))  # blocks (i, k, j, l)
    part_rates = (antisymmetric, traceless, trace_rate)
    solution = sum(_divide(part, rate) for part, rate in zip(parts, part_rates, strict=True))
    moments = _from_frame(solution.transpose(0, 2, 1, 3), frame)
    rhs = learning_rate * noise_moments
    residual = moment_operator(gram, learning_rate, batch_size, moments) - rhs
    # Round-off scale of the terms of L(M): the check stays meaningful near instability.
    largest = np.abs(rates).max()
    terms = largest * (2 + learning_rate * largest * (size + 2)) * np.abs(moments).max()
    scale = max(np.abs(rhs).max() + terms, np.finfo(float).tiny)
    if not np.abs(residual).max() <= 1e-10 * scale:
        raise ArithmeticError(f"moment equation residual {np.abs(residual).max():.3g} too large")
    return moments


def continuum_second_moments(
    gram: np.ndarray, learning_rate: float, batch_size: int, noise_moments: np.ndarray
) -> np.ndarray:
    """Continuum (α → 0) stationary moments: ``(G⊗1 + 1⊗G) M = α E[A ⊗ A]``.

    The Lyapunov equation of the Ornstein–Uhlenbeck limit
    ``dD = −G D dt + sqrt(α) dA``; in the eigenframe of ``G``,
    ``M̃_ijkl = α Ẽ[A_ij A_kl]/(g_i + g_k)``. It drops the O(α) discrete-time
    terms and the multiplicative mini-batch noise (O(α/|B|)): e.g. for ``G = 1``
    the exact trace is larger by ``[1 − α/2 − α(N + 1)/(2|B|)]⁻¹``.
    ``batch_size`` is unused (it enters through ``noise_moments``) and kept for
    a signature parallel to `stationary_second_moments`. Needs ``G`` positive definite.
    """
    del batch_size
    gram = _symmetric_gram(gram)
    noise_moments = _check_moments(noise_moments, len(gram))
    rates, frame = np.linalg.eigh(gram)
    if rates[0] <= 0:
        raise ValueError("the continuum limit needs a positive definite G = ZᵀZ")
    rotated = learning_rate * _to_frame(noise_moments, frame)
    return _from_frame(rotated / (rates[:, None, None, None] + rates[None, None, :, None]), frame)


def injected_noise_moments(size: int, noise: float, batch_size: int) -> np.ndarray:
    """``E[Ā_ij Ā_kl] = (ε²/|B|)(δ_ik δ_jl + δ_il δ_jk)`` of the batch-mean GOE noise.

    Per-sample GOE matrices of scale ε (off-diagonal variance ε², diagonal
    2ε²; Aarts, Lucini & Park 2025), averaged over ``|B|`` samples.
    """
    eye = np.eye(size)
    return (
        noise**2
        / batch_size
        * (np.einsum("ik,jl->ijkl", eye, eye) + np.einsum("il,jk->ijkl", eye, eye))
    )


def label_noise_moments(gram: np.ndarray, noise: float, batch_size: int) -> np.ndarray:
    """``E[A_ij A_kl] = (ε²/|B|) G_ik δ_jl`` of ``A = −ε Zᵀ Ĉ_ξx``, ``G = ZᵀZ``.

    ``E[Ĉ_ξx,ab Ĉ_ξx,cd] = δ_ac δ_bd/|B|`` for independent ``ξ, x ~ N(0, 1)``,
    and ``A`` is uncorrelated with ``Ĉ_xx`` (odd in ξ), as the solver assumes.
    """
    gram = np.asarray(gram, dtype=float)
    return noise**2 / batch_size * np.einsum("ik,jl->ijkl", gram, np.eye(len(gram)))


def online_regression_variance(
    learning_rate: float, batch_size: int, noise: float, dimension: int
) -> float:
    """Stationary ``E[D_ij²] = αε²/(|B|(2 − α) − α(d + 1))`` of online linear regression.

    ``x ~ N(0, I_d)``, label noise ε, ``G = 1``: the closed form of the linear
    fixed-point equation (`stationary_second_moments`). Raises ``ValueError`` once
    ``|B|(2 − α) ≤ α(d + 1)``, where the variance diverges.
    """
    denominator = batch_size * (2 - learning_rate) - learning_rate * (dimension + 1)
    if not denominator > 0:
        raise ValueError(
            f"online linear regression diverges at learning rate {learning_rate}, batch size "
            f"{batch_size}, dimension {dimension}: |B|(2 − α) ≤ α(d + 1)"
        )
    return learning_rate * noise**2 / denominator


NOISE_KINDS = ("injected", "label")


def linear_model_moments(
    gram: np.ndarray,
    noise_kind: str,
    noise: float,
    learning_rate: float,
    batch_size: int,
    exact: bool = True,
) -> np.ndarray:
    """Stationary ``E[D_ij D_kl]`` of online SGD on ``½|Z D x|²`` with ``G = ZᵀZ = gram``.

    The noise moments by ``noise_kind`` (`injected_noise_moments`,
    `label_noise_moments`); ``exact=False`` gives `continuum_second_moments`.
    For the teacher–student model ``D = W − W*``: the moments do not depend
    on the teacher.
    """
    noise_moments = linear_model_noise_moments(gram, noise_kind, noise, batch_size)
    solver = stationary_second_moments if exact else continuum_second_moments
    return solver(gram, learning_rate, batch_size, noise_moments)


def linear_model_noise_moments(
    gram: np.ndarray, noise_kind: str, noise: float, batch_size: int
) -> np.ndarray:
    """``E[A_ij A_kl]`` of the gradient noise ``A`` by ``noise_kind``, ``G = ZᵀZ = gram``.

    `injected_noise_moments` or `label_noise_moments`; ``ValueError`` for another kind.
    """
    if noise_kind == "injected":
        return injected_noise_moments(len(gram), noise, batch_size)
    if noise_kind == "label":
        return label_noise_moments(gram, noise, batch_size)
    raise ValueError(f"unknown noise_kind {noise_kind!r}, expected one of {NOISE_KINDS}")


def _covariance_factor(moments: np.ndarray) -> np.ndarray:
    """``F`` with ``F Fᵀ = M`` reshaped to ``N² × N²`` (eigen-decomposition; PSD required)."""
    size = moments.shape[0]
    covariance = np.asarray(moments, dtype=float).reshape(size**2, size**2)
    covariance = (covariance + covariance.T) / 2
    values, vectors = np.linalg.eigh(covariance)
    largest = max(values[-1], 0.0)
    if values[0] < -NEGATIVE_EIGENVALUE_TOLERANCE * largest:
        raise ValueError(f"moments are not a covariance: eigenvalue {values[0]:.3g} < 0")
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def predicted_levels(
    center_matrix: np.ndarray,
    moments: np.ndarray,
    samples: int,
    generator: np.random.Generator,
    observable: str,
) -> np.ndarray:
    """Levels of ``W = center_matrix + D``, ``D ~ N(0, M)`` Gaussian: ``(samples, N)`` ascending.

    ``D`` has the second moments ``moments`` (``M_ijkl = E[D_ij D_kl]``, read as an
    ``N² × N²`` covariance of ``vec D``); ``observable`` is ``singular_values``
    or ``gram_eigenvalues`` (eigenvalues of ``WᵀW``), computed by `spectra`.
    This is a Gaussian closure: exact for the Dyson model (`models.dyson.stationary_moments`,
    where ``W`` is symmetric and, for positive targets, its singular values are
    its eigenvalues) and for the continuum SGD limit; for discrete SGD only the
    second moments are exact.
    """
    if observable not in OBSERVABLE_COLUMNS:
        raise ValueError(f"unknown observable {observable!r}, expected {list(OBSERVABLE_COLUMNS)}")
    center_matrix = np.asarray(center_matrix, dtype=float)
    size = len(center_matrix)
    if np.shape(moments) != (size,) * 4:
        raise ValueError(f"moments must have shape {(size,) * 4} for a {size}×{size} centre")
    factor = _covariance_factor(moments)
    deviation = generator.standard_normal((samples, size**2)) @ factor.T
    weights = center_matrix + deviation.reshape(samples, size, size)
    spectrum = singular_values if observable == "singular_values" else gram_eigenvalues
    return spectrum(weights)


class NoPredictionError(ValueError):
    """No prediction at a point; ``status`` says why, as the theory table's ``status``."""

    def __init__(self, message: str, status: str = "unstable"):
        super().__init__(message)
        self.status = status


def predicted_cluster_statistics(
    levels: np.ndarray,
    targets: list[float],
    tolerance: float,
    observable: str,
    error_groups: int = 100,
) -> pd.DataFrame:
    """Per-cluster ⟨S⟩, σ and centre of predicted ``levels`` ``(samples, N)``, with MC errors.

    Clusters as in the fit stage (`spectra.cluster_targets`): level ``i``
    (ascending) belongs to the cluster of the ``i``-th smallest target. The
    samples are independent, so the Monte-Carlo errors are a delete-one-group
    jackknife (`statistics.jackknife`) over ``error_groups`` equal groups of
    samples. Columns: cluster, levels, target, mean_spacing, mean_spacing_err,
    sigma, sigma_err, center, center_err.
    """
    return layered_cluster_statistics(levels, [(0, targets)], tolerance, observable, error_groups)


def layered_cluster_statistics(
    levels: np.ndarray,
    layers: list[tuple[int, list[float]]],
    tolerance: float,
    observable: str,
    error_groups: int = 100,
) -> pd.DataFrame:
    """`predicted_cluster_statistics` of the levels of several matrices, layer after layer.

    ``levels`` ``(samples, total)`` hold each layer's ascending levels in turn;
    the clusters are numbered on through the layers (`spectra.layered_levels`).
    """
    numbering = layered_levels(layers, tolerance)
    clusters = clusters_of_levels(numbering, observable)
    labels = numbering["cluster"].to_numpy()
    levels = np.asarray(levels, dtype=float)
    if levels.ndim != 2 or levels.shape[1] != labels.size:
        raise ValueError(f"levels must be (samples, {labels.size}), got {levels.shape}")
    groups = equal_groups(np.arange(len(levels)), error_groups)
    rows = []
    for cluster in clusters.itertuples(index=False):
        estimate, error = jackknife(spacing_and_width, levels[:, labels == cluster.cluster], groups)
        row = {"cluster": cluster.cluster, "levels": cluster.levels, "target": cluster.target}
        for name, value, value_error in zip(SPACING_AND_WIDTH, estimate, error, strict=True):
            row[name], row[f"{name}_err"] = value, value_error
        rows.append(row)
    return pd.DataFrame(rows, columns=PREDICTED_COLUMNS)
