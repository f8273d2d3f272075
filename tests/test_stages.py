"""The pipeline's stages on the Dyson null model, whose answer is known exactly.

The stationary law of the matrix Ornstein–Uhlenbeck process is the GOE
Coulomb gas at temperature T: each degenerate cluster has width σ² = T, a pair
has ⟨S⟩ = √π √T and β = 1, and a triplet's spacing ratio is that of 3×3 GOE
matrices. Centres sit at the targets up to the second-order repulsion of the
other clusters, (T/2) Σ_b 1/(x* − x*_b). Tolerances are 4 jackknife standard
errors (4σ: false-failure probability ~6e-5 each).
"""

import numpy as np
import pandas as pd
import pytest

from sgd_dyson.models.dyson import DysonRun, simulate
from sgd_dyson.spectra import singular_values
from sgd_dyson.stages import fit as fit_stage
from sgd_dyson.stages import simulate as simulate_stage
from sgd_dyson.stages import spectrum as spectrum_stage
from sgd_dyson.stages.scaling import ALL_PAIRS, scaling_fits, scaling_table

TARGET = (1.0, 1.0, 2.0, 2.0, 2.0, 3.5)
TEMPERATURE = 1.0e-4
BURN_IN = 12  # e^-12 of the initial offset is left


def repulsion_shift(target: float) -> float:
    others = np.array([t for t in TARGET if t != target])
    return TEMPERATURE / 2 * np.sum(1 / (target - others))


@pytest.fixture(scope="module")
def dyson_snapshots() -> tuple[pd.DataFrame, np.ndarray]:
    """The scalar columns and matrices of a Dyson-model simulate table."""
    run = DysonRun(
        target=TARGET,
        temperature=TEMPERATURE,
        time_step=1.0,
        steps=42,
        replicas=2000,
        init_scale=0.1,
        snapshot_every=3,
        root_seed=20240723,
        point_seed=1,
    )
    snapshots = simulate(run)
    columns = simulate_stage.columns(snapshots, POINT)
    scalars = pd.DataFrame({k: v for k, v in columns.items() if k != "weights"})
    return scalars, snapshots.weights.swapaxes(0, 1).reshape(-1, 6, 6)


POINT = {"point": "T~0.0001", "temperature": TEMPERATURE}


@pytest.fixture(scope="module")
def fitted(dyson_snapshots) -> tuple[pd.DataFrame, pd.DataFrame]:
    spectrum = pd.DataFrame(spectrum_stage.columns(*dyson_snapshots, TARGET, 1e-6))
    settings = {
        "layers": [{"layer": 0, "targets": list(TARGET)}],
        "cluster_tolerance": 1e-6,
        "observable": "singular_values",
        "burn_in": BURN_IN,
        "shared_dataset": False,
        "error_groups": 50,
        "surmise_bins": 20,
        "reference_samples": 20000,
    }
    return fit_stage.tables(spectrum, POINT, settings, {"replicas": 2000, "diverged_replicas": 0})


def test_clusters_found_in_the_gaps_of_the_data_are_the_targets_clusters(dyson_snapshots):
    given = spectrum_stage.columns(*dyson_snapshots, TARGET, 1e-6)
    found = spectrum_stage.columns(*dyson_snapshots, "auto", 1e-6, burn_in=BURN_IN, separation=3.0)
    np.testing.assert_array_equal(found["cluster"], given["cluster"])
    # The found target is the cluster's mean level: the target up to the repulsion
    # shift (≤ 2e-4 here) and the statistical error of a mean over 2000 × 10 snapshots.
    np.testing.assert_allclose(
        found["target_singular_value"], given["target_singular_value"], atol=5e-4
    )
    # Below the repulsion between degenerate levels every level is its own cluster.
    split = spectrum_stage.columns(*dyson_snapshots, "auto", 1e-6, burn_in=BURN_IN, separation=0.1)
    assert np.unique(split["cluster"]).size == len(TARGET)


def within(value, expected, error, sigmas=4.0) -> bool:
    return abs(value - expected) < sigmas * error


def test_every_cluster_has_width_sqrt_t(fitted):
    fit, _ = fitted
    for row in fit.itertuples():
        assert within(row.sigma, np.sqrt(TEMPERATURE), row.sigma_err), row


def test_centres_sit_at_the_targets_shifted_by_the_other_clusters_repulsion(fitted):
    fit, _ = fitted
    for row in fit.itertuples():
        assert within(row.center, row.target + repulsion_shift(row.target), row.center_err), row


