"""Stationarity: the ``burn_in: auto`` rule and the halves check, synthetic and end to end.

The synthetic levels are ``target + transient(t) + noise``, the noise an AR(1)
process per replica (stationary from the first snapshot), so that the
snapshots of one replica are autocorrelated as SGD's are.
"""

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from workflow_runs import snakemake

from sgd_dyson.config import ConfigError, validate_config
from sgd_dyson.models import MODELS, model_of
from sgd_dyson.models.external import ExternalDataError
from sgd_dyson.plotting.layout import excluded_points_note
from sgd_dyson.report.front_page import summary_row
from sgd_dyson.stages import fit as fit_stage
from sgd_dyson.stationarity import critical_z, stationarity_check, stationary_start
from sgd_dyson.tables import column_names, read_table

from tolerances import bonferroni_z

REPLICAS = 200
STEPS = np.arange(0, 2000, 100)  # 20 snapshots, the first at the initial weights
TARGETS = np.array([1.0, 1.0, 2.0])  # a degenerate pair and a single level
CLUSTERS = np.array([0, 0, 1])
NOISE = 0.1


def ar1_noise(rng: np.random.Generator, correlation: float) -> np.ndarray:
    """Stationary AR(1) noise ``(replicas, snapshots, levels)`` of standard deviation ``NOISE``."""
    innovations = rng.normal(0.0, NOISE, (REPLICAS, STEPS.size, TARGETS.size))
    noise = np.empty_like(innovations)
    noise[:, 0] = innovations[:, 0]
    scale = np.sqrt(1 - correlation**2)
    for snapshot in range(1, STEPS.size):  # a loop over time, vectorised over replicas
        noise[:, snapshot] = correlation * noise[:, snapshot - 1] + scale * innovations[:, snapshot]
    return noise


def levels_of(transient: np.ndarray, seed: int, correlation: float = 0.5) -> np.ndarray:
    """Sorted levels ``TARGETS + transient(step) + noise`` ``(replicas, snapshots, levels)``."""
    rng = np.random.default_rng(seed)
    values = TARGETS + transient[None, :, None] + ar1_noise(rng, correlation)
    return np.sort(values, axis=2)


def test_critical_z_is_the_bonferroni_4_sigma_z_for_many_units():
    # Student's t with 10⁷ − 1 degrees of freedom is the normal law to ~1e-6.
    for tests in (1, 7, 40):
        assert critical_z(tests, 10**7) == pytest.approx(bonferroni_z(tests), abs=1e-4)
    assert critical_z(7, 5) > critical_z(7, 50) > bonferroni_z(7)  # few units: wider


def test_a_relaxing_exponential_is_cut_after_it_relaxes():
    # Transient 5 e^(−t/100). The error of a snapshot's mean difference from the reference
    # is NOISE √(1 + 1/10) / √200 ≈ 0.0074 (uncorrelated noise); critical_z(10 × 3, 200) ≈ 4.9
    # detects a bias above ≈ 0.036: the transient at 400 (0.092, z ≈ 12) always, that at
    # 600 (0.012, z ≈ 1.7) with probability ≪ 6e-5. So the cut is at 500 or 600.
    levels = levels_of(5.0 * np.exp(-STEPS / 100.0), seed=11, correlation=0.0)
    chosen = stationary_start(levels, STEPS)
    assert 500 <= chosen <= 600
    kept = chosen <= STEPS
    assert stationarity_check(levels[:, kept], CLUSTERS).status == "passed"
    # Kept from step 0, the initial transient fails the halves check.
    assert stationarity_check(levels, CLUSTERS).status == "failed"


def test_a_stationary_series_keeps_its_first_snapshot():
    for seed in (1, 2, 3):
        levels = levels_of(np.zeros(STEPS.size), seed=seed)
        assert stationary_start(levels, STEPS) == STEPS[0]
        check = stationarity_check(levels, CLUSTERS)
        assert check.status == "passed" and (check.cluster_z <= check.threshold).all()


def test_strongly_autocorrelated_snapshots_are_not_taken_as_independent():
    # AR(1) with correlation 0.95 between snapshots: each half is worth ~1 independent
    # snapshot per replica. Errors from the spread between replicas see that; errors from
    # all 200 × 10 snapshots as independent would be ~√(10 / (1 + 2·19)) ≈ 2 times too
    # small and fail. The series is stationary, so the check passes.
    levels = levels_of(np.zeros(STEPS.size), seed=5, correlation=0.95)
    assert stationarity_check(levels, CLUSTERS).status == "passed"
    assert stationary_start(levels, STEPS) == STEPS[0]


