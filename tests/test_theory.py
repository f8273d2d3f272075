"""Specifications of the exact stationary theory of online SGD (`sgd_dyson.theory`).

The solver is checked against a dense solve of the same linear equation, the
closed forms of online regression, its continuum limit, and direct simulations of
`sgd_dyson.models.teacher_student.simulate`. Every statistical tolerance is 4 standard
errors (two-sided false-failure probability ~6e-5; Bonferroni-corrected when a
test makes several comparisons), the errors estimated from replica-level means
(replicas are independent; snapshots of one replica need not be).
"""

from dataclasses import asdict, replace

import numpy as np
import pytest
import yaml
from model_runs import simulated
from workflow_runs import TINY_CONFIG

from sgd_dyson import theory
from sgd_dyson.config import ConfigError, validate_config
from sgd_dyson.models.dyson import stationary_moments
from sgd_dyson.models.teacher_student import MODEL, TeacherStudentRun, hidden_matrix
from sgd_dyson.simulation import Snapshots
from sgd_dyson.spectra import cluster_targets, singular_values

from tolerances import bonferroni_z, replica_mean_and_error

ROOT_SEED = 20240723
HIDDEN = (1.5, 0.7)


def gram_of(hidden: tuple[float, ...] | None, size: int) -> np.ndarray:
    if hidden is None:
        return np.eye(size)
    layer = hidden_matrix(hidden, ROOT_SEED)
    return layer.T @ layer


def noise_moments(kind: str, gram: np.ndarray, noise: float, batch: int) -> np.ndarray:
    if kind == "injected":
        return theory.injected_noise_moments(len(gram), noise, batch)
    return theory.label_noise_moments(gram, noise, batch)


def reference_operator(gram: np.ndarray, alpha: float, batch: int, flat: np.ndarray) -> np.ndarray:
    """The stationarity operator written out independently of `theory` (the former test helper)."""
    size = len(gram)
    eye = np.eye(size)
    m = flat.reshape((size,) * 4)
    inner = m + (np.einsum("jl,abcb->ajcl", eye, m) + np.einsum("alcj->ajcl", m)) / batch
    result = np.einsum("ia,ajkl->ijkl", gram, m) + np.einsum("kc,ijcl->ijkl", gram, m)
    result -= alpha * np.einsum("ia,kc,ajcl->ijkl", gram, gram, inner)
    return result.ravel()


def dense_stationary_moments(
    gram: np.ndarray, alpha: float, batch: int, moments: np.ndarray
) -> np.ndarray:
    """Reference: build the N⁴ × N⁴ matrix column by column and solve it densely."""
    size = len(gram)
    matrix = np.stack(
        [reference_operator(gram, alpha, batch, unit) for unit in np.eye(size**4)], axis=1
    )
    return np.linalg.solve(matrix, alpha * moments.ravel()).reshape((size,) * 4)


# --- The solver -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["injected", "label"])
@pytest.mark.parametrize("hidden", [None, HIDDEN, (1.3, 0.9, 0.6)], ids=["z1", "n2", "n3"])
def test_matrix_free_solver_equals_the_dense_solver(hidden, kind):
    size = 2 if hidden is None else len(hidden)
    gram = gram_of(hidden, size)
    for alpha, batch in [(0.5, 4), (0.2, 8), (0.05, 1)]:
        moments = noise_moments(kind, gram, 0.1, batch)
        expected = dense_stationary_moments(gram, alpha, batch, moments)
        solved = theory.stationary_second_moments(gram, alpha, batch, moments)
        np.testing.assert_allclose(
            solved, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max()
        )


