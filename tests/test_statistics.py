"""Specifications of the resampling errors and straight-line fits in `sgd_dyson.statistics`."""

import numpy as np
import pytest
from scipy import integrate, stats

from sgd_dyson.statistics import (
    equal_groups,
    integrated_autocorrelation_time,
    jackknife,
    line_through_origin,
)


def mean_over_samples(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=0)


# --- Jackknife ----------------------------------------------------------------------


def test_jackknife_error_of_the_mean_with_single_sample_groups_is_the_standard_error():
    # Exact identity: leave-one-out means differ from their average by −(x_i − x̄)/(n − 1),
    # so the jackknife variance (n − 1)/n Σ (x_i − x̄)²/(n − 1)² = s²/n.
    samples = np.random.default_rng(1).normal(3.0, 2.0, size=57)
    estimate, error = jackknife(mean_over_samples, samples, np.arange(samples.size))
    assert estimate == pytest.approx(samples.mean(), rel=1e-14)
    assert error == pytest.approx(samples.std(ddof=1) / np.sqrt(samples.size), rel=1e-12)


def test_jackknife_handles_vector_estimators_component_by_component():
    samples = np.random.default_rng(2).normal(size=(40, 3))
    estimate, error = jackknife(mean_over_samples, samples, np.arange(40))
    np.testing.assert_allclose(estimate, samples.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(error, samples.std(axis=0, ddof=1) / np.sqrt(40), rtol=1e-12)


def test_grouped_jackknife_of_repeated_replica_samples_is_the_replica_standard_error():
    # Each replica contributes `repeats` identical snapshots (perfectly correlated samples).
    replicas, repeats = 30, 8
    values = np.random.default_rng(3).normal(size=replicas)
    samples = np.repeat(values, repeats)
    labels = np.repeat(np.arange(replicas), repeats)
    _, grouped = jackknife(mean_over_samples, samples, labels)
    _, naive = jackknife(mean_over_samples, samples, np.arange(samples.size))
    # Grouping by replica gives the honest error: that of the mean of `replicas`
    # independent values.
    assert grouped == pytest.approx(values.std(ddof=1) / np.sqrt(replicas), rel=1e-12)
    # Treating the snapshots as independent understates it by the exact factor
    # sqrt((replicas·repeats − 1)/(replicas − 1)) (both are Σ(x − x̄)² over different counts).
    assert naive < grouped
    assert grouped / naive == pytest.approx(
        np.sqrt((replicas * repeats - 1) / (replicas - 1)), rel=1e-12
    )


def test_grouped_jackknife_accepts_groups_of_several_replicas():
    # Delete-one-group with equal groups of independent values: its variance is the
    # variance of the group means over (groups) — the standard error of the mean.
    values = np.random.default_rng(4).normal(size=(12, 5))  # 12 groups of 5 samples
    groups = np.repeat(np.arange(12), 5)
    _, error = jackknife(mean_over_samples, values.ravel(), groups)
    group_means = values.mean(axis=1)
    assert error == pytest.approx(group_means.std(ddof=1) / np.sqrt(12), rel=1e-12)


def test_jackknife_refuses_a_single_group():
    with pytest.raises(ValueError, match="at least two"):
        jackknife(mean_over_samples, np.arange(5.0), np.zeros(5, dtype=int))


# --- Equal groups -------------------------------------------------------------------


def test_equal_groups_keeps_each_label_in_one_group_and_balances_group_sizes():
    rng = np.random.default_rng(5)
    labels = rng.permutation(np.repeat(np.arange(103), 4))  # 103 replicas × 4 snapshots
    groups = equal_groups(labels, 10)
    for label in np.unique(labels):
        assert np.unique(groups[labels == label]).size == 1
    # Distinct labels per group: 103 over 10 groups is 10 or 11 each.
    distinct_per_group = np.array([np.unique(labels[groups == g]).size for g in range(10)])
    assert set(np.unique(groups)) == set(range(10))
    assert distinct_per_group.sum() == 103
    assert distinct_per_group.max() - distinct_per_group.min() <= 1


def test_equal_groups_are_contiguous_in_label_order():
    labels = np.array([7, 3, 3, 9, 1, 7, 5])
    groups = equal_groups(labels, 2)
    order = np.argsort(labels, kind="stable")
    assert np.all(np.diff(groups[order]) >= 0)


def test_equal_groups_never_makes_more_groups_than_labels():
    groups = equal_groups(np.array([4, 4, 2, 2, 8]), 10)
    assert sorted(np.unique(groups).tolist()) == [0, 1, 2]


# --- Line through the origin --------------------------------------------------------

POINTS = np.linspace(0.5, 5.0, 10)
TRUE_SLOPE = 1.7
STATED_ERROR = 0.2 + 0.1 * POINTS


def pull_moments(error_ratio: float, dof: int) -> tuple[float, float]:
    """``E[pull²]`` and ``E[pull⁴]`` of ``(slope − true)/slope_error`` with the PDG scale factor.

    With Gaussian errors ``error_ratio`` times the stated ones, ``slope − true =
    error_ratio·Z/sqrt(Σwx²)`` and ``χ² = error_ratio²·χ²_dof``, independent of ``Z``
    (least squares). The stated error is ``sqrt(max(1, χ²/dof)/Σwx²)``, so
    ``pull² = error_ratio² Z²/max(1, error_ratio² χ²_dof/dof)`` with ``E[Z²] = 1``, ``E[Z⁴] = 3``.
    """
    kink = dof / error_ratio**2

    def moment(power):
        def integrand(chi2):
            scale = max(1.0, error_ratio**2 * chi2 / dof)
            return stats.chi2.pdf(chi2, dof) * (error_ratio**2 / scale) ** power

        return sum(integrate.quad(integrand, a, b)[0] for a, b in [(0, kink), (kink, np.inf)])

    return moment(1), 3 * moment(2)


def repeated_fits(error_ratio: float, repetitions: int, seed: int) -> np.ndarray:
    """``(slope, slope_error, chi2_per_dof)`` per repetition.

    The data scatter ``error_ratio`` times the stated errors about the true line.
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((repetitions, POINTS.size)) * error_ratio * STATED_ERROR
    return np.array(
        [line_through_origin(POINTS, TRUE_SLOPE * POINTS + n, STATED_ERROR) for n in noise]
    )


def test_line_through_origin_recovers_a_known_slope_within_its_stated_error():
    rng = np.random.default_rng(6)
    y = TRUE_SLOPE * POINTS + rng.standard_normal(POINTS.size) * STATED_ERROR
    slope, slope_error, _ = line_through_origin(POINTS, y, STATED_ERROR)
    # 4σ: false-failure probability ~6e-5.
    assert abs(slope - TRUE_SLOPE) < 4 * slope_error


def test_line_through_origin_is_exact_on_data_on_a_line():
    slope, slope_error, chi2_per_dof = line_through_origin(POINTS, 2.5 * POINTS, STATED_ERROR)
    assert slope == pytest.approx(2.5, rel=1e-14)
    assert chi2_per_dof == pytest.approx(0.0, abs=1e-25)
    # χ²/dof < 1: no scale factor, the error is 1/sqrt(Σ w x²).
    assert slope_error == pytest.approx(1 / np.sqrt(np.sum(POINTS**2 / STATED_ERROR**2)), rel=1e-14)


def test_line_through_origin_unscaled_pulls_are_standard_normal_for_correct_errors():
    repetitions = 10_000
    slope, slope_error, chi2_per_dof = repeated_fits(1.0, repetitions, seed=7).T
    # Undo the PDG scale factor: what is left is the error 1/sqrt(Σwx²) of the estimate.
    pull = (slope - TRUE_SLOPE) / (slope_error / np.sqrt(np.maximum(1.0, chi2_per_dof)))
    # Mean 0 (standard error 1/sqrt(R)), variance 1 (standard error sqrt(2/R) for a normal),
    # χ²/dof mean 1 (standard error sqrt(2/dof/R)). 4σ: false-failure probability ~6e-5 each.
    dof = POINTS.size - 1
    assert abs(pull.mean()) < 4 / np.sqrt(repetitions)
    assert abs(np.mean(pull**2) - 1) < 4 * np.sqrt(2 / repetitions)
    assert abs(chi2_per_dof.mean() - 1) < 4 * np.sqrt(2 / dof / repetitions)


@pytest.mark.parametrize(("error_ratio", "seed"), [(1.0, 8), (2.0, 9)])
def test_line_through_origin_pull_variance_matches_the_scale_factor_prediction(error_ratio, seed):
    # With correct errors the scale factor max(1, sqrt(χ²/dof)) shrinks the pulls
    # (E[pull²] ≈ 0.89 for dof = 9); with errors understated 2× it restores them to
    # a Student-t-like spread (≈ 1.27) instead of the unscaled 4.
    repetitions = 10_000
    slope, slope_error, _ = repeated_fits(error_ratio, repetitions, seed).T
    pull = (slope - TRUE_SLOPE) / slope_error
    second, fourth = pull_moments(error_ratio, POINTS.size - 1)
    standard_error = np.sqrt((fourth - second**2) / repetitions)
    # 4σ: false-failure probability ~6e-5.
    assert abs(np.mean(pull**2) - second) < 4 * standard_error


def test_line_through_origin_inflates_the_error_by_sqrt_chi2_per_dof_when_errors_are_understated():
    rng = np.random.default_rng(10)
    y = TRUE_SLOPE * POINTS + rng.standard_normal(POINTS.size) * 3 * STATED_ERROR
    slope, slope_error, chi2_per_dof = line_through_origin(POINTS, y, STATED_ERROR)
    weight = 1 / STATED_ERROR**2
    residual_chi2 = np.sum(weight * (y - slope * POINTS) ** 2)
    assert chi2_per_dof == pytest.approx(residual_chi2 / (POINTS.size - 1), rel=1e-12)
    assert chi2_per_dof > 1
    assert slope_error == pytest.approx(
        np.sqrt(chi2_per_dof / np.sum(weight * POINTS**2)), rel=1e-12
    )


def test_line_through_origin_through_one_point_has_no_chi2():
    slope, slope_error, chi2_per_dof = line_through_origin(
        np.array([2.0]), np.array([3.0]), np.array([0.5])
    )
    assert slope == 1.5
    assert slope_error == pytest.approx(0.25, rel=1e-14)
    assert np.isnan(chi2_per_dof)


@pytest.mark.parametrize("phi", [0.0, 0.6])
def test_autocorrelation_time_of_ar1_series_is_one_plus_phi_over_two_one_minus_phi(phi):
    # x_t = φ x_{t−1} + ξ_t has ρ_k = φ^k, so τ = ½ + φ/(1 − φ) = (1 + φ)/(2(1 − φ));
    # independent samples (φ = 0) give ½.
    chains, times = 400, 400
    rng = np.random.default_rng(41)
    noise = rng.standard_normal((chains, times))
    series = np.empty_like(noise)
    series[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)  # stationary start
    for t in range(1, times):
        series[:, t] = phi * series[:, t - 1] + noise[:, t]
    expected = (1 + phi) / (2 * (1 - phi))
    # Sokal's standard error of τ̂ with a window of W ≲ 20 lags over N = 160000 samples is
    # sqrt(2(2W + 1)/N) τ ≤ 0.023 τ: 4σ is 0.09 τ; the truncation at the first negative ρ̂
    # (ρ_k = φ^k reaches the noise 1/sqrt(N) by k ≈ 12) biases τ by < 0.01 τ.
    assert integrated_autocorrelation_time(series) == pytest.approx(expected, rel=0.09 + 0.01)
