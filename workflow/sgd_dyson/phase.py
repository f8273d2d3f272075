"""Observables of the SGD phase diagram of a multilayer network (arXiv:2509.01349).

The network is ``h₁ = f(M x)``, ``h₂ = f(W h₁)``, ``ŷ = Z h₂`` with only ``W``
``(K, L)`` trained; ``r = L/K``. Every function here follows the definitions of the
authors' analysis notebook (chanjure/phase_ml, ``src/notebooks/empirical_phase.ipynb``),
and says where its formula departs from, or is ambiguous in, the paper. Arrays carry
replicas on the leading axis: hidden activations ``(replicas, inputs, K)``, outputs
``(replicas, inputs, out)``, weights ``(replicas, K, L)``. The notebook evaluates
every observable on 128 fixed test inputs ``x ~ N(0, I)``.

The phase map is a grid of cells ``(1/σ_W, T = learning_rate/batch_size)``; a cell's
value is the mean over its replicas (models), and the drift-versus-noise criterion
gives the fraction of its models that pass, whose 68/95/99.7% contours the paper draws.
"""

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from sgd_dyson.spectra import neighbour_spacings

if TYPE_CHECKING:
    from sgd_dyson.networks import NetworkRun

CONTOUR_LEVELS = (0.68, 0.95, 0.997)
"""Pass fractions whose contours bound the ordered phase (the 1, 2 and 3σ coverages)."""


def _check_shape(name: str, array: np.ndarray, ndim: int, meaning: str) -> None:
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {meaning}, got shape {array.shape}")


def _check_same_shape(names: tuple[str, str], first: np.ndarray, second: np.ndarray) -> None:
    if first.shape != second.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {first.shape} "
            f"and {second.shape}"
        )


def mean_squared_error(teacher_outputs: np.ndarray, student_outputs: np.ndarray) -> np.ndarray:
    """Test error ``mean_{n,o} (y*_no − ŷ_no)²`` per replica: ``(replicas,)``.

    ``teacher_outputs`` and ``student_outputs`` are ``(replicas, inputs, out)`` on the
    same test inputs. No factor ½: the notebook's test MSE (``loss_test``) is the plain
    mean over inputs and outputs, unlike the training loss ``½ mean_n |y − ŷ|²``.
    """
    teacher_outputs = np.asarray(teacher_outputs, dtype=float)
    student_outputs = np.asarray(student_outputs, dtype=float)
    _check_shape("teacher_outputs", teacher_outputs, 3, "(replicas, inputs, out)")
    _check_same_shape(("teacher_outputs", "student_outputs"), teacher_outputs, student_outputs)
    return np.mean((teacher_outputs - student_outputs) ** 2, axis=(1, 2))


def overlap(initial_hidden: np.ndarray, final_hidden: np.ndarray) -> np.ndarray:
    """Overlap ``q = Σ_{n,k} h₂⁰_nk h₂_nk / (n_inputs K)`` per replica: ``(replicas,)``.

    ``initial_hidden`` and ``final_hidden`` are the second hidden layer
    ``(replicas, inputs, K)`` of the initial and final network on the same inputs
    (notebook ``q_time``). Large ``q`` means the network has barely moved from its
    initialisation (the frozen phase); ``q ≈ 0`` in the disordered phase.
    """
    initial_hidden = np.asarray(initial_hidden, dtype=float)
    final_hidden = np.asarray(final_hidden, dtype=float)
    _check_shape("initial_hidden", initial_hidden, 3, "(replicas, inputs, K)")
    _check_same_shape(("initial_hidden", "final_hidden"), initial_hidden, final_hidden)
    return np.mean(initial_hidden * final_hidden, axis=(1, 2))


