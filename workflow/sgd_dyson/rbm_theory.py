"""Leading-order theory of the Gaussian RBM trained by persistent contrastive divergence.

The update ``W ← W(1 + α σ_h² E)``, ``E = C_data − Ĉ`` (`models.gaussian_rbm`), moves
``X = WᵀW`` by ``X ← (1 + α σ_h² E) X (1 + α σ_h² E)``, and one block-Gibbs sweep of a
chain depends on ``W`` only through ``X``: ``v' = B v + η``, ``B = σ_h² X/μ²``,
``Cov η = σ_h² X/μ⁴ + 1/μ²``, whose stationary covariance is ``S(X) = (μ² − σ_h² X)⁻¹``.
``X`` is therefore a closed process. Everything here is in the eigenframe of the target
``X*`` (eigenvalues ``x_i``, the ``levels``), where ``S* = S(X*)`` is the data covariance:

- **chains** (`chain_variances`, `chain_lag_coefficients`): with ``k`` sweeps per update
  each chain coordinate is an AR(1) process of variance ``s_i = 1/(μ² − σ_h² x_i)`` and
  coefficient ``p_i = (σ_h² x_i/μ²)^k``; the sample covariance ``N = Ĉ − S`` of ``|B|``
  chains has ``Var N_ij = s_i s_j (1 + δ_ij)/|B|`` (Wick) and lag-τ correlation
  ``(p_i p_j)^τ`` (`sampling_variances`);
- **first order** (`first_order_covariance`): with ``X = X̄ + Y`` every entry of ``Y`` is
  an independent AR(1) process driven by coloured noise,
  ``Y_ij ← (1 − α r_ij) Y_ij − α σ_h² (x_i + x_j) N_ij``, ``r_ij = σ_h⁴ s_i s_j (x_i + x_j)``;
- **second order** (`stationary_mean_shift`): the levels' mean ``X̄ = X* + m`` moves by
  ``m`` (diagonal, equal within a degenerate cluster) such that ``E[X]`` is stationary
  (`mean_shift_residuals`), solved self-consistently with the first-order quantities taken
  at ``X̄``;
- **levels** (`stationary_gram_levels`): the Gram closure, ``X = WᵀW`` of Gaussian
  weights with ``X``'s mean ``X̄`` and covariance (`gram_closure_levels`), whose
  eigenvalues the theory stage reduces with the fit stage's estimators.

Source: the project's reference notes (``science.md``, "Predicting the Gaussian RBM"),
for the RBM of Aarts, Hajizadeh, Lucini & Park, arXiv:2411.13512 (its persistent chains
and its fitted ``a = 2.275 ± 0.033``). Two terms of the same order, ``α/|B|``, which the
notes drop are kept in the mean shift, both from the chains' persistence: the
correlation of the chains' sampling noise with the weights it has moved
(`chain_weight_covariances`), and the chains' lag behind the weights (`chain_bias`),
which carries a factor ``k p_i`` rather than ``p_i²`` and raises the upper levels' mean by
~15 % of their shift at the paper's settings (measured: the mean shift of ``X`` is uniform
over the levels, −11.5 α/|B|, where independent chains give −13 α/|B| for the top level).
Evaluating the first-order covariance at ``X̄`` rather than ``X*`` (the weights'
fluctuation is isotropic to leading order, ``Var Y_ij ≈ α (x̄_i + x̄_j)/(2|B|)``) lowers
the soft pairs' variance by ``m/x*``, 5 % for the lowest pair at 0.1/16, as measured.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .fits import spacing_and_width
from .gram_closure import gram_closure_levels, predicted_gram_levels, symmetric_normals
from .statistics import line_through_origin

MEAN_SHIFT_TOLERANCE = 1e-10
"""Relative tolerance of the mean-shift root (`scipy.optimize.root`, hybr's xtol)."""
MEAN_SHIFT_SAMPLES = 2000
"""Draws of ``Y`` behind the mean shift: with the exact second-order part and antithetic
pairs (`gram_drift`) its Monte-Carlo error is ~1e-4 of the levels at α/|B| = 0.1/16."""

PAPER_RATES, PAPER_BATCH = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1), 16
PAPER_BATCHES, PAPER_RATE = (4, 8, 16, 32, 64), 0.1
PAPER_SETTINGS = (
    *((rate, PAPER_BATCH) for rate in PAPER_RATES),
    *((PAPER_RATE, batch) for batch in PAPER_BATCHES),
)
"""``(α, |B|)`` of the paper's eleven RBM runs (Aarts, Hajizadeh, Lucini & Park,
arXiv:2411.13512): the α scan at |B| = 16 and the |B| scan at α = 0.1; (0.1, 16) is in both."""
PAPER_SLOPE = (2.275, 0.033)
"""The paper's fitted ``a ± δa`` of ``⟨S⟩ = a sqrt(α x*/|B|)`` through all pairs at
`PAPER_SETTINGS` (7500 replicas, 100 000 updates)."""


