"""Configuration: schema and cross-key validation, the sweep's points, per-stage settings."""

import copy
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from sgd_dyson import check_config
from sgd_dyson.config import ConfigError, point_id, read_config_file, validate_config
from sgd_dyson.models import model_of
from sgd_dyson.models.teacher_student import TeacherStudentRun
from sgd_dyson.stages import fit as fit_stage
from sgd_dyson.stages import simulate as simulate_stage
from sgd_dyson.stages.sweep import experiment_table

REPOSITORY = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPOSITORY / "tests" / "configs" / "tiny.yaml"


def tiny() -> dict:
    return yaml.safe_load(TINY_CONFIG.read_text())


def error_for(edit) -> str:
    config = tiny()
    edit(config["experiments"]["paper"])
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    return str(error.value)


def test_the_default_test_and_preset_configs_are_valid():
    presets = sorted((REPOSITORY / "workflow" / "presets").glob("*.yaml"))
    assert presets
    for path in [REPOSITORY / "config.yaml", TINY_CONFIG, *presets]:
        validate_config(yaml.safe_load(path.read_text()))


def test_schema_defaults_and_derived_defaults_are_filled_in():
    experiment = validate_config(tiny())["experiments"]["paper"]
    assert experiment["noise_kind"] == "injected"
    assert experiment["fit"] == {"error_groups": 50, "surmise_bins": 20, "reference_samples": 20000}
    assert experiment["snapshot_every"] == experiment["burn_in"] == "final"
    model = model_of(experiment)
    assert model.snapshot_every(experiment) == experiment["steps"]
    assert model.burn_in(experiment) == experiment["steps"]


def with_dataset_size(experiment: dict, size: int, **changes) -> None:
    """Give the experiment a dataset of ``size`` samples instead of batches_per_epoch."""
    del experiment["batches_per_epoch"]
    experiment.update(dataset_size=size, **changes)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda e: e["sweep"][0].update(learning_rate=["1e-3"]),
            "experiments.paper.sweep[0].learning_rate[0]: '1e-3' is not of type 'number' "
            "(YAML reads 1e-3 as a string",
        ),
        (lambda e: e.update(model="mlp"), "experiments.paper.model: 'mlp' is not one of"),
        (lambda e: e.update(replicas=10.5), "experiments.paper.replicas: 10.5 is not of type"),
        (lambda e: e.update(sweep=[]), "experiments.paper.sweep: [] should be non-empty"),
        (lambda e: e.update(observable="eigs"), "experiments.paper.observable: 'eigs' is not"),
        (
            lambda e: e["sweep"][0].update(learning_rate=[0.0]),
            "experiments.paper.sweep[0].learning_rate[0]: 0.0 is less than or equal to",
        ),
        (
            lambda e: e["sweep"][0].update(learning_rate=[-0.1]),
            "experiments.paper.sweep[0].learning_rate[0]: -0.1 is less than or equal to",
        ),
        (
            lambda e: (
                e.update(dataset_size=12, batches_per_epoch=None) or e.pop("batches_per_epoch")
            ),
            "experiments.paper.sweep[0].batch_size has 16, larger than the dataset "
            "(experiments.paper.dataset_size = 12)",
        ),
        (
            lambda e: with_dataset_size(e, 100, dataset="online"),
            "experiments.paper.dataset_size is set but experiments.paper.dataset = online",
        ),
        (
            lambda e: e.update(dataset_size=100, batches_per_epoch=5),
            "experiments.paper sets both dataset_size and batches_per_epoch",
        ),
        (lambda e: e.update(stepz=3), "('stepz' was unexpected)"),
        (lambda e: e.update(teacher=[2.0]), "experiments.paper.teacher has 1 values but"),
        (
            lambda e: e["sweep"][1].update(batch_size=[8, 8]),
            "experiments.paper.sweep[1].batch_size lists a value twice",
        ),
        (lambda e: e.update(burn_in=10_000), "experiments.paper.burn_in = 10000 exceeds"),
        (lambda e: e.update(replicas=5), "experiments.paper.replicas = 5 gives fewer than two"),
        (lambda e: e.update(noise_kind="label"), "experiments.paper.noise_kind = label with"),
        (
            lambda e: e.update(model="dyson"),
            "('batch_size', 'learning_rate', 'noise' were unexpected)",
        ),
    ],
)
def test_invalid_settings_are_rejected_naming_the_key(edit, message):
    assert message in error_for(edit)


def test_dyson_targets_must_stay_far_above_the_thermal_width():
    config = tiny()
    config["experiments"]["dyson"]["sweep"] = [{"temperature": [0.1]}]
    with pytest.raises(ConfigError, match=r"experiments.dyson.target has 1.0, below 8 sqrt\(T\)"):
        validate_config(config)