def alignment(
    teacher_outputs: np.ndarray,
    readout: np.ndarray,
    hidden: np.ndarray,
    normalisation: Literal["global", "per_unit"] = "global",
) -> np.ndarray:
    """Alignment of the second hidden layer with the teacher's target ``H = y* Z``: ``(replicas,)``.

    ``H_nk = Σ_o y*_no Z_ok``, with ``teacher_outputs`` ``(replicas, inputs, out)``,
    ``readout`` ``Z`` ``(replicas, out, K)`` (or ``(out, K)``, shared) and ``hidden``
    ``h₂`` ``(replicas, inputs, K)``.

    - ``"global"`` (the paper's ``hs``, notebook ``hs``): both matrices are divided by
      their Frobenius norm over inputs and units together,
      ``hs = ⟨H/‖H‖_F, h₂/‖h₂‖_F⟩ / n_inputs``: a cosine divided by ``n_inputs``, so
      its maximum, at ``h₂ ∝ H``, is ``1/n_inputs`` (1/128 in the paper).
    - ``"per_unit"`` (notebook ``hsd``, its last figure): each unit's column is divided
      by its norm over inputs, ``Σ_k ⟨H_k/‖H_k‖, h₂k/‖h₂k‖⟩ / K``, the mean cosine per
      unit, at most 1.
    """
    teacher_outputs = np.asarray(teacher_outputs, dtype=float)
    readout = np.asarray(readout, dtype=float)
    hidden = np.asarray(hidden, dtype=float)
    _check_shape("teacher_outputs", teacher_outputs, 3, "(replicas, inputs, out)")
    _check_shape("hidden", hidden, 3, "(replicas, inputs, K)")
    if readout.ndim not in (2, 3) or readout.shape[-2:] != (
        teacher_outputs.shape[-1],
        hidden.shape[-1],
    ):
        raise ValueError(
            f"readout must be (replicas, out, K) or (out, K) with out = "
            f"{teacher_outputs.shape[-1]} and K = {hidden.shape[-1]}, got shape {readout.shape}"
        )
    target = teacher_outputs @ readout
    _check_same_shape(("teacher_outputs @ readout", "hidden"), target, hidden)
    if normalisation == "global":
        norm_axes, divisor = (1, 2), hidden.shape[1]
    elif normalisation == "per_unit":
        norm_axes, divisor = (1,), hidden.shape[2]
    else:
        raise ValueError(f"normalisation must be 'global' or 'per_unit', got {normalisation!r}")
    target = target / np.linalg.norm(target, axis=norm_axes, keepdims=True)
    hidden = hidden / np.linalg.norm(hidden, axis=norm_axes, keepdims=True)
    return np.sum(target * hidden, axis=(1, 2)) / divisor


def gram_levels(weights: np.ndarray) -> np.ndarray:
    """All ``K`` eigenvalues of ``X = W Wᵀ`` for ``weights`` ``(replicas, K, L)``, ascending.

    Zero levels included when ``K > L`` (unlike `sgd_dyson.spectra.gram_eigenvalues`,
    which keeps the smaller Gram matrix): the notebook's level flow is that of ``W Wᵀ``.
    """
    weights = np.asarray(weights, dtype=float)
    _check_shape("weights", weights, 3, "(replicas, K, L)")
    return np.linalg.eigvalsh(weights @ np.swapaxes(weights, -1, -2))


def spacing_growth_rate(
    initial_weights: np.ndarray, final_weights: np.ndarray, epochs: float
) -> np.ndarray:
    """The paper's "Lyapunov" rate ``log(ū_final / ū_initial) / epochs`` per replica.

    ``ū`` is the mean neighbour spacing of all ``K`` levels of ``X = W Wᵀ``
    (`gram_levels`), i.e. ``(x_max − x_min)/(K − 1)``; ``initial_weights`` and
    ``final_weights`` are ``(replicas, K, L)``, ``epochs`` the training time between
    them (the notebook divides by the total number of epochs). Returns ``(replicas,)``
    in units of 1/epoch; the notebook's cell value is the mean over replicas.
    """
    initial_weights = np.asarray(initial_weights, dtype=float)
    final_weights = np.asarray(final_weights, dtype=float)
    _check_shape("initial_weights", initial_weights, 3, "(replicas, K, L)")
    _check_same_shape(("initial_weights", "final_weights"), initial_weights, final_weights)
    if initial_weights.shape[1] < 2:
        raise ValueError(f"a level spacing needs K ≥ 2 levels, got K = {initial_weights.shape[1]}")
    if not epochs > 0:
        raise ValueError(f"epochs must be positive, got epochs={epochs}")
    initial_spacing = neighbour_spacings(gram_levels(initial_weights)).mean(axis=1)
    final_spacing = neighbour_spacings(gram_levels(final_weights)).mean(axis=1)
    return np.log(final_spacing / initial_spacing) / epochs