@dataclass(frozen=True)
class PersistentCD:
    """One point's persistent-contrastive-divergence settings (`models.gaussian_rbm`)."""

    mass: float
    """μ, the visible mass: the model kernel is ``μ² − σ_h² X``."""
    hidden_std: float
    """σ_h, the standard deviation of the hidden units."""
    gibbs_steps: int
    """k, block-Gibbs sweeps of the persistent chains per update."""
    learning_rate: float
    """α."""
    batch_size: int
    """|B|, the persistent chains per replica."""


class NoStationaryStateError(ValueError):
    """The linearised recursion or the chains have no stationary state at these settings."""


def chain_variances(levels: np.ndarray, mass: float, hidden_std: float) -> np.ndarray:
    """``s_i = 1/(μ² − σ_h² x_i)``: a chain coordinate's stationary variance, ``(n,)``.

    The diagonal of ``S(X) = (μ² − σ_h² X)⁻¹`` in the eigenframe of ``X``; a sweep
    ``v' = Bv + η`` keeps it since ``s = b² s + σ_h² x/μ⁴ + 1/μ²`` for ``b = σ_h² x/μ²``.
    Raises `NoStationaryStateError` where the kernel ``μ² − σ_h² x`` is not positive.
    """
    kernel = mass**2 - hidden_std**2 * np.asarray(levels, dtype=float)
    if not np.all(kernel > 0):
        raise NoStationaryStateError(
            f"the kernel μ² − σ_h² x has an eigenvalue {kernel.min():.4g} ≤ 0: the Gibbs "
            "chains have no stationary law"
        )
    return 1.0 / kernel


def chain_lag_coefficients(
    levels: np.ndarray, mass: float, hidden_std: float, gibbs_steps: int
) -> np.ndarray:
    """``p_i = (σ_h² x_i/μ²)^k``: a chain coordinate's AR(1) coefficient per update, ``(n,)``.

    ``k = gibbs_steps`` sweeps of ``v' = B v + η`` with ``B = σ_h² X/μ²``: ``P = Bᵏ``.
    """
    return (hidden_std**2 * np.asarray(levels, dtype=float) / mass**2) ** gibbs_steps


def sampling_variances(variances: np.ndarray, batch_size: int) -> np.ndarray:
    """``Var N_ij = s_i s_j (1 + δ_ij)/|B|`` of the chains' sample covariance, ``(n, n)``.

    ``N = mean_b v_b v_bᵀ − S`` of ``|B|`` independent Gaussian chains with
    ``Cov v = diag(s)`` (Isserlis/Wick); distinct entries ``i ≤ j`` are uncorrelated.
    """
    variances = np.asarray(variances, dtype=float)
    return np.outer(variances, variances) * (1 + np.eye(variances.size)) / batch_size


@dataclass(frozen=True)
class LinearRecursion:
    """The AR(1) recursion of every entry ``Y_ij`` with coloured noise, ``(n, n)`` arrays.

    ``Y ← a Y + e``, ``e = −α σ_h² (x_i + x_j) N_ij`` of variance ``drive`` and lag-τ
    correlation ``lag^τ``; ``noise`` is ``Var N_ij`` and ``gain`` the factor
    ``−α σ_h² (x_i + x_j)`` of ``N`` in ``e``.
    """

    coefficient: np.ndarray
    lag: np.ndarray
    drive: np.ndarray
    noise: np.ndarray
    gain: np.ndarray