@pytest.mark.parametrize("kind", ["injected", "label"])
def test_solution_for_ten_dimensions_with_hidden_layer_solves_the_moment_equation(kind):
    # N = 10 has 10⁴ unknowns: too many for the dense reference, so check the residual of
    # the independently written operator and that M is a covariance (symmetric, PSD).
    gram = gram_of(tuple(np.linspace(0.7, 1.3, 10)), 10)
    alpha, batch = 0.2, 8
    moments = noise_moments(kind, gram, 0.1, batch)
    solved = theory.stationary_second_moments(gram, alpha, batch, moments)
    residual = reference_operator(gram, alpha, batch, solved.ravel()) - alpha * moments.ravel()
    assert np.abs(residual).max() < 1e-12 * alpha * np.abs(moments).max()
    covariance = solved.reshape(100, 100)
    np.testing.assert_allclose(covariance, covariance.T, atol=1e-15)
    assert np.linalg.eigvalsh(covariance)[0] > -1e-12 * np.abs(covariance).max()


@pytest.mark.parametrize(
    ("alpha", "batch", "size"), [(0.5, 4, 2), (0.1, 16, 3), (1.2, 8, 3), (0.5, 2, 1)]
)
def test_label_noise_without_hidden_layer_gives_the_online_regression_closed_form(
    alpha, batch, size
):
    # Online regression: each D_ij has variance αε²/(|B|(2 − α) − α(N + 1)), all entries
    # uncorrelated (Aarts, Lucini & Park 2025).
    eye = np.eye(size)
    solved = theory.stationary_second_moments(
        eye, alpha, batch, theory.label_noise_moments(eye, 0.1, batch)
    )
    variance = alpha * 0.1**2 / (batch * (2 - alpha) - alpha * (size + 1))
    assert theory.online_regression_variance(alpha, batch, 0.1, size) == pytest.approx(variance)
    expected = variance * np.einsum("ik,jl->ijkl", eye, eye)
    np.testing.assert_allclose(solved, expected, rtol=1e-12, atol=1e-12 * variance)


@pytest.mark.parametrize(("alpha", "batch", "size"), [(1.0, 3, 2), (0.5, 1, 2), (1.0, 2, 3)])
def test_solver_raises_where_online_regression_diverges(alpha, batch, size):
    # |B|(2 − α) ≤ α(N + 1): equality (the first two cases) is already not stationary.
    assert batch * (2 - alpha) <= alpha * (size + 1)
    eye = np.eye(size)
    with pytest.raises(ValueError, match="mean-square stable"):
        theory.stationary_second_moments(
            eye, alpha, batch, theory.label_noise_moments(eye, 0.1, batch)
        )
    with pytest.raises(ValueError, match="diverges"):
        theory.online_regression_variance(alpha, batch, 0.1, size)
    assert theory.mean_square_contraction(eye, alpha, batch) >= 1


def test_solver_raises_when_a_fast_hidden_mode_overshoots():
    # α g_max = 2.4 > 2: the fast mode oscillates with growing amplitude even without noise.
    gram = gram_of((2.0, 0.5), 2)
    with pytest.raises(ValueError, match="mean-square stable"):
        theory.stationary_second_moments(gram, 0.6, 64, theory.injected_noise_moments(2, 0.1, 64))


# --- Continuum limit ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["injected", "label"])
@pytest.mark.parametrize(("alpha", "batch"), [(0.5, 16), (0.5, 4), (0.1, 16), (0.02, 64)])
def test_exact_over_continuum_trace_is_the_discrete_time_and_multiplicative_noise_factor(
    kind, alpha, batch
):
    # G = 1: tr M_exact / tr M_continuum = [1 − α/2 − α(N + 1)/(2|B|)]⁻¹ exactly, for both noises
    # (injected: tr M = N(N + 1) c with the closed form of test_simulation; label:
    # N² × online_regression_variance). The (1 − α/2)⁻¹ is the discrete-time factor; the
    # α(N + 1)/(2|B|) is the multiplicative mini-batch noise, which the continuum equation drops
    # and which stays finite as α → 0 at fixed α/|B|. So exact > (1 − α/2)⁻¹ × continuum.
    size = 2
    eye = np.eye(size)
    moments = noise_moments(kind, eye, 0.1, batch)
    exact = np.einsum("ijij", theory.stationary_second_moments(eye, alpha, batch, moments))
    continuum = np.einsum("ijij", theory.continuum_second_moments(eye, alpha, batch, moments))
    expected = 1 / (1 - alpha / 2 - alpha * (size + 1) / (2 * batch))
    assert exact / continuum == pytest.approx(expected, rel=1e-12)
    assert exact / continuum > 1 / (1 - alpha / 2) > 1


