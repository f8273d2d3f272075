"""Specifications of the phase-diagram observables in `sgd_dyson.phase` (arXiv:2509.01349).

Hand-worked small cases, invariances, and one cross-check against the analysis
notebook's own einsum formulas (chanjure/phase_ml, ``empirical_phase.ipynb``).
"""

import numpy as np
import pytest
from scipy.stats import ortho_group

from sgd_dyson.phase import (
    CONTOUR_LEVELS,
    alignment,
    contour_regions,
    critical_temperature,
    drift_contrast,
    eigenframe_moments,
    gram_levels,
    is_ordered,
    mean_squared_error,
    noise_sum,
    ordered_fraction,
    overlap,
    spacing_growth_rate,
)

# --- Test error, overlap, alignment ------------------------------------------------


def test_mean_squared_error_is_the_plain_mean_over_inputs_and_outputs():
    teacher = np.array([[[1.0], [2.0]], [[0.5], [0.5]]])
    student = np.array([[[0.0], [0.0]], [[0.5], [1.5]]])
    # replica 0: (1 + 4)/2; replica 1: (0 + 1)/2, no factor ½.
    np.testing.assert_allclose(mean_squared_error(teacher, student), [2.5, 0.5], rtol=1e-15)


def test_overlap_of_a_hand_worked_pair_is_the_mean_product():
    initial = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    final = np.array([[[1.0, 1.0], [1.0, 1.0]]])
    # Σ h⁰ h = 2 over 2 inputs × 2 units.
    np.testing.assert_allclose(overlap(initial, final), [0.5], rtol=1e-15)


def test_overlap_of_a_network_with_itself_is_its_mean_square_activation():
    hidden = np.tanh(np.random.default_rng(1).standard_normal((3, 5, 4)))
    np.testing.assert_allclose(overlap(hidden, hidden), np.mean(hidden**2, axis=(1, 2)))


def test_global_alignment_of_a_hand_worked_case():
    teacher = np.array([[[1.0], [-1.0]]])
    readout = np.array([[1.0, 2.0]])
    hidden = np.array([[[1.0, 1.0], [-1.0, 1.0]]])
    # H = [[1, 2], [−1, −2]], ‖H‖ = √10; ‖h‖ = 2; ⟨H, h⟩ = 2; divided by 2 inputs.
    expected = 2 / (np.sqrt(10) * 2) / 2
    np.testing.assert_allclose(alignment(teacher, readout, hidden), [expected], rtol=1e-14)


def test_per_unit_alignment_of_a_hand_worked_case_is_the_mean_unit_cosine():
    teacher = np.array([[[1.0], [-1.0]]])
    readout = np.array([[1.0, 2.0]])
    hidden = np.array([[[1.0, 1.0], [-1.0, 1.0]]])
    # unit 0: [1, −1] ∥ [1, −1], cosine 1; unit 1: [2, −2] ⟂ [1, 1], cosine 0.
    np.testing.assert_allclose(
        alignment(teacher, readout, hidden, normalisation="per_unit"), [0.5], atol=1e-15
    )


def test_alignment_of_a_hidden_layer_proportional_to_the_target_is_its_maximum():
    rng = np.random.default_rng(2)
    replicas, inputs, units = 3, 8, 5
    teacher = rng.standard_normal((replicas, inputs, 1))
    readout = rng.standard_normal((replicas, 1, units))
    scale = np.array([0.5, 2.0, 7.0])[:, None, None]
    hidden = scale * teacher @ readout
    np.testing.assert_allclose(alignment(teacher, readout, hidden), 1 / inputs, rtol=1e-13)
    np.testing.assert_allclose(alignment(teacher, readout, -hidden), -1 / inputs, rtol=1e-13)
    np.testing.assert_allclose(
        alignment(teacher, readout, hidden, normalisation="per_unit"), 1.0, rtol=1e-13
    )
    # Any other hidden layer lies below the maximum (Cauchy–Schwarz).
    other = np.tanh(rng.standard_normal((replicas, inputs, units)))
    assert np.all(alignment(teacher, readout, other) < 1 / inputs)