def linear_recursion(levels: np.ndarray, training: PersistentCD) -> LinearRecursion:
    """The linearised recursion of ``Y = X − X*`` in the eigenframe of ``X*``.

    ``Y_ij ← (1 − α r_ij) Y_ij − α σ_h² (x_i + x_j) N_ij`` with
    ``r_ij = σ_h⁴ s_i s_j (x_i + x_j)`` (expand ``S(X* + Y) ≈ S* + σ_h² S* Y S*`` in
    ``X ← (1 + α σ_h² E) X (1 + α σ_h² E)``, ``E = S* − S(X) − N``, to first order), the
    noise ``N_ij`` of `sampling_variances` with lag correlation ``ρ_ij = p_i p_j``
    (`chain_lag_coefficients`). Raises `NoStationaryStateError` where an entry does not
    relax, ``|1 − α r_ij| ≥ 1``.
    """
    levels = np.asarray(levels, dtype=float)
    variances = chain_variances(levels, training.mass, training.hidden_std)
    lags = chain_lag_coefficients(levels, training.mass, training.hidden_std, training.gibbs_steps)
    sums = levels[:, None] + levels[None, :]
    rates = training.hidden_std**4 * np.outer(variances, variances) * sums
    coefficient = 1 - training.learning_rate * rates
    if not np.all(np.abs(coefficient) < 1):
        worst = coefficient.flat[np.argmax(np.abs(coefficient))]
        raise NoStationaryStateError(
            f"the linearised RBM update does not relax at learning rate "
            f"{training.learning_rate}: an entry of X − X* is multiplied by {worst:.4g} per "
            "update"
        )
    noise = sampling_variances(variances, training.batch_size)
    gain = -training.learning_rate * training.hidden_std**2 * sums
    return LinearRecursion(coefficient, np.outer(lags, lags), gain**2 * noise, noise, gain)


def first_order_covariance(levels: np.ndarray, training: PersistentCD) -> np.ndarray:
    """Stationary ``Var Y_ij`` of `linear_recursion`, ``(n, n)``; the entries are independent.

    ``Var Y = c (1 + aρ)/((1 − a²)(1 − aρ))`` for ``Y ← aY + e``, ``Var e = c``,
    ``Corr(e_t, e_{t+τ}) = ρ^τ``: ``Var Y = Σ_{τ,τ'} a^{τ+τ'} c ρ^{|τ−τ'|}``. The
    discrete-time factor is ``1 − a² = α r (2 − α r)``. For a degenerate pair at small
    α the off-diagonal entry has ``v = α x*(1 + ρ)/(|B|(1 − ρ))``: ``⟨S⟩ → √(2π v)``.
    """
    recursion = linear_recursion(levels, training)
    a, rho = recursion.coefficient, recursion.lag
    return recursion.drive * (1 + a * rho) / ((1 - a**2) * (1 - a * rho))


def continuum_covariance(levels: np.ndarray, training: PersistentCD) -> np.ndarray:
    """The α → 0 limit of `first_order_covariance` at fixed α/|B|, ``(n, n)``.

    ``Var Y_ij = c (1 + ρ)/(2 α r_ij (1 − ρ))``: the Ornstein–Uhlenbeck limit, the
    discrete-time factor ``1 − a² → 2αr`` and ``aρ → ρ`` (the chains' lag correlation
    does not vanish with α).
    """
    recursion = linear_recursion(levels, training)
    rates = (1 - recursion.coefficient) / training.learning_rate
    rho = recursion.lag
    return recursion.drive * (1 + rho) / (2 * training.learning_rate * rates * (1 - rho))


def chain_weight_covariances(levels: np.ndarray, training: PersistentCD) -> np.ndarray:
    """``E[N_ij Y_ij]`` of the stationary linear recursion, ``(n, n)``.

    ``Y_t = Σ_{τ≥1} a^{τ−1} g N_{t−τ}`` with ``g = −α σ_h² (x_i + x_j)``, and the chains
    carry their sampling noise over, ``Cov(N_t, N_{t−τ}) = ρ^τ Var N``:
    ``E[N_t Y_t] = g Var N ρ/(1 − aρ)``. Zero for chains that forget between updates.
    """
    recursion = linear_recursion(levels, training)
    a, rho = recursion.coefficient, recursion.lag
    return recursion.gain * recursion.noise * rho / (1 - a * rho)