@pytest.mark.parametrize("kind", ["injected", "label"])
def test_exact_tends_to_continuum_linearly_as_alpha_vanishes_with_hidden_layer(kind):
    # At fixed |B| (so α/|B| → 0 too) and fixed αε²/|B| the exact trace is the continuum one
    # times 1 + kα + O(α²): (ratio − 1)/α converges, its change per decade shrinking ~10×.
    hidden, batch = (1.4, 1.0, 0.6), 8
    gram = gram_of(hidden, len(hidden))
    slopes = []
    for alpha in (1e-2, 1e-3, 1e-4):
        noise = np.sqrt(batch / alpha)  # keeps αε²/|B| = 1: M of order one
        moments = noise_moments(kind, gram, noise, batch)
        exact = theory.stationary_second_moments(gram, alpha, batch, moments)
        continuum = theory.continuum_second_moments(gram, alpha, batch, moments)
        np.testing.assert_allclose(exact, continuum, atol=10 * alpha * np.abs(continuum).max())
        slopes.append((np.einsum("ijij", exact) / np.einsum("ijij", continuum) - 1) / alpha)
    assert 0 < slopes[-1] < 10
    assert abs(slopes[2] - slopes[1]) < 0.2 * abs(slopes[1] - slopes[0])


def test_continuum_moments_of_g_equal_one_are_the_goe_width():
    # (G⊗1 + 1⊗G) M = 2M = α E[AA]: the GOE of off-diagonal variance αε²/(2|B|).
    moments = theory.injected_noise_moments(3, 0.1, 8)
    continuum = theory.continuum_second_moments(np.eye(3), 0.2, 8, moments)
    np.testing.assert_allclose(continuum, 0.1 * moments, rtol=1e-14)


# --- Against simulation ---------------------------------------------------------------


def online_run(teacher, hidden, kind, alpha, batch, **changes) -> TeacherStudentRun:
    fields = dict(
        teacher=teacher,
        noise_kind=kind,
        dataset="online",
        dataset_draws=1,
        batches_per_epoch=50,
        steps=1000,
        replicas=2000,
        init_scale=0.1,
        snapshot_every=50,
        divergence_threshold=1e3,
        learning_rate=alpha,
        batch_size=batch,
        noise=0.1,
        root_seed=ROOT_SEED,
        point_seed=4242,
        hidden=hidden,
    )
    return TeacherStudentRun(**(fields | changes))


def model_moments(run: TeacherStudentRun, exact: bool = True) -> np.ndarray:
    """The model's stationary ``E[D_ij D_kl]`` at the point of ``run`` (`MODEL.stationary_law`)."""
    keys = ("teacher", "hidden", "noise_kind", "noise", "learning_rate", "batch_size", "root_seed")
    settings = {key: getattr(run, key) for key in keys}
    if run.optimizer is not None:
        settings["optimizer"] = run.optimizer
    _, moments = MODEL.stationary_law(settings, exact)
    return moments


PAIR = (2.0, 2.0)
SMALL_HIDDEN = (1.2, 0.8)
"""ZᵀZ eigenvalues 1.44 and 0.64: at α = 0.5, |B| = 4 stable (contraction 0.82 per step)."""


def pair_run(hidden, kind):
    """N = 2, α = 0.5, |B| = 4, 2000 replicas; burn-in 200 steps, snapshots every 50.

    Slowest rate α g_min = 0.32: the initial offset decays by 0.68^200 ~ 1e-34 and
    snapshots 50 steps apart correlate by ~1e-8.
    """
    return online_run(PAIR, hidden, kind, 0.5, 4)


