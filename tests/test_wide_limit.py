"""The wide limit: Marchenko–Pastur at initialisation, the semicircle at stationarity, and the
stages that compare a network's levels with them (`sgd_dyson.wide_limit`,
`stages.wide_limit`). The figures are drawn from the tiny study in test_workflow.py."""

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from sgd_dyson.config import ConfigError, validate_config
from sgd_dyson.distributions import semicircle_cdf, semicircle_density
from sgd_dyson.fits import coulomb_gas_fit
from sgd_dyson.models import MODELS
from sgd_dyson.sampling import goe_matrices
from sgd_dyson.stages import wide_limit as wide_stage
from sgd_dyson.tables import column_names
from sgd_dyson.wide_limit import (
    initial_statistics,
    ks_distance,
    semicircle_radius,
    stationary_statistics,
)

from tolerances import bonferroni_z

NETWORK = MODELS["network"]
WIDE = {
    "model": "network",
    "layers": [6, 6],
    "activation": ["tanh"],
    "teacher": 1.0,
    "noise_kind": "label",
    "dataset": "online",
    "observable": "gram_eigenvalues",
    "wide_limit": "toy",
    "linearised_theory": False,
    "steps": 1,
    "replicas": 30,
    "dataset_draws": 3,
    "snapshot_every": 1,
    "sweep": [{"learning_rate": [1.0e-300], "batch_size": [4], "noise": [0.1]}],
}


def validated(experiment: dict) -> dict:
    config = {"experiments": {"wide": copy.deepcopy(experiment)}}
    return validate_config(config)["experiments"]["wide"]


def gaussian_levels(rng, samples: int, rows: int, cols: int, scale: float) -> np.ndarray:
    """The non-zero levels of X = W Wᵀ, W rows × cols with entries N(0, scale/cols)."""
    weights = rng.standard_normal((samples, rows, cols)) * np.sqrt(scale / cols)
    return np.linalg.svd(weights, compute_uv=False) ** 2


def test_the_semicircle_cdf_integrates_its_density():
    for x in [-1.7, -0.9, 0.0, 0.45, 1.2, 2.5]:
        edges = [edge for edge in (-1.2, 1.8) if edge < x]  # the kinks of the density
        integral, _ = integrate.quad(
            semicircle_density, -5.0, x, args=(0.3, 1.5), points=edges or None, limit=200
        )
        assert semicircle_cdf(x, 0.3, 1.5) == pytest.approx(integral, abs=1e-9)


def test_the_ks_distance_is_the_largest_gap_of_the_empirical_cdf():
    uniform = lambda x: np.clip(x, 0.0, 1.0)  # noqa: E731
    assert ks_distance(np.array([0.5]), uniform) == pytest.approx(0.5)
    assert ks_distance(np.array([0.1, 0.2]), uniform) == pytest.approx(0.8)
    assert np.isnan(ks_distance(np.array([]), uniform))


def test_initial_moments_are_the_exact_wishart_moments_at_every_shape():
    rng = np.random.default_rng(11)
    shapes = [(4, 4), (4, 8), (8, 4), (3, 7)]
    bound = bonferroni_z(2 * len(shapes))  # two moments per shape, 4σ overall
    for rows, cols in shapes:
        statistics = initial_statistics(
            gaussian_levels(rng, 4000, rows, cols, 2.25), rows, cols, 2.25
        )
        for moment in ("initial_mean", "initial_second_moment"):
            z = (statistics[moment] - statistics[f"{moment}_exact"]) / statistics[f"{moment}_err"]
            assert abs(z) < bound, (rows, cols, moment, z)


