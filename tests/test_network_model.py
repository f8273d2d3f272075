"""The network model in the workflow: its config, its layers through the stages, its theory.

The engine itself (forward pass, backpropagation, data, checkpoints, the linear
limit) is tested in test_networks.py, the linearised theory in
test_linearised.py and the phase stage in test_phase_stage.py.
"""

import copy

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sgd_dyson.config import ConfigError, point_id, validate_config
from sgd_dyson.models import MODELS
from sgd_dyson.plotting.flow import flow_levels
from sgd_dyson.simulation import LayeredSnapshots
from sgd_dyson.spectra import singular_values
from sgd_dyson.stages import fit as fit_stage
from sgd_dyson.stages import simulate as simulate_stage
from sgd_dyson.stages import spectrum as spectrum_stage
from sgd_dyson.stages import theory as theory_stage
from sgd_dyson.tables import read_arrow, read_table, write_table

from tolerances import bonferroni_z

TWO_LAYERS = {
    "model": "network",
    "layers": [3, 4, 2],
    "learnable": [0, 1],
    "teacher": [[1.0, 1.0, 0.5], [1.0, 1.0]],
    "noise_kind": "label",
    "dataset": "online",
    "steps": 40,
    "replicas": 6,
    "snapshot_every": 20,
    "burn_in": 20,
    "sweep": [{"learning_rate": [0.1], "batch_size": [8], "noise": [0.1]}],
}
NETWORK = MODELS["network"]


def validated(experiment: dict) -> dict:
    return validate_config({"experiments": {"net": copy.deepcopy(experiment)}})["experiments"][
        "net"
    ]


def point_of(experiment: dict) -> dict:
    """The first sweep point of a validated experiment, with seeds (as the sweep table has)."""
    return {**NETWORK.points("experiments.net", experiment)[0], "root_seed": 7, "point_seed": 3}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learnable": [2]}, "learnable = [2] must name distinct weight matrices"),
        ({"learnable": [1, 0]}, "learnable = [1, 0] must name distinct weight matrices"),
        ({"activation": ["tanh"]}, "activation = ['tanh'] has 1 names but the network has 2"),
        ({"teacher": [[1.0, 1.0], [1.0, 1.0]]}, "must give [3, 2] singular values"),
        ({"teacher": [1.0, 1.0, 0.5]}, "must give [3, 2] singular values"),
        ({"noise_kind": "none"}, "sweep[0] must not have a noise list with"),
        ({"dataset": "paper"}, "noise_kind = label with experiments.net.dataset = paper"),
        ({"dataset_draws": 7}, "dataset_draws = 7 exceeds experiments.net.replicas = 6"),
        ({"phase_diagram": {}}, "phase_diagram: phase observables need one learnable matrix"),
    ],
)
def test_a_bad_network_config_is_an_error_naming_the_key(change, message):
    with pytest.raises(ConfigError, match="experiments.net") as error:
        validated({**TWO_LAYERS, **change})
    assert message in str(error.value)


def test_a_grid_without_noise_needs_none_and_a_grid_init_scale_is_a_point_parameter():
    experiment = validated(
        {
            **TWO_LAYERS,
            "noise_kind": "none",
            "init_scale": 0.5,
            "sweep": [
                {"learning_rate": [0.1], "batch_size": [8]},
                {"learning_rate": [0.2], "batch_size": [8], "init_scale": [2.0]},
            ],
        }
    )
    points = NETWORK.points("experiments.net", experiment)
    assert [point_id(point) for point in points] == ["lr~0.1_bs~8_init~0.5", "lr~0.2_bs~8_init~2.0"]
    settings = NETWORK.run_settings(experiment, {**points[1], "root_seed": 1, "point_seed": 2})
    assert settings["noise"] == 0.0 and settings["init_width"] == 2.0
    assert settings["activations"] == ["tanh", "identity"]
    with pytest.raises(ConfigError, match=r"sweep\[0\] needs a noise list"):
        validated({**TWO_LAYERS, "sweep": [{"learning_rate": [0.1], "batch_size": [8]}]})


def test_every_learnable_matrix_is_a_layer_of_the_simulate_and_spectrum_tables(tmp_path):
    experiment = validated(TWO_LAYERS)
    point = point_of(experiment)
    snapshots = NETWORK.simulate(NETWORK.run_settings(experiment, point))
    assert isinstance(snapshots, LayeredSnapshots) and list(snapshots.by_layer()) == [0, 1]
    path = tmp_path / "simulate.parquet"
    write_table(simulate_stage.columns(snapshots, point), path, "simulate")
    table = read_arrow(path, "simulate")
    shapes = read_table(path, "simulate").groupby("layer")[["rows", "cols"]].first()
    assert shapes.to_dict("index") == {0: {"rows": 4, "cols": 3}, 1: {"rows": 2, "cols": 4}}
    settings = spectrum_stage.settings(experiment)
    spectrum = pd.DataFrame(spectrum_stage.table_columns(table, path, settings))
    levels = spectrum.drop_duplicates("level").set_index("level")
    # Layer 0: three levels (a single 0.5 and the pair 1.0); layer 1: a pair, numbered on.
    assert levels["layer"].tolist() == [0, 0, 0, 1, 1]
    assert levels["cluster"].tolist() == [0, 1, 1, 2, 2]
    assert levels["target_singular_value"].tolist() == [0.5, 1.0, 1.0, 1.0, 1.0]
    first = spectrum[(spectrum["replica"] == 0) & (spectrum["step"] == 40)]
    expected = np.concatenate(
        [singular_values(s.weights[-1, 0]) for s in snapshots.layers.values()]
    )
    np.testing.assert_allclose(first.sort_values("level")["singular_value"], expected)
    # The fit stage's clusters are the spectrum's, with or without snapshots.
    fit_settings = fit_stage.settings(experiment)
    from_table = fit_stage.analysed_clusters(spectrum, fit_settings)
    from_targets = fit_stage.analysed_clusters(spectrum.iloc[0:0], fit_settings)
    pd.testing.assert_frame_equal(from_table, from_targets, check_dtype=False)
    assert from_table["layer"].tolist() == [0, 0, 1]