@pytest.mark.parametrize("kind", ["injected", "label"])
@pytest.mark.parametrize("hidden", [None, SMALL_HIDDEN], ids=["z1", "hidden"])
def test_exact_moments_match_simulated_second_moments_at_large_step_and_small_batch(hidden, kind):
    run = pair_run(hidden, kind)
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    deviation = snapshots.weights[snapshots.steps >= 200] - np.diag(PAIR)
    moments = model_moments(run)
    flat = deviation.reshape(*deviation.shape[:2], 4)
    pairs = [(a, b) for a in range(4) for b in range(a, 4)]  # the 10 distinct E[D_a D_b]
    z = bonferroni_z(len(pairs))
    for a, b in pairs:
        mean, error = replica_mean_and_error(flat[..., a] * flat[..., b])
        assert abs(mean - moments.reshape(4, 4)[a, b]) < z * error, (a, b)
    # The multiplicative noise matters here: the continuum prediction is ≥ 25% lower.
    continuum = model_moments(run, exact=False)
    assert np.einsum("ijij", continuum) < 0.8 * np.einsum("ijij", moments)


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
def test_the_models_momentum_runs_have_the_momentum_theorys_second_moments(nesterov):
    # Momentum β = 0.8 at α = 0.1 (effective rate α/(1 − β) = 0.5, slowest mode 0.32 per step
    # of the velocity-averaged drift): 300 steps of burn-in, snapshots 50 steps apart.
    optimizer = {"name": "momentum", "momentum": 0.8, "nesterov": nesterov}
    run = online_run(PAIR, SMALL_HIDDEN, "label", 0.1, 4, optimizer=optimizer, steps=800)
    assert MODEL.has_theory({"optimizer": optimizer})
    snapshots = MODEL.simulate(asdict(run))
    assert snapshots.diverged_replicas == 0
    deviation = snapshots.weights[snapshots.steps >= 300] - np.diag(PAIR)
    flat = deviation.reshape(*deviation.shape[:2], 4)
    moments = model_moments(run).reshape(4, 4)
    pairs = [(a, b) for a in range(4) for b in range(a, 4)]
    z = bonferroni_z(len(pairs))
    for a, b in pairs:
        mean, error = replica_mean_and_error(flat[..., a] * flat[..., b])
        assert abs(mean - moments[a, b]) < z * error, (a, b, mean, moments[a, b], error)
    # Plain SGD's moments at the same α are far off: the test tells momentum from SGD.
    plain = model_moments(replace(run, optimizer=None)).reshape(4, 4)
    assert np.trace(moments) > 2 * np.trace(plain)


def assert_closure_mean_spacing_matches(
    run: TeacherStudentRun, snapshots: Snapshots, burn_in: int
) -> None:
    """⟨S⟩ of the pair in ``snapshots`` of ``run`` after ``burn_in`` equals the model's prediction.

    The prediction is `theory.predicted_levels` (the Gaussian closure of the model's exact
    second moments, 200 000 samples) reduced as the theory stage does; 4σ of the two errors
    combined (false-failure probability ~6e-5).
    """
    assert snapshots.diverged_replicas == 0
    levels = singular_values(snapshots.weights[snapshots.steps >= burn_in])
    mean, error = replica_mean_and_error(np.diff(levels, axis=-1)[..., 0])
    predicted = theory.predicted_levels(
        np.diag(PAIR), model_moments(run), 200_000, np.random.default_rng(7), "singular_values"
    )
    row = theory.predicted_cluster_statistics(predicted, list(PAIR), 1e-6, "singular_values")
    assert len(row) == 1
    prediction, prediction_error = row.loc[0, ["mean_spacing", "mean_spacing_err"]]
    assert abs(mean - prediction) < 4 * np.hypot(error, prediction_error), (mean, prediction)


