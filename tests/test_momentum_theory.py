"""Specifications of the exact stationary theory of momentum SGD (`sgd_dyson.momentum_theory`).

The block solver is checked against plain SGD (β = 0, `theory`), against the stationary
covariance of the stacked state ``s = (vec D, vec V)`` computed from the random linear map
``s ← T(Ĉ) s + b vec A`` alone (written here, independently of the module's recursion),
against its continuum limit, and against direct simulations of PyTorch's heavy ball and
Nesterov momentum written here, vectorised over replicas. Every statistical tolerance is
4 standard errors (two-sided false-failure probability ~6e-5), Bonferroni-corrected over a
test's comparisons, the errors estimated from replica-level means (replicas are
independent; snapshots of one replica need not be).
"""

from collections.abc import Callable

import numpy as np
import pytest

from sgd_dyson import momentum_theory, theory
from sgd_dyson.models.teacher_student import hidden_matrix
from sgd_dyson.sampling import goe_matrices

from tolerances import bonferroni_z, replica_mean_and_error

ROOT_SEED = 20240723
NOISE = 0.1
HIDDEN = (1.2, 0.8)
"""ZᵀZ eigenvalues 1.44 and 0.64."""


def layer_of(hidden: tuple[float, ...] | None, size: int) -> np.ndarray:
    return np.eye(size) if hidden is None else hidden_matrix(hidden, ROOT_SEED)


def gram_of(hidden: tuple[float, ...] | None, size: int) -> np.ndarray:
    layer = layer_of(hidden, size)
    return layer.T @ layer


# --- The reference: second moments of the stacked state -------------------------------


def state_map(gradient_map: np.ndarray, alpha: float, beta: float, nesterov: bool) -> np.ndarray:
    """``T`` of ``(vec D, vec V) ← T (vec D, vec V)`` when ``vec g = gradient_map vec D``.

    PyTorch: ``V' = βV + g``, then ``D' = D − αV'`` or, Nesterov, ``D' = D − α(g + βV')``.
    """
    n = len(gradient_map)
    eye, zero = np.eye(n), np.zeros((n, n))
    velocity = np.hstack([gradient_map, beta * eye])
    step = np.hstack([gradient_map, zero]) + beta * velocity if nesterov else velocity
    return np.vstack([np.hstack([eye, zero]) - alpha * step, velocity])


def reference_step(
    gram: np.ndarray, alpha: float, beta: float, batch: int, nesterov: bool
) -> Callable[[np.ndarray], np.ndarray]:
    """``Σ ↦ E[T(Ĉ) Σ T(Ĉ)ᵀ]`` on covariances ``Σ`` of ``(vec D, vec V)`` (row-major vec).

    ``vec(G D Ĉ) = (G ⊗ Ĉᵀ) vec D``, so ``T`` is affine in ``Ĉ``: ``T(Ĉ) = T(1) +
    Σ_bj (Ĉ − 1)_bj L_bj`` with ``L_bj = T(G ⊗ E_jb) − T(0)``, and ``Cov(Ĉ_bj, Ĉ_dl) =
    (δ_bd δ_jl + δ_bl δ_jd)/|B|`` (Wishart).
    """
    size = len(gram)
    mean = state_map(np.kron(gram, np.eye(size)), alpha, beta, nesterov)
    offset = state_map(np.zeros((size**2, size**2)), alpha, beta, nesterov)
    units = np.eye(size)
    linear = {
        (b, j): state_map(np.kron(gram, np.outer(units[j], units[b])), alpha, beta, nesterov)
        - offset
        for b in range(size)
        for j in range(size)
    }
    pairs = [(matrix, (linear[b, j] + linear[j, b]) / batch) for (b, j), matrix in linear.items()]

    def step(covariance: np.ndarray) -> np.ndarray:
        result = mean @ covariance @ mean.T
        for matrix, partner in pairs:
            result += matrix @ covariance @ partner.T
        return result

    return step


def noise_input(size: int, alpha: float, beta: float, nesterov: bool) -> np.ndarray:
    """``b`` of ``s ← … + b vec A``: ``V`` gets ``A``, ``D`` −α (Nesterov: −α(1 + β))."""
    eye = np.eye(size**2)
    return np.vstack([-alpha * (1 + beta if nesterov else 1) * eye, eye])