def transition_slopes(
    levels: np.ndarray, mass: float, hidden_std: float, gibbs_steps: int
) -> np.ndarray:
    """Divided differences ``f_ij`` of ``p(x) = (σ_h² x/μ²)^k`` at the levels, ``(n, n)``.

    ``(p_i − p_j)/(x_i − x_j)``, and ``p'(x_i) = k p_i/x_i`` where ``x_i = x_j``: the
    first-order change of the chains' transition ``P = (σ_h² X/μ²)^k`` in the eigenframe,
    ``δP_ij = f_ij Y_ij`` (Daleckii–Krein).
    """
    levels = np.asarray(levels, dtype=float)
    lags = chain_lag_coefficients(levels, mass, hidden_std, gibbs_steps)
    gaps = levels[:, None] - levels[None, :]
    equal = np.isclose(gaps, 0.0, rtol=0.0, atol=1e-12 * max(1.0, np.abs(levels).max()))
    slopes = gibbs_steps * lags / levels
    return np.where(
        equal,
        np.broadcast_to(slopes[:, None], gaps.shape),
        (lags[:, None] - lags[None, :]) / np.where(equal, 1.0, gaps),
    )


def chain_bias(levels: np.ndarray, training: PersistentCD) -> np.ndarray:
    """``E[N_ii] = E[Ĉ − S(X)]_ii`` of persistent chains, ``(n,)``: they lag the weights.

    Given the chains before an update and the current ``X``, ``E[Ĉ_t] = P Ĉ_{t−1} P +
    S(X_t) − P S(X_t) P`` with ``P = P(X_t)``, so ``N_t = Ĉ_t − S(X_t)`` has
    ``E[N_t] = E[P_t N_{t−1} P_t]`` (to this order): the transition ``P_t`` depends on
    the weights ``X_t``, which the previous sample ``N_{t−1}`` has just moved. With
    ``δP_ij = f_ij Y_ij`` (`transition_slopes`) and ``E[Y_t N_{t−1}] = g Var N/(1 − aρ)``,
    ``E[N_ii] (1 − p_i²) = 2 p_i Σ_j f_ij E[Y_t,ij N_{t−1},ij]``. Zero for ``p = 0``.
    """
    recursion = linear_recursion(levels, training)
    lags = chain_lag_coefficients(levels, training.mass, training.hidden_std, training.gibbs_steps)
    slopes = transition_slopes(levels, training.mass, training.hidden_std, training.gibbs_steps)
    response = recursion.gain * recursion.noise / (1 - recursion.coefficient * recursion.lag)
    return 2 * lags * np.sum(slopes * response, axis=1) / (1 - lags**2)


def gram_drift(
    levels: np.ndarray,
    centre: np.ndarray,
    covariance: np.ndarray,
    deviations: np.ndarray,
    training: PersistentCD,
) -> np.ndarray:
    """``E[(S* − S(X)) X + X (S* − S(X))]_ii`` for ``X = diag(centre) + Y``, ``(n,)``.

    ``Y`` has the independent entries of variance ``covariance`` ``(n, n)``, sampled by
    ``deviations`` ``(samples, n, n)`` (antithetic pairs). The second-order Taylor part
    of ``S(X̄ + Y) = S̄ + σ_h² S̄ Y S̄ + σ_h⁴ S̄ Y S̄ Y S̄ + …`` is averaged exactly,

        2 [(s*_i − s̄_i) x̄_i − σ_h² s̄_i (1 + σ_h² s̄_i x̄_i) Σ_j s̄_j Var Y_ij],

    and only the rest by Monte Carlo (a control variate: its noise is of order Y⁴, not
    Y²). ``s* = S(X*)`` of the ``levels``, ``s̄ = S(X̄)`` of the ``centre``.
    """
    sigma2 = training.hidden_std**2
    target = chain_variances(levels, training.mass, training.hidden_std)
    mean = chain_variances(centre, training.mass, training.hidden_std)
    weights = np.diag(centre) + deviations
    kernel = training.mass**2 * np.eye(levels.size) - sigma2 * weights
    exact = np.sum((np.diag(target) - np.linalg.inv(kernel)) * weights, axis=-1)
    # The same with S(X) expanded to second order in Y: its expectation is known.
    scaled = mean[:, None] * deviations * mean[None, :]  # S̄ Y S̄
    first = sigma2 * scaled
    second = sigma2**2 * scaled @ (deviations * mean[None, None, :])  # S̄ Y S̄ Y S̄
    # Its odd (third) order cancels in the antithetic average.
    quadratic = np.sum((np.diag(target - mean) - first - second) * weights, axis=-1)
    known = (target - mean) * centre - sigma2 * mean * (1 + sigma2 * mean * centre) * (
        covariance @ mean
    )
    return 2 * (known + np.mean(exact - quadratic, axis=0))


