"""Which scaling rule holds: the power law ⟨S⟩ = c α^p |B|^(−q) fitted per cluster.

`stages.scaling.scaling_exponents` fits log ⟨S⟩ by weighted least squares; on
points drawn as c α^p |B|^(−q) with Gaussian errors of known size it must
return p and q within their errors and a χ² of its degrees of freedom.
Tolerances are 4σ (false-failure probability ~6e-5), split by Bonferroni over
the comparisons of a test (`tolerances.bonferroni_z`).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sgd_dyson.stages.scaling import scaling_exponents
from sgd_dyson.statistics import weighted_least_squares
from sgd_dyson.tables import SCALING_RULES, column_names, read_table, write_table

from tolerances import FOUR_SIGMA_TAIL, bonferroni_z

LEARNING_RATES = [0.05, 0.1, 0.2, 0.4]
BATCH_SIZES = [4, 8, 16, 32, 64]
PREFACTOR = 1.8
RELATIVE_ERROR = 0.02
"""δ⟨S⟩/⟨S⟩ of the synthetic points, the size of a jackknife error of 1000 replicas."""
ADAM_LIKE = (0.49, 0.32)
"""(p, q) between the two rules (`tables.SCALING_RULES`), as Adam measured on the 2×2 model."""
PARAMETERS = 3
"""c, p and q."""


def power_law(rates, batches, exponents: tuple[float, float], noise: float = 0.1) -> np.ndarray:
    """``c ε α^p |B|^(−q)``: exact ⟨S⟩ (linear in the noise scale ε, as for SGD)."""
    p, q = exponents
    return PREFACTOR * noise * np.asarray(rates) ** p * np.asarray(batches, dtype=float) ** (-q)


def grid_points(
    exponents: tuple[float, float],
    rng: np.random.Generator | None = None,
    cluster: int = 0,
    noise: float = 0.1,
) -> pd.DataFrame:
    """Scaling rows of an ok pair on the α × |B| grid: the power law, plus Gaussian noise.

    Each point's error is `RELATIVE_ERROR` of its exact ⟨S⟩; without ``rng`` the
    points are exact.
    """
    rates, batches = (grid.ravel() for grid in np.meshgrid(LEARNING_RATES, BATCH_SIZES))
    exact = power_law(rates, batches, exponents, noise)
    error = RELATIVE_ERROR * exact
    noise_draw = rng.standard_normal(exact.size) if rng is not None else 0.0
    return pd.DataFrame(
        {
            "experiment": "synthetic",
            "learning_rate": rates,
            "batch_size": batches,
            "noise": noise,
            "init_width": np.nan,
            "cluster": cluster,
            "levels": 2,
            "status": "ok",
            "mean_spacing": exact + error * noise_draw,
            "mean_spacing_err": error,
        }
    )


def test_noisy_power_law_points_give_back_p_and_q_within_their_errors():
    points = grid_points(ADAM_LIKE, np.random.default_rng(20240723))
    fit = scaling_exponents(points).iloc[0]
    z = bonferroni_z(2)  # p and q
    assert abs(fit["lr_exponent"] - ADAM_LIKE[0]) < z * fit["lr_exponent_err"]
    assert abs(fit["batch_exponent"] - ADAM_LIKE[1]) < z * fit["batch_exponent_err"]
    # 2%/(√20 · sd of ln |B|) ≈ 0.0046 times √(χ²/dof) if > 1 (≤ 1.6 within 4σ): q = ¼
    # and q = ½ lie some fifty errors apart
    assert fit["batch_exponent_err"] < 0.01
    # χ² of n − 3 degrees of freedom: inside its two-sided 4σ-equivalent interval
    dof = len(points) - PARAMETERS
    chi2 = fit["chi2_dof"] * dof
    assert (
        stats.chi2.ppf(FOUR_SIGMA_TAIL / 2, dof) < chi2 < stats.chi2.isf(FOUR_SIGMA_TAIL / 2, dof)
    )
    assert fit["n_points"] == len(points)


def test_exponent_pulls_are_standard_normal_and_chi2_per_dof_averages_one():
    # Many noise realisations, each its own cluster, fitted in one call.
    realisations = 400
    rng = np.random.default_rng(7)
    points = pd.concat(
        [grid_points(ADAM_LIKE, rng, cluster=index) for index in range(realisations)],
        ignore_index=True,
    )
    fits = scaling_exponents(points)
    assert len(fits) == realisations
    # The PDG scale factor undone: what is left is the covariance error of the estimate.
    unscaled = np.sqrt(np.maximum(1.0, fits["chi2_dof"]))
    pulls = {
        "p": (fits["lr_exponent"] - ADAM_LIKE[0]) / (fits["lr_exponent_err"] / unscaled),
        "q": (fits["batch_exponent"] - ADAM_LIKE[1]) / (fits["batch_exponent_err"] / unscaled),
    }
    z = bonferroni_z(5)  # two means, two variances, the mean χ²/dof
    for name, pull in pulls.items():
        assert abs(pull.mean()) < z / np.sqrt(realisations), name
        assert abs(np.mean(pull**2) - 1) < z * np.sqrt(2 / realisations), name
    dof = len(LEARNING_RATES) * len(BATCH_SIZES) - PARAMETERS
    assert abs(fits["chi2_dof"].mean() - 1) < z * np.sqrt(2 / dof / realisations)


@pytest.mark.parametrize("rule", SCALING_RULES)
def test_exact_power_laws_give_exact_exponents(rule):
    fit = scaling_exponents(grid_points(SCALING_RULES[rule])).iloc[0]
    assert fit["lr_exponent"] == pytest.approx(SCALING_RULES[rule][0], abs=1e-12)
    assert fit["batch_exponent"] == pytest.approx(SCALING_RULES[rule][1], abs=1e-12)
    assert fit["chi2_dof"] == pytest.approx(0.0, abs=1e-20)
    # χ²/dof < 1: no scale factor; the errors are those of the covariance alone
    assert 0 < fit["lr_exponent_err"] < 0.02 and 0 < fit["batch_exponent_err"] < 0.02


def test_a_sweep_of_the_learning_rate_alone_gives_the_empty_table(tmp_path):
    points = grid_points(SCALING_RULES["linear"])
    alpha_scan = points[points["batch_size"] == 16]
    batch_scan = points[points["learning_rate"] == 0.1]
    for sweep in (alpha_scan, batch_scan, points.iloc[0:0]):
        fits = scaling_exponents(sweep)
        assert fits.empty and list(fits.columns) == column_names("scaling_exponents")
    path = tmp_path / "scaling_exponents.parquet"
    write_table(scaling_exponents(alpha_scan), path, "scaling_exponents")
    assert read_table(path, "scaling_exponents").empty


def test_two_rates_and_two_batch_sizes_need_a_fourth_point():
    points = grid_points(SCALING_RULES["linear"])
    corners = points[points["learning_rate"].isin([0.1, 0.2]) & points["batch_size"].isin([8, 16])]
    assert scaling_exponents(corners)["n_points"].tolist() == [4]
    assert scaling_exponents(corners.iloc[:3]).empty  # as many points as c, p and q


def test_only_ok_points_of_clusters_of_two_or_more_levels_enter():
    linear = grid_points(SCALING_RULES["linear"])
    outliers = linear.iloc[:4].assign(
        status=["diverged", "all_diverged", "non_stationary", "ok"],
        levels=[2, 2, 2, 1],
        mean_spacing=[10.0, np.nan, 0.001, 5.0],
    )
    fits = scaling_exponents(pd.concat([linear, outliers], ignore_index=True))
    assert fits["n_points"].tolist() == [len(linear)]
    assert fits.loc[0, "batch_exponent"] == pytest.approx(0.5, abs=1e-12)


def test_a_noise_scan_beside_the_grid_is_left_out_of_the_grids_fit():
    grid = grid_points(SCALING_RULES["linear"], noise=0.1)
    # the ε scan at (α, |B|) = (0.1, 16): ⟨S⟩ grows as ε, which would bend q if it were mixed in
    noise_scan = pd.concat(
        [
            grid_points(SCALING_RULES["linear"], noise=noise).query(
                "learning_rate == 0.1 and batch_size == 16"
            )
            for noise in (0.05, 0.06, 0.07, 0.08, 0.09)
        ]
    )
    fits = scaling_exponents(pd.concat([grid, noise_scan], ignore_index=True))
    assert len(fits) == 1
    fit = fits.iloc[0]
    assert fit["noise"] == 0.1 and np.isnan(fit["init_width"]) and fit["n_points"] == len(grid)
    assert fit["batch_exponent"] == pytest.approx(0.5, abs=1e-12)


def test_grids_at_two_noise_levels_or_initial_widths_are_fitted_apart():
    linear, square_root = SCALING_RULES["linear"], SCALING_RULES["square-root"]
    grids = pd.concat(
        [grid_points(linear, noise=0.1), grid_points(square_root, noise=0.2)], ignore_index=True
    )
    fits = scaling_exponents(grids).set_index("noise")
    assert fits.loc[0.1, "batch_exponent"] == pytest.approx(0.5, abs=1e-12)
    assert fits.loc[0.2, "batch_exponent"] == pytest.approx(0.25, abs=1e-12)
    widths = grids.assign(noise=np.nan, init_width=np.repeat([0.5, 2.0], len(grids) // 2))
    fits = scaling_exponents(widths).set_index("init_width")
    assert fits["noise"].isna().all()
    assert fits.loc[2.0, "batch_exponent"] == pytest.approx(0.25, abs=1e-12)


def test_weighted_least_squares_of_a_straight_line_has_the_textbook_covariance():
    x = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
    error = np.array([0.1, 0.2, 0.1, 0.3, 0.2])
    design = np.column_stack([np.ones_like(x), x])
    coefficients, covariance, chi2_dof = weighted_least_squares(design, 1.5 - 0.25 * x, error)
    np.testing.assert_allclose(coefficients, [1.5, -0.25], rtol=1e-12)
    assert chi2_dof == pytest.approx(0.0, abs=1e-20)
    # var(b) = S/Δ, var(a) = Sxx/Δ, cov = −Sx/Δ, Δ = S Sxx − Sx² (weights w = 1/σ²)
    weight = 1 / error**2
    total, first, second = weight.sum(), (weight * x).sum(), (weight * x**2).sum()
    determinant = total * second - first**2
    expected = np.array([[second, -first], [-first, total]]) / determinant
    np.testing.assert_allclose(covariance, expected, rtol=1e-12)
    # a point without a value (NaN) gives no fit rather than an error
    y = np.where(x == 2.0, np.nan, 1.5 - 0.25 * x)
    assert np.isnan(weighted_least_squares(design, y, error)[0]).all()