class EigenframeMoments(NamedTuple):
    """Drift and noise of the per-sample updates of ``X = W Wᵀ`` in its eigenframe."""

    levels: np.ndarray
    """``(replicas, K)`` eigenvalues of ``X``, descending (index 0 the largest level)."""
    drift: np.ndarray
    """``(replicas, K, K)`` ``K̃ = Oᵀ mean_n(dX_n) O``."""
    noise: np.ndarray
    """``(replicas, K, K)`` ``Ṽ``, the variance over samples (see `eigenframe_moments`)."""


def eigenframe_moments(
    weights: np.ndarray,
    per_sample_gradients: np.ndarray,
    noise_frame: Literal["rotated_variance", "variance_of_rotated"] = "rotated_variance",
) -> EigenframeMoments:
    """Drift ``K̃`` and noise ``Ṽ`` of the per-sample updates ``dX_n = W g_nᵀ + g_n Wᵀ``.

    ``weights`` ``W`` is ``(replicas, K, L)`` (the final weights) and
    ``per_sample_gradients`` ``g_n`` ``(replicas, samples, K, L)``. The notebook uses
    the per-sample gradients of ``½ (y* − ŷ)²`` on the 128 test inputs, with the sign
    of ``−∂/∂W``; the sign changes neither ``|K̃_aa|`` nor ``Ṽ``. The eigenframe ``O``
    (columns the eigenvectors of ``X = W Wᵀ``, levels descending) comes from the SVD
    of ``X``, as in the notebook, and ``K̃ = Oᵀ K O`` with ``K = mean_n dX_n``.

    The noise, as the notebook codes it (``"rotated_variance"``), rotates the matrix
    of entrywise variances, ``Ṽ = Oᵀ Var_n(dX_n) O`` (population variance, ``ddof = 0``):
    its off-diagonal entries change sign with the arbitrary signs of the eigenvectors,
    so they are fixed only by the linear-algebra library's convention.
    ``"variance_of_rotated"`` is the variance of the rotated updates,
    ``Ṽ_ab = Var_n[(Oᵀ dX_n O)_ab]``, which does not depend on those signs and is the
    ``⟨|dX̃_ab|²⟩`` of the Dyson level repulsion.
    """
    weights = np.asarray(weights, dtype=float)
    per_sample_gradients = np.asarray(per_sample_gradients, dtype=float)
    _check_shape("weights", weights, 3, "(replicas, K, L)")
    _check_shape("per_sample_gradients", per_sample_gradients, 4, "(replicas, samples, K, L)")
    if (
        per_sample_gradients.shape[0] != weights.shape[0]
        or per_sample_gradients.shape[2:] != weights.shape[1:]
    ):
        raise ValueError(
            f"per_sample_gradients must be (replicas, samples, K, L) = "
            f"({weights.shape[0]}, samples, {weights.shape[1]}, {weights.shape[2]}) to match "
            f"weights, got shape {per_sample_gradients.shape}"
        )
    if noise_frame not in ("rotated_variance", "variance_of_rotated"):
        raise ValueError(
            f"noise_frame must be 'rotated_variance' or 'variance_of_rotated', got {noise_frame!r}"
        )
    half_update = weights[:, None] @ np.swapaxes(per_sample_gradients, -1, -2)
    updates = half_update + np.swapaxes(half_update, -1, -2)
    frame, levels, _ = np.linalg.svd(weights @ np.swapaxes(weights, -1, -2))
    frame_t = np.swapaxes(frame, -1, -2)
    drift = frame_t @ updates.mean(axis=1) @ frame
    if noise_frame == "rotated_variance":
        noise = frame_t @ updates.var(axis=1) @ frame
    else:
        noise = (frame_t[:, None] @ updates @ frame[:, None]).var(axis=1)
    return EigenframeMoments(levels=levels, drift=drift, noise=noise)