def symmetric_basis(dim: int) -> np.ndarray:
    """Orthonormal basis of the symmetric ``dim × dim`` matrices, as columns of vec's."""
    columns = []
    for p in range(dim):
        for q in range(p, dim):
            unit = np.zeros((dim, dim))
            unit[p, q] = unit[q, p] = 1
            columns.append(unit.ravel() / np.linalg.norm(unit))
    return np.array(columns).T


def dense_reference(
    gram: np.ndarray, alpha: float, beta: float, batch: int, noise: np.ndarray, nesterov: bool
) -> tuple[momentum_theory.MomentumMoments | None, float]:
    """Stationary moments (None if unstable) and spectral radius of `reference_step`.

    The map restricted to symmetric ``Σ`` (the covariances a replica can have), built
    column by column and solved densely.
    """
    size = len(gram)
    dim = 2 * size**2
    basis = symmetric_basis(dim)
    step = reference_step(gram, alpha, beta, batch, nesterov)
    restricted = np.stack(
        [basis.T @ step(column.reshape(dim, dim)).ravel() for column in basis.T], axis=1
    )
    radius = float(np.abs(np.linalg.eigvals(restricted)).max())
    if radius >= 1:
        return None, radius
    forcing = noise_input(size, alpha, beta, nesterov)
    source = forcing @ noise.reshape(size**2, size**2) @ forcing.T
    coordinates = np.linalg.solve(np.eye(len(restricted)) - restricted, basis.T @ source.ravel())
    covariance = (basis @ coordinates).reshape(dim, dim)
    blocks = covariance.reshape(2, size, size, 2, size, size)
    return momentum_theory.MomentumMoments(
        blocks[0, ..., 0, :, :], blocks[0, ..., 1, :, :], blocks[1, ..., 1, :, :]
    ), radius


def stacked_covariance(state: momentum_theory.MomentumMoments) -> np.ndarray:
    """``Σ`` of ``(vec D, vec V)`` from the three moment tensors."""
    size = state.deviation.shape[0]
    n = size**2
    cross = state.cross.reshape(n, n)
    return np.block(
        [[state.deviation.reshape(n, n), cross], [cross.T, state.velocity.reshape(n, n)]]
    )


# --- The solver -----------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
@pytest.mark.parametrize("kind", ["injected", "label"])
@pytest.mark.parametrize("hidden", [None, HIDDEN, (1.3, 0.9, 0.6)], ids=["z1", "n2", "n3"])
def test_no_momentum_reproduces_plain_sgd(hidden, kind, nesterov):
    size = 2 if hidden is None else len(hidden)
    gram = gram_of(hidden, size)
    for alpha, batch in [(0.5, 4), (0.2, 8), (0.05, 1)]:
        noise = theory.linear_model_noise_moments(gram, kind, NOISE, batch)
        expected = theory.stationary_second_moments(gram, alpha, batch, noise)
        solved = momentum_theory.stationary_momentum_moments(
            gram, alpha, 0.0, batch, noise, nesterov
        )
        np.testing.assert_allclose(
            solved, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max()
        )
        assert momentum_theory.momentum_mean_square_contraction(
            gram, alpha, 0.0, batch, nesterov
        ) == pytest.approx(theory.mean_square_contraction(gram, alpha, batch), rel=1e-12)


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
@pytest.mark.parametrize(
    "gram",
    [1.3 * np.eye(1), np.eye(2), gram_of(HIDDEN, 2), gram_of((1.3, 0.9, 0.6), 3)],
    ids=["n1", "z1", "n2", "n3"],
)
def test_block_solver_equals_the_dense_stacked_state_solve(gram, nesterov):
    # Moments and contraction (contractions 0.21 to 0.99); for N = 3 the first point is
    # unstable (1.22 heavy ball, 1.48 Nesterov) and only the contractions are compared.
    for alpha, beta, batch in [(0.3, 0.6, 2), (0.1, 0.9, 4), (0.5, 0.2, 8)]:
        noise = theory.injected_noise_moments(len(gram), NOISE, batch)
        expected, radius = dense_reference(gram, alpha, beta, batch, noise, nesterov)
        contraction = momentum_theory.momentum_mean_square_contraction(
            gram, alpha, beta, batch, nesterov
        )
        assert contraction == pytest.approx(radius, rel=1e-10)
        if expected is None:
            continue
        solved = momentum_theory.stationary_momentum_state(
            gram, alpha, beta, batch, noise, nesterov
        )
        for name, value, reference in zip(expected._fields, solved, expected, strict=True):
            np.testing.assert_allclose(
                value, reference, rtol=1e-9, atol=1e-10 * np.abs(reference).max(), err_msg=name
            )


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
def test_six_dimensional_solution_is_a_fixed_point_of_the_stacked_state_map(nesterov):
    # N = 6 has 2N² = 72 state components (2628 distinct covariances): too many for the dense
    # reference, so apply its map once and check the fixed point and that Σ is a covariance.
    gram = gram_of(tuple(np.linspace(0.7, 1.3, 6)), 6)
    alpha, beta, batch = 0.1, 0.8, 8
    noise = theory.label_noise_moments(gram, NOISE, batch)
    state = momentum_theory.stationary_momentum_state(gram, alpha, beta, batch, noise, nesterov)
    covariance = stacked_covariance(state)
    forcing = noise_input(6, alpha, beta, nesterov)
    stepped = reference_step(gram, alpha, beta, batch, nesterov)(covariance)
    stepped += forcing @ noise.reshape(36, 36) @ forcing.T
    np.testing.assert_allclose(stepped, covariance, rtol=0, atol=1e-12 * np.abs(covariance).max())
    np.testing.assert_allclose(covariance, covariance.T, rtol=0, atol=1e-15)
    assert np.linalg.eigvalsh(covariance)[0] > -1e-12 * np.abs(covariance).max()