def test_a_drifting_series_fails_the_check():
    # A drift of 0.02 per 100 steps moves the halves' means apart by 0.02 × 10 = 0.2,
    # against an error NOISE √2 / √(200 × ~3.5 independent snapshots) ≈ 0.005: z ≈ 40.
    levels = levels_of(0.02 * STEPS / 100.0, seed=7)
    check = stationarity_check(levels, CLUSTERS)
    assert check.status == "failed" and (check.cluster_z > check.threshold).all()


def test_a_widening_pair_fails_on_its_mean_spacing():
    # The pair's levels drift apart symmetrically: each level mean moves but their centre
    # does not; the mean spacing grows by 2 × 0.3 between the halves.
    rng = np.random.default_rng(9)
    levels = np.sort(TARGETS + ar1_noise(rng, 0.5), axis=2)
    spread = 0.03 * np.arange(STEPS.size)
    levels[:, :, 0] -= spread
    levels[:, :, 1] += spread
    check = stationarity_check(levels, CLUSTERS)
    assert check.status == "failed"
    assert check.cluster_z[0] > check.threshold >= check.cluster_z[1]


def test_a_single_snapshot_or_unit_is_untested_not_passed():
    levels = levels_of(np.zeros(STEPS.size), seed=4)
    final = stationarity_check(levels[:, -1:], CLUSTERS)
    assert final.status == "untested" and np.isnan(final.threshold)
    one_draw = stationarity_check(levels, CLUSTERS, units=np.zeros(REPLICAS))
    assert one_draw.status == "untested"
    assert stationary_start(levels[:, -1:], STEPS[-1:]) == STEPS[-1]