def test_alignment_accepts_a_readout_shared_by_all_replicas():
    rng = np.random.default_rng(3)
    teacher, hidden = rng.standard_normal((2, 4, 1)), rng.standard_normal((2, 4, 3))
    readout = rng.standard_normal((1, 3))
    np.testing.assert_allclose(
        alignment(teacher, readout, hidden),
        alignment(teacher, np.broadcast_to(readout, (2, 1, 3)), hidden),
        rtol=1e-15,
    )


# --- Level-spacing growth rate -----------------------------------------------------


def test_spacing_growth_rate_of_hand_worked_diagonal_weights():
    initial = np.array([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    final = np.array([[[1.0, 0.0, 0.0], [0.0, 3.0, 0.0]]])
    # X = diag(1, 4) → ū = 3; X = diag(1, 9) → ū = 8; over 10 epochs.
    np.testing.assert_allclose(
        spacing_growth_rate(initial, final, epochs=10), [np.log(8 / 3) / 10], rtol=1e-14
    )


def test_spacing_growth_rate_of_weights_scaled_by_c_is_log_c_squared_per_epoch():
    initial = np.random.default_rng(4).standard_normal((3, 4, 8))
    np.testing.assert_allclose(
        spacing_growth_rate(initial, 3 * initial, epochs=5), np.log(9) / 5, rtol=1e-12
    )


def test_gram_levels_keep_the_zero_levels_of_a_wide_x():
    weights = np.array([[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])
    np.testing.assert_allclose(gram_levels(weights), [[0.0, 1.0, 4.0]], atol=1e-15)


# --- Drift and noise in the eigenframe ---------------------------------------------


def test_drift_and_noise_of_a_diagonal_x_are_read_largest_level_first():
    # W = diag(1, 2): X = diag(1, 4), so the largest level is unit 1.
    weights = np.array([[[1.0, 0.0], [0.0, 2.0]]])
    gradients = np.array([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]])
    # dX_1 = W g_1ᵀ + g_1 Wᵀ = diag(2, 0), dX_2 = diag(0, 4): mean diag(1, 2),
    # population variance diag(1, 4); reordered to the levels (4, 1).
    for noise_frame in ("rotated_variance", "variance_of_rotated"):
        moments = eigenframe_moments(weights, gradients, noise_frame=noise_frame)
        np.testing.assert_allclose(moments.levels, [[4.0, 1.0]], rtol=1e-14)
        np.testing.assert_allclose(np.abs(moments.drift), [np.diag([2.0, 1.0])], atol=1e-14)
        np.testing.assert_allclose(np.abs(moments.noise), [np.diag([4.0, 1.0])], atol=1e-14)
    np.testing.assert_allclose(drift_contrast(moments.drift), [1.0], rtol=1e-14)


def test_eigenframe_moments_match_the_notebook_einsum_formulas():
    rng = np.random.default_rng(5)
    replicas, samples, units, inputs = 2, 6, 4, 8
    weights = rng.standard_normal((replicas, units, inputs))
    gradients = rng.standard_normal((replicas, samples, units, inputs))
    # The notebook's cell "Measure observables", on (replicas, samples, K, L) arrays.
    half = np.einsum("raK, rnbK -> rnab", weights, gradients)
    updates = half + np.transpose(half, axes=(0, 1, 3, 2))
    frame, levels, _ = np.linalg.svd(np.einsum("rLK, raK -> rLa", weights, weights))
    drift = np.einsum("rba, rbc, rcd -> rad", frame, updates.mean(axis=1), frame)
    noise = np.einsum("rba, rbc, rcd -> rad", frame, updates.var(axis=1), frame)
    moments = eigenframe_moments(weights, gradients)
    np.testing.assert_allclose(moments.levels, levels, rtol=1e-13)
    np.testing.assert_allclose(moments.drift, drift, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(moments.noise, noise, rtol=1e-10, atol=1e-12)


def test_variance_of_rotated_updates_does_not_depend_on_the_hidden_basis():
    # Rotating the K hidden units, W → Q W and g → Q g, maps dX → Q dX Qᵀ and the
    # eigenframe to Q O up to the eigenvectors' signs, which only that noise ignores.
    rng = np.random.default_rng(6)
    weights = rng.standard_normal((3, 4, 8))
    gradients = rng.standard_normal((3, 5, 4, 8))
    rotation = ortho_group.rvs(4, random_state=7)
    plain = eigenframe_moments(weights, gradients, "variance_of_rotated")
    rotated = eigenframe_moments(rotation @ weights, rotation @ gradients, "variance_of_rotated")
    np.testing.assert_allclose(rotated.noise, plain.noise, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.abs(rotated.drift), np.abs(plain.drift), rtol=1e-9, atol=1e-12)
    # The notebook's rotated variance matrix is not a tensor: it changes (here by O(10)).
    coded = eigenframe_moments(weights, gradients)
    coded_rotated = eigenframe_moments(rotation @ weights, rotation @ gradients)
    assert np.max(np.abs(np.abs(coded_rotated.noise) - np.abs(coded.noise))) > 1.0


def test_noise_sum_of_three_levels_is_the_hand_worked_sum():
    noise = np.array([[[0.0, 1.0, 2.0], [10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]])
    # K = 3: 2 Ṽ_02/2 + (Ṽ_01 + Ṽ_22)/1 as coded, 2 Ṽ_02/2 + (Ṽ_01 + Ṽ_21)/1 corrected.
    np.testing.assert_allclose(noise_sum(noise), [2.0 + 1.0 + 22.0], rtol=1e-15)
    np.testing.assert_allclose(noise_sum(noise, "corrected"), [2.0 + 1.0 + 21.0], rtol=1e-15)


def test_noise_sum_of_two_levels_is_twice_their_coupling():
    noise = np.array([[[5.0, 3.0], [3.0, 7.0]]])
    for variant in ("as_coded", "corrected"):
        np.testing.assert_allclose(noise_sum(noise, variant), [6.0], rtol=1e-15)


def test_as_coded_and_corrected_noise_sums_differ_by_the_shifted_partner_terms():
    units = 7
    noise = np.random.default_rng(8).random((4, units, units))
    distance = np.arange(1, units - 1)
    shift = np.sum(
        (noise[:, -1, units - distance] - noise[:, -1, units - 1 - distance]) / distance, axis=1
    )
    np.testing.assert_allclose(
        noise_sum(noise, "as_coded") - noise_sum(noise, "corrected"), shift, rtol=1e-12
    )


# --- The criterion, its pass fraction and its contours -----------------------------


def test_criterion_holds_at_equality_and_fails_just_above():
    # K − 1 = 1, √r = 2: drift side 1/2; T = 1, σ_W = 1: noise side V_t/4.
    contrasts = np.array([1.0, 1.0])
    noises = np.array([2.0, 2.0 + 1e-9])
    ordered = is_ordered(
        contrasts,
        noises,
        levels=2,
        width_ratio=4.0,
        learning_rate=4.0,
        batch_size=4,
        init_width=1.0,
    )
    np.testing.assert_array_equal(ordered, [True, False])


def test_criterion_broadcasts_over_a_grid_of_cells():
    # (replicas, σ_W, T) = (1, 2, 2): smaller σ_W and larger T both favour the noise.
    contrasts = np.ones((1, 2, 2))
    noises = np.full((1, 2, 2), 4.0)
    ordered = is_ordered(
        contrasts,
        noises,
        levels=3,
        width_ratio=1.0,
        learning_rate=np.array([0.5, 4.0]),
        batch_size=1,
        init_width=np.array([[0.5], [2.0]]),
    )
    # drift side 1/2; noise side T·4/(4σ²) = T/σ²: (2, 16) at σ = ½, (1/8, 1) at σ = 2.
    np.testing.assert_array_equal(ordered, [[[False, False], [True, False]]])


def test_ordered_fraction_is_the_share_of_passing_replicas_per_cell():
    ordered = np.array([[True, False], [True, True], [False, False], [True, False]])
    np.testing.assert_allclose(ordered_fraction(ordered), [0.75, 0.25])


def test_contour_regions_mark_cells_at_or_above_each_level():
    fractions = np.array([[1.0, 0.96], [0.95, 0.7], [0.68, 0.1]])
    regions = contour_regions(fractions)
    assert tuple(regions) == CONTOUR_LEVELS == (0.68, 0.95, 0.997)
    np.testing.assert_array_equal(regions[0.68], [[True, True], [True, True], [True, False]])
    np.testing.assert_array_equal(regions[0.95], [[True, True], [True, False], [False, False]])
    np.testing.assert_array_equal(regions[0.997], [[True, False], [False, False], [False, False]])


def test_critical_temperature_is_the_midpoint_past_the_last_passing_temperature():
    temperatures = np.array([0.125, 0.25, 0.5, 1.0])
    fractions = np.array([1.0, 0.9, 0.7, 0.5])
    # The paper's 1/σ_W = 8 reading: 68% holds at T = 0.5, fails at T = 1.
    assert critical_temperature(fractions, temperatures, 0.68) == pytest.approx(0.75)
    assert critical_temperature(fractions, temperatures, 0.95) == pytest.approx(0.1875)
    # Strictly above the level, as in the notebook: a fraction of exactly 0.9 fails 0.9.
    assert critical_temperature(fractions, temperatures, 0.9) == pytest.approx(0.1875)


def test_critical_temperature_off_the_grid_is_nan():
    temperatures = np.array([0.125, 0.25, 0.5])
    assert np.isnan(critical_temperature(np.array([0.5, 0.4, 0.1]), temperatures, 0.68))
    assert np.isnan(critical_temperature(np.array([1.0, 1.0, 0.9]), temperatures, 0.68))


# --- Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mean_squared_error(np.ones((2, 3)), np.ones((2, 3))), "teacher_outputs"),
        (lambda: mean_squared_error(np.ones((2, 3, 1)), np.ones((2, 4, 1))), "student_outputs"),
        (lambda: overlap(np.ones((2, 3, 4)), np.ones((2, 3, 5))), "final_hidden"),
        (lambda: alignment(np.ones((2, 3, 1)), np.ones((1, 5)), np.ones((2, 3, 4))), "readout"),
        (
            lambda: alignment(np.ones((2, 3, 1)), np.ones((1, 4)), np.ones((2, 3, 4)), "rows"),
            "normalisation",
        ),
        (lambda: spacing_growth_rate(np.ones((2, 3, 4)), np.ones((2, 4, 4)), 1), "final_weights"),
        (lambda: spacing_growth_rate(np.ones((2, 3, 4)), np.ones((2, 3, 4)), 0), "epochs"),
        (lambda: eigenframe_moments(np.ones((2, 3, 4)), np.ones((2, 5, 3, 5))), "per_sample"),
        (lambda: eigenframe_moments(np.ones((2, 3, 4)), np.ones((5, 3, 4))), "per_sample"),
        (
            lambda: eigenframe_moments(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), "sign"),
            "noise_frame",
        ),
        (lambda: drift_contrast(np.ones((3, 3))), "drift"),
        (lambda: noise_sum(np.ones((1, 3, 4))), "noise"),
        (lambda: noise_sum(np.ones((1, 3, 3)), "fixed"), "variant"),
        (
            lambda: is_ordered(np.ones(3), np.ones(4), 2, 2.0, 1.0, 4, 1.0),
            "noise_sums",
        ),
        (lambda: contour_regions(np.ones((2, 2)), levels=(68,)), "contour levels"),
        (
            lambda: critical_temperature(np.ones(3), np.array([1.0, 0.5, 0.25]), 0.68),
            "temperatures",
        ),
    ],
)
def test_bad_shapes_and_options_raise_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