@pytest.mark.parametrize("kind", ["injected", "label"])
def test_heavy_ball_stationary_state_balances_drift_against_velocity_variance(kind):
    # Heavy ball, exactly (any α, |B|, noise): G·P + P·G = α(1 + β) R, i.e.
    # G_ia E[D_aj D_kl] + G_kc E[D_ij D_cl] = α(1 + β) E[V_ij V_kl] (β = 0: SGD's E[g ⊗ g]).
    gram = gram_of((1.3, 0.9, 0.6), 3)
    for alpha, beta, batch in [(0.1, 0.7, 4), (0.01, 0.95, 1), (0.3, 0.3, 16)]:
        noise = theory.linear_model_noise_moments(gram, kind, NOISE, batch)
        state = momentum_theory.stationary_momentum_state(gram, alpha, beta, batch, noise)
        drift = np.einsum("ia,ajkl->ijkl", gram, state.deviation) + np.einsum(
            "kc,ijcl->ijkl", gram, state.deviation
        )
        np.testing.assert_allclose(
            drift, alpha * (1 + beta) * state.velocity, rtol=0, atol=1e-12 * np.abs(drift).max()
        )


# --- Continuum limit ------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
@pytest.mark.parametrize("kind", ["injected", "label"])
def test_exact_tends_to_sgd_continuum_at_the_effective_learning_rate(kind, nesterov):
    # β = 0.9, α_eff = α/(1 − β) → 0 at fixed |B| and fixed α_eff ε²/|B| = 1 (M of order
    # one): the exact moments are the continuum ones times 1 + k α_eff + O(α_eff²), with
    # |k| < 1 here (0.39–0.70 entrywise; the trace's k is +0.19 injected, +0.31 label for
    # the heavy ball, −0.31 and −0.49 for Nesterov, which sits below the continuum).
    # (ratio − 1)/α_eff converges: its change per decade shrinks ~10×.
    hidden, batch, beta = (1.4, 1.0, 0.6), 8, 0.9
    gram = gram_of(hidden, len(hidden))
    slopes = []
    for alpha in (1e-2, 1e-3, 1e-4):
        effective = alpha / (1 - beta)
        noise = np.sqrt(batch / effective)
        exact = momentum_theory.linear_model_momentum_moments(
            gram, kind, noise, alpha, beta, batch, nesterov=nesterov
        )
        continuum = momentum_theory.linear_model_momentum_moments(
            gram, kind, noise, alpha, beta, batch, exact=False
        )
        sgd = theory.continuum_second_moments(
            gram, effective, batch, theory.linear_model_noise_moments(gram, kind, noise, batch)
        )
        np.testing.assert_allclose(continuum, sgd, rtol=1e-14)
        np.testing.assert_allclose(exact, continuum, atol=effective * np.abs(continuum).max())
        slopes.append((np.einsum("ijij", exact) / np.einsum("ijij", continuum) - 1) / effective)
    assert 0.1 < abs(slopes[-1]) < 1
    assert abs(slopes[2] - slopes[1]) < 0.2 * abs(slopes[1] - slopes[0])


# --- Against simulation ---------------------------------------------------------------