def mean_shift_residuals(
    shift: np.ndarray, levels: np.ndarray, normals: np.ndarray, training: PersistentCD
) -> np.ndarray:
    """The diagonal of the stationarity condition of ``E[X]``, per level ``(n,)``.

    ``X ← X + α σ_h² (E X + X E) + α² σ_h⁴ E X E`` with ``E = S* − S(X) − N`` is stationary
    in the mean iff, to second order,

        E[(S* − S(X)) X + X (S* − S(X))] − 2 x̄ E[N] − 2 E[N Y] + α σ_h² E[N X̄ N] = 0

    on the diagonal, ``X = X̄ + Y``, ``X̄ = X* + m`` (``m = shift``), the exact
    ``S(X) = (μ² − σ_h² X)⁻¹`` averaged over ``Y = normals × sqrt(Var Y)``
    (``normals`` ``(samples, n, n)`` symmetric standard normals; pass antithetic pairs
    so that the odd orders cancel exactly), ``E[N X̄ N]_ii = Σ_j x̄_j Var N_ij``, ``E[N]``
    the persistent chains' bias (`chain_bias`) and ``E[N Y]_ii = Σ_j E[N_ij Y_ij]``
    (`chain_weight_covariances`). Self-consistently, every first-order quantity (``Var
    Y``, ``Var N``, the chains' lags) is that of the levels ``x̄ = x* + m`` the process
    fluctuates about: to leading order ``Var Y_ij = α (x̄_i + x̄_j)/(2|B|)``, the isotropic
    weight fluctuation of variance ``α/(2|B|)`` mapped to ``X = WᵀW`` at the mean weights.
    """
    levels = np.asarray(levels, dtype=float)
    centre = levels + shift
    covariance = first_order_covariance(centre, training)
    drift = gram_drift(levels, centre, covariance, normals * np.sqrt(covariance), training)
    variances = chain_variances(centre, training.mass, training.hidden_std)
    ito = (
        training.learning_rate
        * training.hidden_std**2
        * (sampling_variances(variances, training.batch_size) @ centre)
    )
    lagging = 2 * centre * chain_bias(centre, training)
    correlation = 2 * chain_weight_covariances(centre, training).sum(axis=1)
    return drift - lagging - correlation + ito