def test_the_pair_has_mean_spacing_sqrt_pi_sqrt_t_and_beta_one(fitted):
    pair = fitted[0].set_index("levels").loc[2]
    assert within(pair["mean_spacing"], np.sqrt(np.pi * TEMPERATURE), pair["mean_spacing_err"])
    assert within(pair["beta"], 1.0, pair["beta_err"])
    assert pair["surmise_pvalue"] > 2 * 3.2e-5  # a 4σ two-sided tail


def test_the_joint_coulomb_gas_fit_gives_beta_one_for_every_cluster_of_two_or_more(fitted):
    fit, _ = fitted
    for row in fit[fit["levels"] >= 2].itertuples():
        assert within(row.coulomb_beta, 1.0, row.coulomb_beta_err), row


def test_the_triplet_spacing_ratio_matches_same_size_goe_samples(fitted):
    triplet = fitted[0].set_index("levels").loc[3]
    # The reference's own error: the r of 3×3 GOE has a standard deviation below 0.3.
    reference_error = 0.3 / np.sqrt(20000)
    error = np.hypot(triplet["spacing_ratio_err"], reference_error)
    assert within(triplet["spacing_ratio"], triplet["spacing_ratio_goe"], error)
    assert abs(triplet["spacing_ratio_goe"] - 0.5359) < 0.02  # near the 3×3 surmise value


def test_density_comparison_prefers_the_coulomb_gas(fitted):
    fit, densities = fitted
    by_levels = fit.set_index("levels")
    assert by_levels.loc[1, "best_density"] == "gaussian"
    assert by_levels.loc[3, "best_density"] == "equal_width"
    # Equal widths are the truth for the pair: the likelihood-ratio test's p-value is
    # uniform, so it exceeds a 4σ tail with probability 1 − 6e-5. (The lowest AIC is
    # no such test: it picks the nested two-component model 8% of the time.)
    assert by_levels.loc[2, "two_component_pvalue"] > 2 * 3.2e-5
    assert set(densities["density"]) == {"gaussian", "equal_width", "two_component", "semicircle"}
    assert (densities.groupby("cluster")["delta_aic"].min() == 0).all()


def test_scaling_fit_has_slope_sqrt_pi_and_a_line_through_all_pairs():
    rows = []
    for cluster, temperature in [(0, 1e-4), (0, 4e-4), (2, 1e-4), (2, 4e-4)]:
        rows.append(
            {
                "experiment": "toy",
                "point": f"T~{temperature!r}",
                "temperature": temperature,
                "ratio": temperature,
                "cluster": cluster,
                "levels": 2,
                "target": 1.0 + cluster,
                "status": "ok",
                "mean_spacing": np.sqrt(np.pi * temperature),
                "mean_spacing_err": 1e-4,
                "sigma": np.sqrt(temperature),
                "sigma_err": 1e-4,
                "noise": np.nan,
            }
        )
    fits = pd.DataFrame(rows)
    sweep = fits.drop_duplicates("point")[["point", "ratio"]].assign(experiment="toy", scans=None)
    scaling = scaling_table(
        sweep, fits.drop(columns=["experiment", "ratio"]), "one", "singular_values", "coulomb_gas"
    )
    lines = scaling_fits(scaling).set_index(["quantity", "cluster"])
    assert set(lines.index.get_level_values("cluster")) == {0, 2, ALL_PAIRS}
    np.testing.assert_allclose(lines["slope"], np.sqrt(np.pi))
    np.testing.assert_allclose(lines["continuum_slope"], np.sqrt(np.pi))
    assert lines.loc[("mean_spacing", ALL_PAIRS), "n_points"] == 4


@pytest.mark.parametrize(
    ("replicas", "diverged", "status"),
    [(10, 0, "ok"), (10, 3, "diverged"), (10, 10, "all_diverged")],
)
def test_point_status_names_divergence(replicas, diverged, status):
    assert fit_stage.point_status(replicas, diverged) == status


@pytest.mark.parametrize(
    ("diverged", "stationarity", "status"),
    [(0, "passed", "ok"), (0, "untested", "ok"), (0, "failed", "non_stationary")]
    + [(3, "failed", "diverged"), (10, "failed", "all_diverged")],
)
def test_point_status_marks_a_failed_stationarity_check_unless_replicas_diverged(
    diverged, stationarity, status
):
    assert fit_stage.point_status(10, diverged, stationarity) == status