def test_the_flow_picture_numbers_the_levels_of_the_layers_as_the_spectrum_does():
    frame = pd.DataFrame({"replica": [1, 0, 0, 1], "step": [5, 5, 5, 5], "layer": [0, 0, 1, 1]})
    weights = {0: np.stack([np.diag([3.0, 1.0]), np.diag([2.0, 1.0])]), 1: np.ones((2, 1, 1))}
    levels = flow_levels(frame, weights, "singular_value")
    assert levels["replica"].tolist() == [0, 1]
    np.testing.assert_allclose(levels[["level_0", "level_1", "level_2"]], [[1, 2, 1], [1, 3, 1]])


def test_a_simulate_table_written_before_layers_reads_as_layer_zero(tmp_path):
    """Tables of version 0.1 have no layer or init_width column: one matrix, no σ_W."""
    columns = {
        "replica": [0],
        "draw": [0],
        "step": [10],
        "rows": [2],
        "cols": [2],
        "weights": [[1.0, 0.0, 0.0, 1.0]],
        "learning_rate": [0.1],
        "batch_size": [8],
        "noise": [0.1],
        "temperature": pa.array([None], type=pa.float64()),
    }
    path = tmp_path / "old.parquet"
    pq.write_table(pa.table(columns), path)
    table = read_table(path, "simulate")
    assert table["layer"].tolist() == [0] and table["init_width"].isna().all()


def linear_theory(model: str, samples: int = 20000) -> pd.DataFrame:
    """The theory stage at α = 0.2, |B| = 8, ε = 0.1 for one N = 2 linear layer, injected."""
    common = {
        "noise_kind": "injected",
        "dataset": "online",
        "steps": 10,
        "replicas": 4,
        "theory": {"samples": samples},
        "sweep": [{"learning_rate": [0.2], "batch_size": [8], "noise": [0.1]}],
    }
    if model == "network":
        specific = {"layers": [2, 2], "activation": "identity", "teacher": [2.0, 2.0]}
    else:
        specific = {"size": 2, "teacher": [2.0, 2.0]}
    experiment = validated({"model": model, **common, **specific})
    point = {**MODELS[model].points("experiments.net", experiment)[0]}
    point.update(point="p", root_seed=7, point_seed=3)
    return theory_stage.table(theory_stage.settings(experiment, point), point)


def test_the_linearised_theory_of_one_linear_layer_is_the_linear_models_theory():
    network, linear = linear_theory("network"), linear_theory("teacher_student")
    assert (network["status"] == "ok").all()
    # Independent Monte-Carlo samples of the same law: 4σ over the six comparisons.
    tolerance = bonferroni_z(6)
    for prediction in ("exact", "continuum"):
        ours = network[network["prediction"] == prediction].iloc[0]
        exact = linear[linear["prediction"] == prediction].iloc[0]
        for name in ("mean_spacing", "sigma", "center"):
            error = np.hypot(ours[f"{name}_err"], exact[f"{name}_err"])
            assert abs(ours[name] - exact[name]) < tolerance * error, (prediction, name)


def test_without_noise_or_teacher_the_network_has_no_theory_and_says_why():
    quiet = validated(
        {**TWO_LAYERS, "noise_kind": "none", "sweep": [{"learning_rate": [0.1], "batch_size": [8]}]}
    )
    gaussian = validated({**TWO_LAYERS, "teacher": None})
    noisy = validated(TWO_LAYERS)
    assert [NETWORK.has_theory(e) for e in (quiet, gaussian, noisy)] == [False, False, True]
    assert "needs a given teacher" in NETWORK.labels(quiet).no_theory_reason
    switched_off = validated({**TWO_LAYERS, "linearised_theory": False})
    assert not NETWORK.has_theory(switched_off)
    assert "switched off" in NETWORK.labels(switched_off).no_theory_reason
    assert NETWORK.layer_targets(gaussian) == [(0, "auto"), (1, "auto")]


def test_the_cost_model_grows_with_replicas_steps_and_the_networks_size():
    experiment = validated(TWO_LAYERS)
    point = point_of(experiment)
    larger = validated({**TWO_LAYERS, "replicas": 60, "layers": [3, 400, 2], "teacher": None})
    assert NETWORK.work(larger, point) > 10 * NETWORK.work(experiment, point)
    assert NETWORK.memory_bytes(larger, point) > NETWORK.memory_bytes(experiment, point)
    assert NETWORK.weight_elements(experiment) == 4 * 3 + 2 * 4