def test_errors_come_from_the_units_when_replicas_share_a_draw():
    # Four draws, each moving its replicas' levels by a drift of its own, shared by them:
    # the halves differ by 10 × slope, 0.35 ± 0.065 over the 4 draws (z ≈ 5.4, below the
    # t(3) threshold ≈ 56), but ± 0.01 if the 200 replicas were independent (z ≈ 35).
    draws = np.repeat(np.arange(4), REPLICAS // 4)
    slopes = np.array([0.05, 0.03, 0.04, 0.02])  # per 100 steps, per draw
    levels = levels_of(np.zeros(STEPS.size), seed=13)
    levels += (slopes[draws][:, None] * np.arange(STEPS.size))[:, :, None]
    assert stationarity_check(levels, CLUSTERS).status == "failed"
    by_draw = stationarity_check(levels, CLUSTERS, units=draws)
    assert by_draw.status == "passed" and by_draw.threshold > critical_z(5, REPLICAS)


def test_the_figures_note_and_the_front_page_say_why_points_are_excluded():
    scaling = pd.DataFrame(
        {
            "experiment": "mine",
            "point": ["a", "b", "c", "d"],
            "learning_rate": [0.1, 0.2, 0.3, 0.4],
            "batch_size": 16,
            "status": ["ok", "non_stationary", "diverged", "all_diverged"],
            "residual": np.nan,
        }
    )
    note = excluded_points_note(scaling)
    assert "α = 0.2, |B| = 16 (not stationary)" in note
    assert "α = 0.3, |B| = 16 (some replicas diverged)" in note
    assert "α = 0.4, |B| = 16 (all replicas diverged)" in note
    assert "0.1" not in note
    experiment = {"name": "mine", "title": "mine", "optimizer": "sgd", "scale": "s"}
    row = summary_row(
        {
            **experiment,
            "scaling": scaling,
            "scaling_fit": pd.DataFrame(columns=["quantity"]),
            "scaling_exponents": pd.DataFrame(columns=column_names("scaling_exponents")),
        }
    )
    assert row["excluded (diverged)"] == 2 and row["excluded (non-stationary)"] == "b"


TINY_CONFIG = Path(__file__).parent / "configs" / "tiny.yaml"


def test_burn_in_auto_is_allowed_for_simulated_models_and_left_to_the_stages():
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["experiments"]["online"]["burn_in"] = "auto"
    experiment = validate_config(config)["experiments"]["online"]
    assert model_of(experiment).burn_in(experiment) == "auto"
    assert fit_stage.settings(experiment)["burn_in"] == "auto"
    config["experiments"]["online"]["burn_in"] = "first"
    with pytest.raises(ConfigError, match=r"experiments\.online\.burn_in"):
        validate_config(config)


def test_a_burn_in_beyond_every_external_snapshot_names_the_key_the_point_and_its_steps():
    points = [
        {"learning_rate": 0.1, "batch_size": 8, "steps": 400, "files": ["a.parquet"]},
        {"learning_rate": 0.2, "batch_size": 8, "steps": 300, "files": ["b.parquet"]},
    ]
    external = MODELS["external"]
    external.check_burn_in("experiments.mine", {"burn_in": "auto"}, points)
    external.check_burn_in("experiments.mine", {"burn_in": 300}, points)
    with pytest.raises(ExternalDataError) as error:
        external.check_burn_in("experiments.mine", {"burn_in": 350}, points)
    message = str(error.value)
    assert "experiments.mine.burn_in = 350" in message and "α = 0.2, |B| = 8" in message
    assert "b.parquet" in message and "end at step 300" in message


# --- End to end: external weights with the random initial weights kept ----------------------

INIT_SCALE = 0.1  # the tiny study's teacher–student initial weights: entries N(0, 0.1²)


def with_initial_weights(simulate: Path, output: Path, seed: int) -> None:
    """The simulate table ``simulate`` plus step-0 snapshots of random initial weights.

    The layout of a training release that saved the weights before the first
    step: every replica gets a snapshot at step 0, W with N(0, INIT_SCALE²)
    entries (seeded), ahead of its stationary snapshots.
    """
    frame = pq.read_table(simulate).to_pandas()
    initial = frame[frame["step"] == frame["step"].min()].copy()
    rng = np.random.default_rng(seed)
    size = len(initial["weights"].iloc[0])
    initial["weights"] = list(INIT_SCALE * rng.standard_normal((len(initial), size)))
    initial["step"] = 0
    both = pd.concat([initial, frame], ignore_index=True).sort_values(["replica", "step"])
    pq.write_table(pa.Table.from_pandas(both, preserve_index=False), output)


@pytest.mark.workflow
def test_initial_weights_are_cut_by_burn_in_auto_or_flagged_never_fitted(tiny_run, tmp_path):
    data = tmp_path / "release"
    data.mkdir()
    simulated = sorted((tiny_run / "results" / "online" / "simulate").glob("*.parquet"))
    for seed, path in enumerate(simulated):
        with_initial_weights(path, data / path.name, seed)
    common = {"model": "external", "source": str(data), "targets": [2.0, 2.0]}
    common["amplitude"] = "noise_squared"
    experiments = {
        "auto": common,  # burn_in omitted: auto
        "explicit": {**common, "burn_in": 100},
        "from_zero": {**common, "burn_in": 0},
    }
    config = tmp_path / "release.yaml"
    config.write_text(yaml.safe_dump({"seed": 7, "experiments": experiments}))
    # Up to the front page (the tables and its two figures per experiment), not the report.
    result = snakemake(tmp_path, "--until", "front_page", config=config)
    assert result.returncode == 0, result.stderr[-5000:]
    results = tmp_path / "results"
    scaling = {
        name: read_table(results / name / "scaling.parquet", "scaling") for name in experiments
    }
    lines = {
        name: read_table(results / name / "scaling_fit.parquet", "scaling_fit")
        for name in experiments
    }

    # auto: step 0 (singular values ~0.1 against 2 ± 0.1) is cut; every snapshot from step
    # 100 (≫ 1/α steps of relaxation) agrees with the last half, so the cut is at 100, and
    # the fits are exactly those of burn_in: 100.
    assert (scaling["auto"]["burn_in"] == 100).all()
    assert (scaling["auto"]["status"] == "ok").all()
    assert (scaling["auto"]["stationarity"] == "passed").all()
    columns = ["quantity", "cluster", "slope", "slope_err", "chi2_dof", "n_points"]
    pd.testing.assert_frame_equal(lines["auto"][columns], lines["explicit"][columns])
    assert (lines["auto"]["n_points"] == len(simulated)).all()

    # burn_in: 0 keeps the initial weights: every point fails the halves check, is marked,
    # warned about, left out of the lines and named on the front page.
    flagged = scaling["from_zero"]
    assert (flagged["status"] == "non_stationary").all()
    assert (flagged["stationarity"] == "failed").all()
    assert (flagged["stationarity_z"] > flagged["stationarity_threshold"]).all()
    assert lines["from_zero"].empty
    warnings = "".join(path.read_text() for path in (results / "logs").rglob("*.log"))
    for point in flagged["point"].unique():
        assert f"point {point}: not stationary" in warnings
        assert f"point {point}, cluster 0 is not stationary" in warnings
    front = (results / "front_page.html").read_text()
    assert "excluded (non-stationary)" in front
    for point in flagged["point"].unique():
        assert html.escape(point) in front