def simulate_momentum(
    hidden: tuple[float, ...] | None,
    kind: str,
    alpha: float,
    beta: float,
    batch: int,
    nesterov: bool,
    replicas: int,
    steps: int,
    snapshot_every: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``D = W − W*`` and ``V`` every ``snapshot_every`` steps, ``(snapshots, replicas, 2, 2)``.

    PyTorch's SGD with momentum on the online teacher–student model with ``N = 2``
    from ``D = V = 0``: every step a fresh batch of ``x ~ N(0, I)``, ``Ĉ = mean_b x_b x_bᵀ``,
    ``g = ZᵀZ D Ĉ + A`` with ``A`` the batch mean of per-sample GOE matrices of scale ε
    (injected) or ``−ε Zᵀ mean_b ξ_b x_bᵀ``, ``ξ ~ N(0, I)`` (label noise).
    """
    size = 2
    layer = layer_of(hidden, size)
    gram = layer.T @ layer
    generator = np.random.default_rng([ROOT_SEED, seed])
    deviation = np.zeros((replicas, size, size))
    velocity = np.zeros_like(deviation)
    deviations, velocities = [], []
    for step in range(1, steps + 1):
        inputs = generator.standard_normal((replicas, batch, size))
        moments = inputs.swapaxes(1, 2) @ inputs / batch
        if kind == "injected":
            additive = goe_matrices(generator, (replicas, batch), size, NOISE).mean(axis=1)
        else:
            labels = generator.standard_normal((replicas, batch, size))
            additive = -NOISE * layer.T @ (labels.swapaxes(1, 2) @ inputs / batch)
        gradient = gram @ deviation @ moments + additive
        velocity = beta * velocity + gradient
        deviation = deviation - alpha * (gradient + beta * velocity if nesterov else velocity)
        if step % snapshot_every == 0:
            deviations.append(deviation)
            velocities.append(velocity)
    return np.array(deviations), np.array(velocities)


# (hidden, kind, α, β, |B|, nesterov, replicas, burn-in, snapshot spacing). Burn-in: the
# second moments start at 0 and approach their stationary values like contraction^t; it
# leaves them < 1e-4 short. Every α is below the edge where the fourth moments of D diverge
# (computed for these points from the exact Wishart moments up to fourth order: 0.187,
# 0.221, 0.565 and 1.456), so D² has a finite spread and the 4σ bound is a valid statistic;
# nearer the mean-square edge the stationary law's power-law tails (the multiplicative
# noise's) leave the sample errors meaningless: at contraction 0.97 with |B| = 2 the same
# comparison misses by up to 8σ.
SIMULATED_POINTS = {
    # G = 1, slow momentum: contraction 0.938, exact/continuum trace 1.67.
    "z1_injected_heavy_ball": (None, "injected", 0.1, 0.9, 4, False, 2000, 150, 50),
    # |B| = 2, strong multiplicative noise: contraction 0.784, exact/continuum 1.58.
    "hidden_label_heavy_ball": (HIDDEN, "label", 0.15, 0.6, 2, False, 2000, 60, 20),
    # Nesterov: contraction 0.431, exact/continuum 1.51.
    "hidden_injected_nesterov": (HIDDEN, "injected", 0.4, 0.5, 8, True, 2000, 30, 10),
    # Near the edge: α at 80% of the mean-square edge 1.626 (the noise-free edge is
    # 2(1 + β)/g_max = 2.08): contraction 0.707, exact/continuum 3.28.
    "hidden_label_near_edge": (HIDDEN, "label", 1.3, 0.5, 32, False, 2000, 40, 10),
}
SNAPSHOTS = 6


@pytest.mark.parametrize("point", SIMULATED_POINTS.values(), ids=SIMULATED_POINTS.keys())
def test_exact_moments_match_simulated_momentum_sgd(point):
    hidden, kind, alpha, beta, batch, nesterov, replicas, burn_in, every = point
    steps = burn_in + SNAPSHOTS * every
    deviations, velocities = simulate_momentum(
        hidden, kind, alpha, beta, batch, nesterov, replicas, steps, every, seed=1
    )
    kept = slice(burn_in // every, None)
    deviation = deviations[kept].reshape(SNAPSHOTS, replicas, 4)
    velocity = velocities[kept].reshape(SNAPSHOTS, replicas, 4)
    gram = gram_of(hidden, 2)
    noise = theory.linear_model_noise_moments(gram, kind, NOISE, batch)
    state = momentum_theory.stationary_momentum_state(gram, alpha, beta, batch, noise, nesterov)
    moments = state.deviation.reshape(4, 4)
    checks = {
        (a, b): (deviation[..., a] * deviation[..., b], moments[a, b])
        for a in range(4)
        for b in range(a, 4)  # the 10 distinct E[D_a D_b]
    }
    checks["tr E[D ⊗ V]"] = ((deviation * velocity).sum(-1), np.einsum("ijij", state.cross))
    checks["tr E[V ⊗ V]"] = ((velocity**2).sum(-1), np.einsum("ijij", state.velocity))
    z = bonferroni_z(len(checks))
    for name, (values, expected) in checks.items():
        mean, error = replica_mean_and_error(values)
        assert abs(mean - expected) < z * error, name
    # The test has power: the continuum trace is ≥ 33% lower here (44–66 standard errors).
    continuum = momentum_theory.continuum_momentum_moments(gram, alpha, beta, batch, noise)
    assert np.einsum("ijij", continuum) < 0.67 * np.einsum("ijij", state.deviation)


def test_contraction_crosses_one_where_the_mean_square_runs_away():
    # Heavy ball, β = 0.5, |B| = 8, hidden layer, label noise: the mean-square edge is at
    # α = 0.980, far inside the noise-free edge 2(1 + β)/g_max = 2.08, so the instability is
    # the multiplicative noise's. At 0.7 of the edge (contraction 0.75; fourth-moment
    # contraction 0.83) the mean square settles at the exact value (4σ, Bonferroni over two
    # snapshots). At 1.2 of the edge (contraction 1.29: ×1e33 in 300 steps) it runs away,
    # carried by rare replicas: the median replica stays put, and the sample lags the
    # growth, but after 300 steps it exceeded the stable side's stationary value by
    # 2e4 to 6e8 times over 20 seeds (8e5 for this one); 100× is asserted.
    gram = gram_of(HIDDEN, 2)
    beta, batch, edge = 0.5, 8, 0.980
    noise = theory.label_noise_moments(gram, NOISE, batch)
    stable, unstable = 0.7 * edge, 1.2 * edge
    assert momentum_theory.momentum_mean_square_contraction(gram, stable, beta, batch) < 0.8
    assert momentum_theory.momentum_mean_square_contraction(gram, unstable, beta, batch) > 1.25
    expected = np.einsum(
        "ijij", momentum_theory.stationary_momentum_moments(gram, stable, beta, batch, noise)
    )
    with pytest.raises(ValueError, match="mean-square stable"):
        momentum_theory.stationary_momentum_moments(gram, unstable, beta, batch, noise)

    def mean_squares(alpha: float) -> np.ndarray:
        """``|D|²`` after 100, 200 and 300 steps, ``(3, replicas)``."""
        deviations, _ = simulate_momentum(
            HIDDEN, "label", alpha, beta, batch, False, 1000, 300, 100, seed=2
        )
        return (deviations**2).sum(axis=(-1, -2))

    z = bonferroni_z(2)
    for late in mean_squares(stable)[1:]:
        mean, error = replica_mean_and_error(late[None])
        assert abs(mean - expected) < z * error
    assert mean_squares(unstable)[-1].mean() > 100 * expected


# --- Input checks ---------------------------------------------------------------------


def test_invalid_inputs_raise_value_errors():
    gram = np.eye(2)
    noise = theory.injected_noise_moments(2, NOISE, 8)
    for momentum in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="momentum must be in"):
            momentum_theory.stationary_momentum_moments(gram, 0.1, momentum, 8, noise)
        with pytest.raises(ValueError, match="momentum must be in"):
            momentum_theory.continuum_momentum_moments(gram, 0.1, momentum, 8, noise)
    with pytest.raises(ValueError, match="noise_kind"):
        momentum_theory.linear_model_momentum_moments(gram, "dropout", NOISE, 0.1, 0.5, 8)
    with pytest.raises(ValueError, match="noise_moments must have shape"):
        momentum_theory.stationary_momentum_moments(gram, 0.1, 0.5, 8, noise[0])
    with pytest.raises(ValueError, match="symmetric"):
        momentum_theory.stationary_momentum_moments(
            np.array([[1.0, 0.5], [0.0, 1.0]]), 0.1, 0.5, 8, noise
        )
    # β = 0.9 at |B| = 4: the heavy ball's edge is α = 0.249 (with G = 1), Nesterov's 0.547.
    with pytest.raises(ValueError, match="mean-square stable"):
        momentum_theory.stationary_momentum_moments(gram, 0.3, 0.9, 4, noise)
    momentum_theory.stationary_momentum_moments(gram, 0.3, 0.9, 4, noise, nesterov=True)