@pytest.mark.parametrize("hidden", [None, SMALL_HIDDEN], ids=["z1", "hidden"])
def test_predicted_mean_spacing_matches_simulation_with_injected_noise(hidden):
    # The Gaussian closure of `predicted_levels` has the exact second moments; with injected
    # (Gaussian) noise its ⟨S⟩ agrees with the simulation within the ~0.3% error even at
    # α = 0.5, |B| = 4. (With label noise at |B| = 4, A = −ε Zᵀ Ĉ_ξx is a product of
    # Gaussians and the closure overestimates ⟨S⟩ by 1–2%: not asserted here.)
    run = pair_run(hidden, "injected")
    assert_closure_mean_spacing_matches(run, simulated(run), burn_in=200)


def test_predicted_mean_spacing_matches_simulation_with_heavy_ball_momentum():
    # The default study's most demanding momentum point: β = 0.9, α = 0.02, |B| = 4
    # (effective rate α/(1 − β) = 0.2). Underdamped: the mean decays by |λ| = √β per step,
    # so after 300 steps the initial offset 2 is down to 3e-7 (the pair's spread is ~0.02);
    # snapshots 50 steps apart correlate by 0.9^50 ~ 5e-3. 2000 replicas × 14 snapshots
    # give ⟨S⟩ to ~0.3%; 84 000 samples put the closure within 0.1–0.3% of the simulation
    # at the grid's six points.
    optimizer = {"name": "momentum", "momentum": 0.9, "nesterov": False}
    run = online_run(PAIR, None, "injected", 0.02, 4, optimizer=optimizer)
    # The optimiser's settings are a dict, which the cache of `simulated` cannot key.
    assert_closure_mean_spacing_matches(run, MODEL.simulate(asdict(run)), burn_in=300)


TEN_TEACHER = (1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 6.0)
TEN_HIDDEN = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25)


@pytest.mark.parametrize("hidden", [None, TEN_HIDDEN], ids=["no_hidden", "hidden"])
def test_ten_dimensional_moments_and_pair_spacings_match_simulation(hidden):
    # N = 10, four doubly degenerate teacher values and two singles, injected noise,
    # α = 0.2, |B| = 8, 300 replicas × 2000 steps. Slowest rate α g_min ≥ 0.128: burn-in
    # 300 steps (initial offset × 1e-18), snapshots every 100 steps (correlation ~1e-6).
    # Without a hidden layer every mode relaxes alike and "slowest"/"fastest" are two rows.
    # Checks tr M, the left-mode sums Σ_j E[D̃_ij²] of the slowest and fastest modes of
    # G (D̃ = VᵀD), and ⟨S⟩ of the four pairs (`predicted_levels`, Gaussian closure).
    run = online_run(TEN_TEACHER, hidden, "injected", 0.2, 8, steps=2000, replicas=300)
    snapshots = simulated(run)
    assert snapshots.diverged_replicas == 0
    kept = snapshots.weights[snapshots.steps >= 300]
    moments = model_moments(run)
    _, frame = np.linalg.eigh(gram_of(hidden, 10))
    rotated = frame.T @ (kept - np.diag(TEN_TEACHER))
    rotated_moments = np.einsum("ai,ck,ajcl->ijkl", frame, frame, moments)
    checks = {
        "trace": ((kept - np.diag(TEN_TEACHER)) ** 2, np.einsum("ijij", moments)),
        "slowest": (rotated[..., :1, :] ** 2, np.einsum("jj", rotated_moments[0, :, 0, :])),
        "fastest": (rotated[..., -1:, :] ** 2, np.einsum("jj", rotated_moments[-1, :, -1, :])),
    }
    predicted = theory.predicted_levels(
        np.diag(TEN_TEACHER), moments, 40_000, np.random.default_rng(11), "singular_values"
    )
    table = theory.predicted_cluster_statistics(
        predicted, list(TEN_TEACHER), 1e-6, "singular_values"
    )
    levels = singular_values(kept)
    pair_rows = table[table["levels"] == 2]
    assert len(pair_rows) == 4
    z = bonferroni_z(len(checks) + len(pair_rows))
    for name, (values, expected) in checks.items():
        mean, error = replica_mean_and_error(values.sum(axis=(-1, -2)))
        assert abs(mean - expected) < z * error, name
    for row in pair_rows.itertuples():
        first = 2 * row.cluster
        mean, error = replica_mean_and_error(levels[..., first + 1] - levels[..., first])
        bound = z * np.hypot(error, row.mean_spacing_err)
        assert abs(mean - row.mean_spacing) < bound, row.cluster