def test_overlapping_grids_give_each_point_once_with_all_its_scans():
    config = validate_config(tiny())
    table = experiment_table("paper", config["experiments"]["paper"], config["seed"])
    assert table["point"].is_unique
    assert len(table) == 3  # {0.1, 0.2} × {16} ∪ {0.1} × {8, 16}
    shared = table.set_index("point").loc[
        point_id({"learning_rate": 0.1, "batch_size": 16, "noise": 0.1})
    ]
    assert list(shared["scans"]) == ["learning_rate scan", "batch_size scan"]
    assert (table["ratio"] == table["learning_rate"] / table["batch_size"]).all()


def test_a_point_keeps_its_seed_when_other_points_are_added():
    config = validate_config(tiny())
    before = experiment_table("paper", config["experiments"]["paper"], config["seed"])
    grown = copy.deepcopy(config["experiments"]["paper"])
    grown["sweep"].append({"learning_rate": [0.05], "batch_size": [4], "noise": [0.2]})
    after = experiment_table("paper", grown, config["seed"]).set_index("point")
    for point, seed in zip(before["point"], before["point_seed"], strict=True):
        assert after.loc[point, "point_seed"] == seed


def test_stage_settings_hold_only_what_the_stage_reads():
    config = validate_config(tiny())
    experiment = config["experiments"]["online"]
    point = experiment_table("online", experiment, config["seed"]).iloc[0].to_dict()
    settings = simulate_stage.settings(experiment, point)
    TeacherStudentRun(**settings)  # exactly the simulation's arguments
    # Plain SGD's settings have no optimizer key (`Model.run_settings`): runs before it.
    assert set(settings) >= {field.name for field in fields(TeacherStudentRun)} - {"optimizer"}
    assert "fit" not in settings and "observable" not in settings
    fit = fit_stage.settings(experiment)
    assert "steps" not in fit and "replicas" not in fit


def test_a_dataset_size_gives_each_batch_size_its_number_of_batches():
    config = tiny()
    del config["experiments"]["paper"]["batches_per_epoch"]
    config["experiments"]["paper"]["dataset_size"] = 100
    experiment = validate_config(config)["experiments"]["paper"]
    table = experiment_table("paper", experiment, config["seed"])
    batches = {
        point["batch_size"]: simulate_stage.settings(experiment, point)["batches_per_epoch"]
        for point in table.to_dict("records")
    }
    assert batches == {8: 12, 16: 6}  # the incomplete last batch is dropped


EXTERNAL = {"model": "external", "source": "w.parquet", "targets": "auto", "amplitude": "one"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e.pop("source"), "experiments.mine: 'source' is a required property"),
        (lambda e: e.update(amplitude="two"), "experiments.mine.amplitude: 'two' is not one of"),
        (lambda e: e.update(targets="guess"), "experiments.mine.targets: 'guess' is not valid"),
        (lambda e: e.update(observable="eigs"), "experiments.mine.observable: 'eigs' is not one"),
        (lambda e: e.update(steps=10), "('steps' was unexpected)"),
    ],
)
def test_invalid_external_settings_are_rejected_naming_the_key(edit, message):
    experiment = dict(EXTERNAL)
    edit(experiment)
    with pytest.raises(ConfigError) as error:
        validate_config({"experiments": {"mine": experiment}})
    assert message in str(error.value)


def test_external_experiments_use_every_snapshot_by_default():
    experiment = validate_config({"experiments": {"mine": dict(EXTERNAL)}})["experiments"]["mine"]
    assert experiment["burn_in"] == "auto" and experiment["cluster_separation"] == 3.0
    assert fit_stage.settings(experiment)["layers"] == [{"layer": 0, "targets": "auto"}]


def config_error(edit) -> str:
    """The `ConfigError` message of the tiny config after ``edit(config)``."""
    config = tiny()
    edit(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    return str(error.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["experiments"]["paper"]["sweep"][0].update(learning_rate=[float("nan")]),
            "config: experiments.paper.sweep[0].learning_rate[0]: nan is not a finite number",
        ),
        (
            lambda c: c["experiments"]["dyson"].update(time_step=float("inf")),
            "config: experiments.dyson.time_step: inf is not a finite number",
        ),
        (
            lambda c: c.update(checkpoint_every=float("-inf")),
            "config: checkpoint_every: -inf is not a finite number",
        ),
        (
            lambda c: (
                c["experiments"]["paper"]["fit"].update(error_groups=float("nan"))
                if "fit" in c["experiments"]["paper"]
                else c["experiments"]["paper"].update(fit={"error_groups": float("nan")})
            ),
            "config: experiments.paper.fit.error_groups: nan is not a finite number",
        ),
        (lambda c: c.update(seed=2**64), "config: seed: 18446744073709551616 is out of range"),
        (lambda c: c.update(seed=2**63), "config: seed: 9223372036854775808 is out of range"),
        (
            lambda c: c["experiments"]["online"]["sweep"][0].update(batch_size=[8, 2**70]),
            "config: experiments.online.sweep[0].batch_size[1]: 1180591620717411303424 is out "
            "of range",
        ),
        (
            lambda c: c["experiments"]["rbm"].update(replicas=1.0e3),
            "config: experiments.rbm.replicas: 1000.0 is not of type 'integer'",
        ),
        (
            lambda c: c["experiments"]["online"].update(steps=400.0),
            "config: experiments.online.steps: 400.0 is not of type 'integer'",
        ),
        (lambda c: c.update(results="../elsewhere"), "config: results: '../elsewhere' is not"),
        (lambda c: c.update(results="/tmp/results"), "config: results: '/tmp/results' is not"),
        (lambda c: c.update(results="."), "config: results: '.' is not a folder inside"),
        (
            lambda c: c.update(results="results/../../x"),
            "config: results: 'results/../../x' is not a folder inside",
        ),
        (
            lambda c: c["experiments"].update(logs=c["experiments"]["dyson"]),
            "config: experiments.logs: 'logs' is a folder of the results tree",
        ),
        (
            lambda c: c["experiments"].update(Dyson=c["experiments"]["dyson"]),
            "config: experiments.dyson: differs from experiments.Dyson only by case",
        ),
        (
            lambda c: c["experiments"].update({"../up": c["experiments"]["dyson"]}),
            "config: experiments: '../up' does not match",
        ),
    ],
)
def test_values_the_schema_would_accept_or_bend_are_rejected_naming_the_key(edit, message):
    assert message in config_error(edit)