def test_the_initial_levels_approach_marchenko_pastur_as_the_width_grows():
    # The finite-size deviation falls like 1/n (the soft edges): measured 0.04, 0.014, 0.005
    # at n = 4, 16, 64 for every shape; the pooled sampling noise of these rigid levels is
    # below 0.003. An i.i.d. Gaussian of the same mean and variance sits 0.06 away.
    rng = np.random.default_rng(5)
    for rows, cols in [(1, 1), (1, 2), (2, 1)]:
        distances = [
            initial_statistics(
                gaussian_levels(rng, 16000 // n, rows * n, cols * n, 1.0), rows * n, cols * n, 1.0
            )["initial_ks"]
            for n in (4, 16, 64)
        ]
        assert distances[0] > distances[1] > distances[2], distances
        assert distances[2] < 0.01, distances


def test_a_goe_cluster_matches_its_predicted_semicircle_and_gaussian_levels_do_not():
    # GOE clusters of n = 64 levels are the Coulomb gas at β = 1 exactly: their distance to
    # the semicircle is its finite-size edge correction (0.003 measured). Independent
    # Gaussian levels of the same spread stay at the fixed distance 0.043 between the two laws.
    rng = np.random.default_rng(2)
    levels = np.linalg.eigvalsh(goe_matrices(rng, (250,), 64, 0.3)) + 5.0
    fit = coulomb_gas_fit(levels)
    assert fit.sigma == pytest.approx(0.3 * np.sqrt(2), rel=0.01)  # σ² = 2 × off-diagonal variance
    goe = stationary_statistics(levels, fit.center, fit.sigma)
    assert goe["radius"] == pytest.approx(semicircle_radius(fit.sigma, 64))
    assert goe["semicircle_ks"] < 0.01
    gaussian = np.sort(rng.standard_normal(levels.shape) * levels.std() + 5.0, axis=1)
    fit = coulomb_gas_fit(gaussian)
    assert stationary_statistics(gaussian, fit.center, fit.sigma)["semicircle_ks"] > 0.03


def test_the_semicircle_radius_has_the_coulomb_gas_second_moment_and_its_large_n_limit():
    assert semicircle_radius(0.5, 1) == pytest.approx(1.0)  # one level: a Gaussian's 2σ
    assert semicircle_radius(0.5, 3, beta=2.0) == pytest.approx(2 * 0.5 * np.sqrt(3.0))
    assert semicircle_radius(1.0, 10**6) / np.sqrt(2 * 10**6) == pytest.approx(1.0, rel=1e-5)


def test_the_initial_spectrum_is_the_weights_training_starts_from():
    # One step at α = 1e-300 moves no weight: the snapshot at step 1 is the start.
    experiment = validated(WIDE)
    point = {**NETWORK.points("experiments.wide", experiment)[0], "root_seed": 7, "point_seed": 3}
    settings = wide_stage.initial_settings(experiment, point)
    initial = pd.DataFrame(wide_stage.initial_spectrum_columns(settings, point))
    trained = NETWORK.simulate(settings["run"]).by_layer()[0]
    start = np.linalg.svd(trained.weights[0], compute_uv=False) ** 2
    levels = initial.pivot(index="replica", columns="level", values="gram_eigenvalue")
    # Rounding only: the spectrum stage and numpy's SVD take different routes to small levels.
    np.testing.assert_allclose(levels.to_numpy(), np.sort(start, axis=1), rtol=1e-12, atol=1e-12)
    assert (initial["step"] == 0).all() and (initial["cluster"] == 0).all()
    assert list(initial.groupby("replica")["draw"].first()) == [0] * 10 + [1] * 10 + [2] * 10


def test_the_wide_limit_table_compares_every_ok_cluster_and_leaves_the_others_blank():
    rng = np.random.default_rng(4)
    n, replicas, snapshots = 5, 40, 6
    initial = gaussian_levels(rng, replicas, n, n, 1.0)
    stationary = np.linalg.eigvalsh(goe_matrices(rng, (replicas * snapshots,), n, 0.01)) + 1.0

    def spectrum(levels: np.ndarray, steps: np.ndarray) -> pd.DataFrame:
        samples = len(levels)
        return pd.DataFrame(
            {
                "replica": np.repeat(np.arange(samples) % replicas, n),
                "step": np.repeat(steps, n),
                "layer": 0,
                "level": np.tile(np.arange(n), samples),
                "cluster": 0,
                "gram_eigenvalue": levels.ravel(),
            }
        )

    fit = coulomb_gas_fit(stationary)
    scaling = pd.DataFrame(
        {
            "experiment": "wide",
            "point": ["a", "b"],
            "learning_rate": 0.1,
            "batch_size": 16,
            "init_width": 1.0,
            "ratio": 0.1 / 16,
            "layer": 0,
            "cluster": 0,
            "levels": n,
            "center": fit.center,
            "sigma": fit.sigma,
            "burn_in": 100,
            "spacing_ratio": 0.52,
            "spacing_ratio_err": 0.01,
            "spacing_ratio_goe": 0.53,
            "status": ["ok", "non_stationary"],
        }
    )
    steps = np.repeat(100 + 10 * np.arange(snapshots), replicas)
    early = spectrum(stationary + 10.0, steps - 100)  # before the burn-in: must be left out
    spectra = {key: pd.concat([early, spectrum(stationary, steps)]) for key in "ab"}
    table = wide_stage.table(
        scaling,
        {key: spectrum(initial, np.zeros(replicas, dtype=int)) for key in "ab"},
        spectra,
        {"shapes": [{"layer": 0, "rows": n, "cols": n}]},
    )
    assert list(table.columns) == column_names("wide_limit")
    ok, blank = table.iloc[0], table.iloc[1]
    expected = stationary_statistics(stationary, fit.center, fit.sigma)
    assert ok["semicircle_ks"] == pytest.approx(expected["semicircle_ks"])
    assert ok["stationary_samples"] == replicas * snapshots
    assert blank["stationary_samples"] == 0 and np.isnan(blank["semicircle_ks"])
    assert (
        ok["initial_ks"]
        == blank["initial_ks"]
        == pytest.approx(initial_statistics(initial, n, n, 1.0)["initial_ks"])
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"observable": "singular_values"}, "needs observable = gram_eigenvalues"),
        ({"teacher": None}, "needs a teacher"),
        ({"noise_kind": "none", "sweep": [{"learning_rate": [0.1], "batch_size": [4]}]}, "noise"),
        (
            {"layers": [40, 40], "linearised_theory": True},
            "wide has 1600 learnable entries, more than the linearised theory takes (1024); "
            "set experiments.wide.linearised_theory = false",
        ),
    ],
)
def test_a_wide_limit_experiment_it_cannot_analyse_is_an_error_naming_the_key(change, message):
    with pytest.raises(ConfigError, match="experiments.wide") as error:
        validated({**WIDE, **change})
    assert message in str(error.value)


def test_one_teacher_number_is_every_singular_value_of_every_learnable_matrix():
    experiment = validated({**WIDE, "layers": [3, 4, 2], "learnable": [0, 1], "activation": "tanh"})
    assert NETWORK.layer_targets(experiment) == [(0, [1.0] * 3), (1, [1.0] * 2)]