def drift_contrast(drift: np.ndarray) -> np.ndarray:
    """``K_t = |K̃₀₀| − |K̃_{K−1,K−1}|``: drift of the largest minus that of the smallest level.

    ``drift`` is ``K̃`` ``(replicas, K, K)`` from `eigenframe_moments` (levels
    descending); returns ``(replicas,)`` (notebook ``K_t``).
    """
    drift = np.asarray(drift, dtype=float)
    _check_shape("drift", drift, 3, "(replicas, K, K)")
    return np.abs(drift[:, 0, 0]) - np.abs(drift[:, -1, -1])


def noise_sum(
    noise: np.ndarray, variant: Literal["as_coded", "corrected"] = "as_coded"
) -> np.ndarray:
    """Noise ``V_t`` felt by the extreme levels, from ``Ṽ`` ``(replicas, K, K)``: ``(replicas,)``.

    ``"as_coded"`` (notebook ``V_t``, used for the paper's figures):
    ``V_t = 2 Ṽ_{0,K−1}/(K − 1) + Σ_{k=1}^{K−2} (Ṽ_{0,k} + Ṽ_{K−1,K−k}) / k``; its
    ``k = 1`` term of the smallest level, ``Ṽ_{K−1,K−1}``, is a diagonal entry.
    ``"corrected"`` pairs the smallest level with its ``k``-th neighbour as the largest
    is paired with its own: ``Ṽ_{K−1,K−1−k}`` in place of ``Ṽ_{K−1,K−k}``. Both weight
    the neighbour at distance ``k`` (in level index) by ``1/k``. Needs ``K ≥ 2``.
    """
    noise = np.asarray(noise, dtype=float)
    _check_shape("noise", noise, 3, "(replicas, K, K)")
    levels = noise.shape[-1]
    if levels < 2 or noise.shape[-2] != levels:
        raise ValueError(f"noise must be (replicas, K, K) with K ≥ 2, got shape {noise.shape}")
    distance = np.arange(1, levels - 1)
    if variant == "as_coded":
        smallest_partner = levels - distance
    elif variant == "corrected":
        smallest_partner = levels - 1 - distance
    else:
        raise ValueError(f"variant must be 'as_coded' or 'corrected', got {variant!r}")
    neighbours = (noise[:, 0, distance] + noise[:, -1, smallest_partner]) / distance
    return 2 * noise[:, 0, -1] / (levels - 1) + neighbours.sum(axis=1)


def is_ordered(
    drift_contrasts: np.ndarray,
    noise_sums: np.ndarray,
    levels: int,
    width_ratio: float,
    learning_rate: float | np.ndarray,
    batch_size: int,
    init_width: float | np.ndarray,
) -> np.ndarray:
    """Drift-versus-noise criterion ``K_t/(√r (K − 1)) ≥ T V_t/(4σ_W²)`` per model.

    ``drift_contrasts`` ``K_t`` and ``noise_sums`` ``V_t`` are ``(replicas, ...)``
    (`drift_contrast`, `noise_sum`); ``levels`` is ``K``, ``width_ratio`` ``r = L/K``,
    ``T = learning_rate/batch_size`` and ``init_width`` the initialisation width σ_W
    (entries of ``W₀`` ``N(0, σ_W²/L)``). ``learning_rate`` and ``init_width`` may be
    arrays that broadcast against the trailing (cell) axes. Returns booleans of the
    broadcast shape (notebook ``limit_matrix_new`` before its mean over models).
    """
    drift_contrasts = np.asarray(drift_contrasts, dtype=float)
    noise_sums = np.asarray(noise_sums, dtype=float)
    _check_same_shape(("drift_contrasts", "noise_sums"), drift_contrasts, noise_sums)
    if levels < 2:
        raise ValueError(f"the criterion needs levels ≥ 2, got levels={levels}")
    if not width_ratio > 0 or not batch_size > 0:
        raise ValueError(
            f"width_ratio and batch_size must be positive, got width_ratio={width_ratio}, "
            f"batch_size={batch_size}"
        )
    temperature = np.asarray(learning_rate, dtype=float) / batch_size
    drift_side = drift_contrasts / (np.sqrt(width_ratio) * (levels - 1))
    noise_side = temperature * noise_sums / (4 * np.asarray(init_width, dtype=float) ** 2)
    return drift_side >= noise_side