def test_results_inside_the_working_directory_are_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for results in ["results", "out/results", "./results", str(tmp_path / "results")]:
        assert validate_config(tiny() | {"results": results})["results"] == results
    config = tiny()
    config["seed"] = 2**63 - 1  # the largest root seed the sweep table's int64 column holds
    validate_config(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: 7\nseed: 8\n", "line 2: key 'seed' given twice (first on line 1"),
        (
            "experiments:\n  a: {model: dyson}\n  b: {}\n  a: {}\n",
            "line 4: key 'a' given twice (first on line 2",
        ),
        ("results: yes\n", "line 1: 'yes' would be read as the boolean True"),
        ("results: off\n", "line 1: 'off' would be read as the boolean False"),
        ("seed: 010\n", "line 1: '010' would be read as the integer 8"),
        ("seed: 0x1F\n", "line 1: '0x1F' would be read as the integer 31"),
        ("checkpoint_every: 1:30\n", "line 1: '1:30' would be read as the integer 90"),
        ("seed: 1_000\n", "line 1: '1_000' would be read as the integer 1000"),
        ("checkpoint_every: 1_0.5\n", "line 1: '1_0.5' would be read as the number 10.5"),
        (
            "experiments:\n  a: {model: dyson\n",
            "line 3, column 1: not valid YAML: expected ',' or '}', but got '<stream end>' "
            "(while parsing a flow mapping that starts on line 2, column 6)",
        ),
        ("seed: 7\n  results: x\n", "line 2, column 10: not valid YAML"),
        ("- seed\n", "a config file holds a mapping of keys at its top level"),
    ],
)
def test_config_files_are_read_strictly_naming_file_and_line(text, message, tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        read_config_file(path)
    assert f"{path}, {message}" in str(error.value) or f"{path}: {message}" in str(error.value)


def test_the_repository_configs_read_strictly_as_yaml_reads_them():
    presets = sorted((REPOSITORY / "workflow" / "presets").glob("*.yaml"))
    for path in [REPOSITORY / "config.yaml", TINY_CONFIG, *presets]:
        assert read_config_file(path) == yaml.safe_load(path.read_text())


def test_the_config_checker_names_file_line_and_column_of_a_syntax_error(tmp_path, capsys):
    """What Snakemake's own parse of --configfile does not say (it runs before the workflow)."""
    path = tmp_path / "broken.yaml"
    path.write_text(TINY_CONFIG.read_text() + "  dyson: {model: dyson\n")
    lines = len(TINY_CONFIG.read_text().splitlines())
    assert check_config.main([str(path)]) == 1
    error = capsys.readouterr().err
    assert (
        f"sgd-dyson-check-config: error: {path}, line {lines + 2}, column 1: not valid YAML"
        in error
    )
    assert f"flow mapping that starts on line {lines + 1}, column 10" in error


def test_the_config_checker_merges_files_in_order_and_validates_the_result(tmp_path, capsys):
    override = tmp_path / "override.yaml"
    override.write_text("experiments:\n  dyson:\n    replicas: 0\n")
    assert check_config.main([str(TINY_CONFIG), str(override)]) == 1
    assert "experiments.dyson.replicas: 0 is less than the minimum of 2" in capsys.readouterr().err
    override.write_text("seed: 8\n")
    assert check_config.main([str(TINY_CONFIG), str(override)]) == 0
    printed = capsys.readouterr().out
    assert "valid; 9 experiment(s): paper (teacher_student, 3 points)" in printed
    assert printed.rstrip().endswith("wide (network, 1 point)")
    assert check_config.checked_config([str(TINY_CONFIG), str(override)])["seed"] == 8