def fit_settings(burn_in) -> dict:
    return {
        "layers": [{"layer": 0, "targets": list(TARGET)}],
        "cluster_tolerance": 1e-6,
        "observable": "singular_values",
        "burn_in": burn_in,
        "shared_dataset": False,
        "error_groups": 50,
        "surmise_bins": 20,
        "reference_samples": 20000,
    }


@pytest.fixture(scope="module")
def every_snapshot(dyson_snapshots) -> pd.DataFrame:
    """The spectrum table of every snapshot of the Dyson run, from step 3 (e^-3 of the offset of
    the initial weights, N(0, 0.1²), from the targets is left)."""
    return pd.DataFrame(spectrum_stage.columns(*dyson_snapshots, TARGET, 1e-6))


def test_burn_in_auto_cuts_the_relaxation_and_fits_as_the_chosen_step(every_snapshot):
    # The levels relax as e^(−t) from ~0.1 to targets up to 3.5. A snapshot's bias is
    # detected above ~5 × 0.01 √(8/7) / √2000 ≈ 1.2e-3 (σ = √T = 0.01, critical z ≈ 5):
    # always at t = 6 (3.4 e^-6 ≈ 8e-3), never at t = 12 (2e-5): the cut is at 9 or 12.
    run = {"replicas": 2000, "diverged_replicas": 0}
    fits, densities = fit_stage.tables(every_snapshot, POINT, fit_settings("auto"), run)
    chosen = fits["burn_in"].iloc[0]
    assert chosen in (9, 12) and (fits["burn_in"] == chosen).all()
    assert (fits["status"] == "ok").all() and (fits["stationarity"] == "passed").all()
    explicit, explicit_densities = fit_stage.tables(
        every_snapshot, POINT, fit_settings(int(chosen)), run
    )
    pd.testing.assert_frame_equal(fits, explicit)
    pd.testing.assert_frame_equal(densities, explicit_densities)


def test_the_initial_relaxation_fails_the_stationarity_check(every_snapshot):
    run = {"replicas": 2000, "diverged_replicas": 0}
    fits, _ = fit_stage.tables(every_snapshot, POINT, fit_settings(0), run)
    assert (fits["burn_in"] == 0).all()
    assert (fits["status"] == "non_stationary").all()
    assert (fits["stationarity"] == "failed").all()
    assert (fits["stationarity_z"] > fits["stationarity_threshold"]).all()


def test_a_burn_in_beyond_every_snapshot_names_the_point_and_its_steps(every_snapshot):
    run = {"replicas": 2000, "diverged_replicas": 0}
    with pytest.raises(ValueError, match=r"burn_in = 50 is beyond every snapshot of point T~"):
        fit_stage.tables(every_snapshot, POINT, fit_settings(50), run)
    with pytest.raises(ValueError, match=r"steps \[3, 6, 9, .*, 42\]"):
        fit_stage.tables(every_snapshot, POINT, fit_settings(50), run)


def test_the_spectrum_stage_chooses_the_fit_stages_burn_in_for_its_clusters(
    dyson_snapshots, every_snapshot
):
    snapshots, weights = dyson_snapshots
    chosen = spectrum_stage.auto_burn_in(snapshots, singular_values(weights), False)
    assert chosen == fit_stage.chosen_burn_in(every_snapshot, fit_settings("auto"), POINT)
    found = spectrum_stage.columns(snapshots, weights, "auto", 1e-6, "auto", separation=3.0)
    explicit = spectrum_stage.columns(snapshots, weights, "auto", 1e-6, chosen, separation=3.0)
    for column in ("target_singular_value", "cluster"):
        np.testing.assert_array_equal(found[column], explicit[column])


def test_levels_beyond_what_the_fits_can_square_are_an_error_naming_the_replica():
    weights = np.stack([np.diag([2.0, 2.0]), np.diag([2.0e200, 2.0e200])])
    snapshots = pd.DataFrame(
        {
            "replica": [0, 7],
            "draw": 0,
            "step": 10,
            "learning_rate": 0.1,
            "batch_size": 8,
            "noise": 0.1,
            "temperature": np.nan,
            "init_width": np.nan,
        }
    )
    with pytest.raises(
        ValueError, match=r"singular value of 2e\+200 \(replica 7\) exceeds 1e\+150"
    ):
        spectrum_stage.columns(snapshots, weights, [2.0, 2.0], 1e-6)
    edge = weights.copy()
    edge[1] = np.diag([spectrum_stage.LARGEST_LEVEL] * 2)
    assert len(spectrum_stage.columns(snapshots, edge, [2.0, 2.0], 1e-6)["singular_value"]) == 4