# --- Dyson null model and the cluster table -------------------------------------------


@pytest.mark.parametrize("observable", ["singular_values", "gram_eigenvalues"])
def test_dyson_stationary_moments_give_the_coulomb_gas_of_width_sqrt_t_in_every_cluster(observable):
    # GOE around H* = diag(target): a degenerate pair has ⟨S⟩ = √π √T and every cluster the
    # β = 1 Coulomb-gas width σ = √T, up to repulsion from other clusters, O(T/gap²) ~ 1e-4
    # relative here, far below the ~0.3% errors. For X = WᵀW = H² the levels are x = λ²,
    # spread by dx = 2λ dλ: ⟨S⟩ ≈ 2x*^{1/2} √π √T, σ ≈ 2x*^{1/2} √T (to O(√T/x*^{1/2})
    # ~ 2e-3 relative, so only checked for singular values).
    targets, temperature = [1.0, 1.0, 3.0, 5.0, 5.0, 5.0], 1e-4
    levels = theory.predicted_levels(
        np.diag(targets),
        stationary_moments(len(targets), temperature),
        40_000,
        np.random.default_rng(3),
        observable,
    )
    assert levels.shape == (40_000, 6)
    assert np.all(np.diff(levels, axis=1) >= 0)
    table = theory.predicted_cluster_statistics(levels, targets, 1e-6, observable)
    assert list(table.columns) == [
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
    expected_clusters = cluster_targets(targets, 1e-6, observable)
    np.testing.assert_array_equal(table["levels"], expected_clusters["levels"])
    np.testing.assert_allclose(table["target"], expected_clusters["target"])
    assert np.isnan(table.loc[1, "mean_spacing"])  # a single level has no spacing
    if observable == "gram_eigenvalues":
        np.testing.assert_allclose(table["target"], [1.0, 9.0, 25.0])
        np.testing.assert_allclose(table["center"], table["target"], rtol=1e-3)
        return
    z = bonferroni_z(4)
    pair = table.loc[0]
    assert abs(pair.mean_spacing - np.sqrt(np.pi * temperature)) < z * pair.mean_spacing_err
    for row in table.itertuples():
        assert abs(row.sigma - np.sqrt(temperature)) < z * row.sigma_err, row.cluster


def test_dyson_stationary_moments_are_the_goe_variances():
    moments = stationary_moments(3, 0.5)
    assert moments[0, 0, 0, 0] == pytest.approx(0.5)  # diagonal variance T
    assert moments[0, 1, 0, 1] == pytest.approx(0.25)  # off-diagonal T/2
    assert moments[0, 1, 1, 0] == pytest.approx(0.25)  # D symmetric
    assert moments[0, 0, 1, 1] == 0


# --- Input checks ---------------------------------------------------------------------


def test_invalid_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="noise_kind"):
        theory.linear_model_moments(np.eye(len(PAIR)), "dropout", 0.1, 0.1, 8)
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["experiments"]["paper"]["hidden"] = [1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match=r"experiments\.paper\.hidden has 3 values"):
        validate_config(config)
    with pytest.raises(ValueError, match="symmetric"):
        theory.stationary_second_moments(
            np.array([[1.0, 0.5], [0.0, 1.0]]), 0.1, 8, theory.injected_noise_moments(2, 0.1, 8)
        )
    with pytest.raises(ValueError, match="covariance"):
        theory.predicted_levels(
            np.eye(2),
            -stationary_moments(2, 1.0),
            10,
            np.random.default_rng(0),
            "singular_values",
        )
    with pytest.raises(ValueError, match="observable"):
        theory.predicted_levels(
            np.eye(2), stationary_moments(2, 1.0), 10, np.random.default_rng(0), "eigenvalues"
        )