def stationary_mean_shift(
    levels: np.ndarray,
    clusters: np.ndarray,
    training: PersistentCD,
    samples: int,
    generator: np.random.Generator,
) -> np.ndarray:
    """The second-order shift ``m`` of every level's mean, ``(n,)``, equal within a cluster.

    Solves `mean_shift_residuals` = 0 (averaged over each degenerate cluster, whose levels
    shift alike) by a root finder over one fixed set of ``samples`` symmetric standard
    normal matrices, half of them the negatives of the others, drawn from ``generator``.
    ``clusters`` ``(n,)`` labels the levels 0, 1, …. Raises `NoStationaryStateError` where
    the recursion does not relax, a sampled kernel is not positive definite or the root
    finder fails.
    """
    levels = np.asarray(levels, dtype=float)
    clusters = np.asarray(clusters)
    half = symmetric_normals(max(samples // 2, 1), levels.size, generator)
    normals = np.concatenate([half, -half])
    membership = clusters[None, :] == np.unique(clusters)[:, None]
    averages = membership / membership.sum(axis=1, keepdims=True)

    def residuals(cluster_shift: np.ndarray) -> np.ndarray:
        shift = cluster_shift @ membership
        return averages @ mean_shift_residuals(shift, levels, normals, training)

    spread = np.sqrt(first_order_covariance(levels, training))
    upper = np.linalg.eigvalsh(np.diag(levels) + normals * spread)[:, -1].max()
    if not training.hidden_std**2 * upper < training.mass**2:
        raise NoStationaryStateError(
            "the first-order spread of X reaches a non-positive kernel μ² − σ_h² X"
        )
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            solution = optimize.root(
                residuals, np.zeros(len(membership)), method="hybr", tol=MEAN_SHIFT_TOLERANCE
            )
        except (FloatingPointError, np.linalg.LinAlgError, NoStationaryStateError) as error:
            raise NoStationaryStateError(f"no stationary mean shift: {error}") from None
    if not solution.success:
        raise NoStationaryStateError(f"no stationary mean shift found: {solution.message}")
    return solution.x @ membership


def stationary_gram_levels(
    levels: np.ndarray,
    clusters: np.ndarray,
    training: PersistentCD,
    samples: int,
    generator: np.random.Generator,
    exact: bool = True,
) -> np.ndarray:
    """``samples`` draws of the stationary eigenvalues of ``X = WᵀW``, ``(samples, n)``.

    ``exact``: the Gram closure (`gram_closure_levels`) of mean ``X* + m``, the
    second-order shift ``m`` (`stationary_mean_shift`, from its own `MEAN_SHIFT_SAMPLES`
    draws), and the discrete-time first-order covariance of ``Y`` about ``X* + m``
    (`first_order_covariance`). Otherwise the continuum limit (α → 0 at fixed
    α/|B|): every degenerate cluster its own block of `continuum_covariance` about its
    target, whose eigenvalues are that cluster's levels (in the limit the clusters
    neither interact nor overlap); the entries between clusters, whose effect on the
    levels is of higher order in α/|B|, and the shift are left out.
    """
    levels = np.asarray(levels, dtype=float)
    clusters = np.asarray(clusters)
    if exact:
        shift = stationary_mean_shift(levels, clusters, training, MEAN_SHIFT_SAMPLES, generator)
        covariance = first_order_covariance(levels + shift, training)
        return gram_closure_levels(levels + shift, covariance, samples, generator)
    covariance = continuum_covariance(levels, training)
    sampled = np.empty((samples, levels.size))
    for cluster in np.unique(clusters):
        block = np.flatnonzero(clusters == cluster)
        sampled[:, block] = predicted_gram_levels(
            levels[block], covariance[np.ix_(block, block)], samples, generator
        )
    return sampled


def pair_mean_spacings(levels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """⟨S⟩ of every cluster of two levels, in cluster order, from ``(samples, n)`` levels."""
    clusters = np.asarray(clusters)
    pairs = [c for c in np.unique(clusters) if np.sum(clusters == c) == 2]
    return np.array([spacing_and_width(levels[:, clusters == c])[0] for c in pairs])


def predicted_slope(
    levels: np.ndarray,
    clusters: np.ndarray,
    training: PersistentCD,
    settings: tuple[tuple[float, int], ...],
    samples: int,
    generator: np.random.Generator,
) -> float:
    """Slope of the line ``⟨S⟩ = a sqrt(α x*/|B|)`` through the predicted pairs' ⟨S⟩.

    At every ``(α, |B|)`` of ``settings`` (``training``'s own α and |B| are replaced),
    ⟨S⟩ of every pair from `stationary_gram_levels`; the line through the origin pools
    all pairs and settings with equal relative errors (as runs of equal length give),
    `statistics.line_through_origin`.
    """
    levels = np.asarray(levels, dtype=float)
    clusters = np.asarray(clusters)
    pairs = [c for c in np.unique(clusters) if np.sum(clusters == c) == 2]
    targets = np.array([levels[clusters == c].mean() for c in pairs])
    scales, spacings = [], []
    for learning_rate, batch_size in settings:
        point = PersistentCD(
            training.mass, training.hidden_std, training.gibbs_steps, learning_rate, batch_size
        )
        sampled = stationary_gram_levels(levels, clusters, point, samples, generator)
        spacings.append(pair_mean_spacings(sampled, clusters))
        scales.append(np.sqrt(learning_rate / batch_size * targets))
    spacing = np.concatenate(spacings)
    return line_through_origin(np.concatenate(scales), spacing, spacing)[0]


def continuum_pair_slopes(
    levels: np.ndarray, clusters: np.ndarray, training: PersistentCD
) -> np.ndarray:
    """``⟨S⟩/sqrt(α x*/|B|)`` of every pair as α/|B| → 0: ``√(2π (1 + ρ)/(1 − ρ))``.

    A degenerate pair is a GOE block of off-diagonal variance ``v`` (`continuum_covariance`):
    ``⟨S⟩ = √(2π v)``, ``v = α x*(1 + ρ)/(|B|(1 − ρ))``, ``ρ = p²`` of the pair's chains
    (`chain_lag_coefficients`); ``√(2π)`` for chains that forget between updates.
    """
    levels = np.asarray(levels, dtype=float)
    clusters = np.asarray(clusters)
    pairs = [c for c in np.unique(clusters) if np.sum(clusters == c) == 2]
    covariance = continuum_covariance(levels, training)
    slopes = []
    for cluster in pairs:
        first, second = np.flatnonzero(clusters == cluster)
        ratio = training.learning_rate / training.batch_size * levels[first]
        slopes.append(np.sqrt(2 * np.pi * covariance[first, second] / ratio))
    return np.array(slopes)