def ordered_fraction(ordered: np.ndarray) -> np.ndarray:
    """Fraction of models passing the criterion: the mean of ``ordered`` over axis 0 (replicas).

    ``ordered`` is ``(replicas, ...)`` booleans from `is_ordered`; returns ``(...)``,
    e.g. the ``(n_σ, n_T)`` map whose contours the paper draws.
    """
    ordered = np.asarray(ordered)
    if ordered.ndim < 1 or ordered.shape[0] == 0:
        raise ValueError(f"ordered must have a non-empty replica axis, got shape {ordered.shape}")
    return ordered.mean(axis=0)


def contour_regions(
    pass_fraction: np.ndarray, levels: tuple[float, ...] = CONTOUR_LEVELS
) -> dict[float, np.ndarray]:
    """Boolean map ``pass_fraction ≥ level`` for each contour level.

    ``pass_fraction`` is the map of `ordered_fraction` over the ``(1/σ_W, T)`` grid;
    the contour line of a level is the boundary of its region (the line
    ``matplotlib.contour`` draws at that level). The notebook's last figures hide the
    contour where ``T · (1/σ_W) ≤ 0.1``, the frozen corner; that mask is a plotting
    choice, not part of the criterion.
    """
    pass_fraction = np.asarray(pass_fraction, dtype=float)
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"contour levels must lie in (0, 1), got {level}")
    return {level: pass_fraction >= level for level in levels}


def critical_temperature(
    pass_fraction: np.ndarray, temperatures: np.ndarray, level: float
) -> float:
    """Temperature where a column of the map stops passing ``level``, as the notebook reads it.

    ``pass_fraction`` and ``temperatures`` are ``(n_T,)`` along ``T`` at one ``1/σ_W``,
    ascending in ``T``. With ``i`` the largest index whose fraction exceeds ``level``
    (strictly), ``T_c = (T_i + T_{i+1})/2``. NaN when no temperature passes or the
    largest does (``T_c`` then lies off the grid).
    """
    pass_fraction = np.asarray(pass_fraction, dtype=float)
    temperatures = np.asarray(temperatures, dtype=float)
    _check_shape("pass_fraction", pass_fraction, 1, "(n_T,)")
    _check_same_shape(("pass_fraction", "temperatures"), pass_fraction, temperatures)
    if np.any(np.diff(temperatures) <= 0):
        raise ValueError(f"temperatures must be strictly ascending, got {temperatures}")
    passing = np.flatnonzero(pass_fraction > level)
    if passing.size == 0 or passing[-1] == temperatures.size - 1:
        return float("nan")
    last = passing[-1]
    return float((temperatures[last] + temperatures[last + 1]) / 2)


def phase_architecture(run: "NetworkRun") -> int:
    """The index ``k`` of the one learnable matrix ``W``, checking that the observables exist.

    The phase diagram's network has exactly one learnable matrix, any fixed layers
    before it, and after it one fixed matrix with the identity activation, the linear
    read-out ``Z`` of ``h₂ = f(W h₁)``: the overlap and the alignment are those of
    ``h₂``, the alignment needs ``ŷ = Z h₂``, and the level spacing needs ``K ≥ 2`` rows
    of ``W``. Anything else raises ``ValueError`` naming what is missing.
    """
    if len(run.learnable) != 1:
        raise ValueError(
            f"phase observables need one learnable matrix, got learnable = {list(run.learnable)}"
        )
    (learnable,) = run.learnable
    if learnable != run.matrices - 2 or run.activations[-1] != "identity":
        raise ValueError(
            f"phase observables need the learnable matrix {learnable} to be followed by one "
            f"linear read-out, got layers = {list(run.layers)} and activations = "
            f"{list(run.activations)}"
        )
    if run.shapes[learnable][0] < 2:
        raise ValueError(
            f"phase observables need K ≥ 2 rows of the learnable matrix, got layers = "
            f"{list(run.layers)}"
        )
    return learnable
