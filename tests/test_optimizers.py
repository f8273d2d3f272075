"""Optimisers: the update rules against textbook loops, and in the teacher–student and network
simulations (checkpoints, plain SGD unchanged, the config, the models' declarations)."""

import copy
from dataclasses import asdict, replace
from functools import cache

import numpy as np
import pytest
import yaml
from model_runs import TEACHER_STUDENT, model_of_run
from test_checkpoints import JobKilledError, KilledAfterSaves, assert_same_snapshots
from test_networks import BASE as NETWORK_BASE
from workflow_runs import TINY_CONFIG

from sgd_dyson import networks, optimizers
from sgd_dyson.config import ConfigError, validate_config
from sgd_dyson.models import MODELS
from sgd_dyson.models import teacher_student as teacher_student_module
from sgd_dyson.models.teacher_student import simulate
from sgd_dyson.network_data import step_elements
from sgd_dyson.simulation import Checkpoint

MOMENTUM = {"name": "momentum", "momentum": 0.9, "nesterov": False}
NESTEROV = {"name": "momentum", "momentum": 0.9, "nesterov": True}
ADAM = {"name": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1.0e-8}
ADAMW = {**ADAM, "name": "adamw", "weight_decay": 0.01}
LEARNING_RATE = 0.05
SHAPE = (5, 2, 3)  # replicas, then a weight matrix
STEPS = 6


def random_problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights ``SHAPE`` and ``STEPS`` gradients ``(STEPS, *SHAPE)``, entries N(0, 1)."""
    generator = np.random.default_rng(seed)
    return generator.standard_normal(SHAPE), generator.standard_normal((STEPS, *SHAPE))


def vectorised_steps(settings: dict, weights: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """The weights after every gradient, by the optimiser of ``settings`` on all replicas."""
    weights = weights.copy()
    optimizer = optimizers.optimizer_of(settings, LEARNING_RATE, weights.shape)
    for step, gradient in enumerate(gradients, start=1):
        optimizer.update(weights, gradient.copy(), step)
    return weights


# --- Reference loops: one replica at a time, the formulas as written -----------------------


def reference_sgd(settings, weights, gradients):
    final = []
    for replica in range(len(weights)):
        w = weights[replica]
        for gradient in gradients[:, replica]:
            w = w - LEARNING_RATE * gradient
        final.append(w)
    return np.array(final)


def reference_momentum(settings, weights, gradients):
    """PyTorch's SGD with momentum β: ``V ← βV + g``; ``W ← W − αV`` or ``W − α(g + βV)``."""
    beta = settings["momentum"]
    final = []
    for replica in range(len(weights)):
        w, velocity = weights[replica], np.zeros(SHAPE[1:])
        for gradient in gradients[:, replica]:
            velocity = beta * velocity + gradient
            step = gradient + beta * velocity if settings["nesterov"] else velocity
            w = w - LEARNING_RATE * step
        final.append(w)
    return np.array(final)


def reference_adam(settings, weights, gradients):
    """Kingma & Ba's Algorithm 1, after AdamW's decay ``W ← W(1 − αλ)`` (λ = 0: Adam)."""
    beta1, beta2, epsilon = settings["beta1"], settings["beta2"], settings["epsilon"]
    decay = settings.get("weight_decay", 0.0)
    final = []
    for replica in range(len(weights)):
        w, first, second = weights[replica], np.zeros(SHAPE[1:]), np.zeros(SHAPE[1:])
        for t, gradient in enumerate(gradients[:, replica], start=1):
            w = w * (1 - LEARNING_RATE * decay)
            first = beta1 * first + (1 - beta1) * gradient
            second = beta2 * second + (1 - beta2) * gradient**2
            corrected_first = first / (1 - beta1**t)
            corrected_second = second / (1 - beta2**t)
            w = w - LEARNING_RATE * corrected_first / (np.sqrt(corrected_second) + epsilon)
        final.append(w)
    return np.array(final)


RULES = {
    "sgd": ({"name": "sgd"}, reference_sgd),
    "momentum": (MOMENTUM, reference_momentum),
    "nesterov": (NESTEROV, reference_momentum),
    "adam": (ADAM, reference_adam),
    "adamw": ({**ADAMW, "weight_decay": 0.5}, reference_adam),  # a decay that shows
}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_matches_its_per_replica_reference_loop(rule):
    settings, reference = RULES[rule]
    weights, gradients = random_problem(seed=11)
    expected = reference(settings, weights, gradients)
    # Round-off only: the vectorised rules order some products differently.
    np.testing.assert_allclose(vectorised_steps(settings, weights, gradients), expected, rtol=1e-12)
    assert not np.allclose(expected, weights, rtol=0.1)  # the steps moved the weights


def test_plain_sgd_is_exactly_the_loops_former_operations():
    weights, gradients = random_problem(seed=12)
    expected = weights.copy()
    for gradient in gradients:
        scaled = gradient * LEARNING_RATE
        expected -= scaled
    np.testing.assert_array_equal(vectorised_steps({"name": "sgd"}, weights, gradients), expected)


def test_adams_bias_correction_makes_the_first_step_alpha_in_every_entry():
    """At t = 1, ``m̂ = g`` and ``√v̂ = |g|``: the step is ``α g/(|g| + ε)`` ≈ ``α sign(g)``."""
    weights, gradients = random_problem(seed=13)
    moved = vectorised_steps(ADAM, weights, gradients[:1]) - weights
    step = LEARNING_RATE * gradients[0] / (np.abs(gradients[0]) + ADAM["epsilon"])
    np.testing.assert_allclose(moved, -step, rtol=1e-12)


def test_adamw_without_gradients_decays_the_weights_by_one_minus_alpha_lambda_per_step():
    weights, gradients = random_problem(seed=14)
    decayed = vectorised_steps(ADAMW, weights, np.zeros_like(gradients))
    factor = (1 - LEARNING_RATE * ADAMW["weight_decay"]) ** STEPS
    np.testing.assert_allclose(decayed, weights * factor, rtol=1e-14)


@pytest.mark.parametrize("settings", [MOMENTUM, ADAM], ids=["momentum", "adam"])
def test_reset_zeroes_the_state_of_the_masked_replicas_only(settings):
    weights, gradients = random_problem(seed=15)
    optimizer = optimizers.optimizer_of(settings, LEARNING_RATE, SHAPE)
    for step, gradient in enumerate(gradients, start=1):
        optimizer.update(weights, gradient, step)
    before = {name: array.copy() for name, array in optimizer.state.items()}
    reset = np.array([False, True, False, True, False])
    optimizer.reset(reset)
    for name, array in optimizer.state.items():
        assert np.all(array[reset] == 0.0)
        np.testing.assert_array_equal(array[~reset], before[name][~reset])
        assert np.all(before[name][reset] != 0.0)


def test_optimisers_hold_their_state_arrays():
    assert [optimizers.held_arrays(s) for s in (None, MOMENTUM, ADAM, ADAMW)] == [0, 1, 3, 3]
    assert set(optimizers.optimizer_of(ADAM, 0.1, SHAPE).state) == {"first_moment", "second_moment"}
    with pytest.raises(ValueError, match="optimizer: adam takes the fields"):
        optimizers.optimizer_of({**ADAM, "momentum": 0.9}, 0.1, SHAPE)
    with pytest.raises(ValueError, match="optimizer.name = 'lion' is not one of"):
        optimizers.optimizer_of({"name": "lion"}, 0.1, SHAPE)


# --- The simulations -------------------------------------------------------------------------

TS_LONG = replace(TEACHER_STUDENT, steps=300)  # enough chunks for three saves before the end
TEACHER_STUDENT_CASES = {
    # Replicas diverge before and after the kill: their reset velocity is checkpointed too.
    "momentum, some diverge": replace(
        TS_LONG, optimizer=MOMENTUM | {"momentum": 0.5}, learning_rate=0.6, batch_size=1
    ),
    "nesterov, per-replica data": replace(TS_LONG, optimizer=NESTEROV, dataset="per_replica"),
    # The paper protocol with injected noise, the composed path's case, replayed every epoch.
    "adam, paper protocol": replace(TS_LONG, optimizer=ADAM, dataset="paper", dataset_draws=2),
    "adamw, label noise": replace(TS_LONG, optimizer=ADAMW, noise_kind="label"),
}
NETWORK_CASES = {
    "momentum": replace(NETWORK_BASE, optimizer=MOMENTUM, steps=100, snapshot_every=50),
    "adam": replace(NETWORK_BASE, optimizer=ADAM, steps=100, snapshot_every=50),
}


def killed_and_resumed(simulate_run, run, saves: int, path):
    """``(resumed, uninterrupted)`` snapshots of ``run``, killed after ``saves`` saves."""
    with pytest.raises(JobKilledError):
        simulate_run(run, KilledAfterSaves(path, saves))
    saved, _ = Checkpoint(path, fingerprint="run", interval=1e9).load()
    assert set(optimizers.OPTIMIZERS[run.optimizer["name"]].state_names) <= set(saved)
    resumed = simulate_run(run, Checkpoint(path, fingerprint="run", interval=1e9))
    return resumed, simulate_run(run)


@pytest.mark.parametrize("saves", [1, 3])
@pytest.mark.parametrize("case", TEACHER_STUDENT_CASES)
def test_a_killed_teacher_student_run_resumes_to_identical_snapshots(case, saves, tmp_path):
    run = TEACHER_STUDENT_CASES[case]
    resumed, uninterrupted = killed_and_resumed(simulate, run, saves, tmp_path / "point.npz")
    assert_same_snapshots(resumed, uninterrupted)


def test_the_diverging_momentum_case_diverges_before_and_after_the_kill():
    run = TEACHER_STUDENT_CASES["momentum, some diverge"]
    early = simulate(replace(run, steps=50, snapshot_every=50)).diverged_replicas
    assert 0 < early < simulate(run).diverged_replicas < run.replicas


@pytest.mark.parametrize("saves", [1, 3])
@pytest.mark.parametrize("case", NETWORK_CASES)
def test_a_killed_network_run_resumes_to_identical_snapshots(case, saves, tmp_path, monkeypatch):
    run = NETWORK_CASES[case]
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 9 * step_elements(run))
    resumed, uninterrupted = killed_and_resumed(
        networks.simulate, run, saves, tmp_path / "point.npz"
    )
    for one, other in zip(resumed, uninterrupted, strict=True):
        assert_same_snapshots(one, other)
    plain = networks.simulate(replace(run, optimizer=None))
    assert not np.allclose(plain[0].weights, uninterrupted[0].weights)  # the rule took effect


def test_adams_teacher_student_run_does_not_depend_on_how_steps_are_chunked(monkeypatch):
    """The bias correction reads the run's step count, not the step within a chunk."""
    run = TEACHER_STUDENT_CASES["adamw, label noise"]
    default_chunks = simulate(run)
    per_step = run.replicas * (2 * run.size) ** 2  # label noise: the moments of [x; ξ]
    monkeypatch.setattr(teacher_student_module, "CHUNK_ELEMENTS", 7 * per_step)
    assert_same_snapshots(simulate(run), default_chunks)  # 7-step chunks


def test_adams_network_run_does_not_depend_on_how_steps_are_chunked(monkeypatch):
    run = NETWORK_CASES["adam"]
    default_chunks = networks.simulate(run)
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 7 * step_elements(run))
    for one, other in zip(networks.simulate(run), default_chunks, strict=True):
        assert_same_snapshots(one, other)


def test_the_composed_fast_path_runs_plain_sgd_only(monkeypatch):
    def refuse(*arguments, **keywords):
        raise AssertionError("composed")

    monkeypatch.setattr(teacher_student_module, "composed_steps", refuse)
    run = TEACHER_STUDENT_CASES["adam, paper protocol"]
    simulate(run)  # Adam takes one step at a time
    with pytest.raises(AssertionError, match="composed"):
        simulate(replace(run, optimizer=None))


# --- Plain SGD is unchanged ------------------------------------------------------------------


@cache
def validated_tiny_experiments() -> dict:
    return validate_config(yaml.safe_load(TINY_CONFIG.read_text()))["experiments"]


def tiny_experiments() -> dict:
    """The experiments of tests/configs/tiny.yaml, validated (a copy to edit)."""
    return copy.deepcopy(validated_tiny_experiments())


def sgd_trained(experiments: dict) -> dict:
    return {
        name: experiment
        for name, experiment in experiments.items()
        if experiment["model"] in ("teacher_student", "network")
    }


def first_point(name: str, experiment: dict) -> dict:
    point = MODELS[experiment["model"]].points(f"experiments.{name}", experiment)[0]
    return {**point, "root_seed": 7, "point_seed": 3}


def test_plain_sgd_run_settings_have_no_optimizer_key_and_other_optimisers_do():
    experiments = sgd_trained(tiny_experiments())
    assert {experiment["model"] for experiment in experiments.values()} == {
        "teacher_student",
        "network",
    }
    # The tiny study's SGD experiments have no optimizer key: the schema's default.
    experiments = {name: e for name, e in experiments.items() if e["optimizer"]["name"] == "sgd"}
    assert len(experiments) >= 4
    for name, experiment in experiments.items():
        model, point = MODELS[experiment["model"]], first_point(name, experiment)
        assert experiment["optimizer"] == {"name": "sgd"}
        assert "optimizer" not in model.run_settings(experiment, point)
        settings = model.run_settings({**experiment, "optimizer": ADAM}, point)
        assert settings["optimizer"] == ADAM


@pytest.mark.parametrize(
    "run",
    [replace(TEACHER_STUDENT, dataset="paper"), replace(NETWORK_BASE, steps=40)],
    ids=["teacher_student", "network"],
)
def test_optimizer_sgd_gives_the_snapshots_of_a_run_without_the_key(run):
    model, settings = model_of_run(run), asdict(run)
    del settings["optimizer"]
    without = model.simulate(settings)
    with_sgd = model.simulate({**settings, "optimizer": {"name": "sgd"}})
    for one, other in zip(without.by_layer().values(), with_sgd.by_layer().values(), strict=True):
        assert_same_snapshots(one, other)


@pytest.mark.parametrize(
    ("protocol", "exact"),
    [({"dataset": "online", "noise_kind": "label"}, True), ({"dataset": "paper"}, False)],
    ids=["online label noise, same operations", "paper protocol, composed SGD"],
)
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_zero_gives_sgds_numbers(protocol, exact, nesterov):
    """``V ← 0·V + g = g`` exactly; the paper protocol's SGD composes its steps (round-off)."""
    run = replace(TEACHER_STUDENT, **protocol)
    sgd = simulate(run).weights
    momentum = simulate(
        replace(run, optimizer={"name": "momentum", "momentum": 0.0, "nesterov": nesterov})
    ).weights
    if exact:
        np.testing.assert_array_equal(momentum, sgd)
    else:
        np.testing.assert_allclose(momentum, sgd, rtol=0, atol=1e-12)  # weights are O(1)


def test_adam_without_noise_converges_to_the_teacher():
    """No noise: the gradient ``(W − W*) Ĉ`` vanishes at the teacher, and Adam gets there.

    From a distance ~2 the error falls by orders of magnitude per snapshot
    (measured: 3e-10 at step 500, 2e-15 at step 1000); 1e-10 at the end is
    far from both the start and a stalled run.
    """
    teacher = (2.0, 1.0)
    run = replace(
        TEACHER_STUDENT,
        teacher=teacher,
        noise=0.0,
        optimizer=ADAM,
        learning_rate=0.03,
        steps=1000,
        snapshot_every=250,
    )
    snapshots = simulate(run)
    errors = np.abs(snapshots.weights - np.diag(teacher)).max(axis=(1, 2, 3))
    assert snapshots.diverged_replicas == 0
    assert np.all(np.diff(errors) < 0)
    assert errors[-1] < 1e-10


# --- The config and the models' declarations ---------------------------------------------------


def teacher_student_experiment(**changes) -> dict:
    return {**tiny_experiments()["online"], **changes}


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        ({"name": "lion"}, "experiments.ts.optimizer.name: 'lion' is not one of"),
        ({"name": "momentum", "momentum": 1.0}, "experiments.ts.optimizer.momentum: 1.0 is"),
        ({"name": "momentum", "beta1": 0.9}, "experiments.ts.optimizer: Additional properties"),
        ({"name": "adam", "weight_decay": 0.1}, "('weight_decay' was unexpected)"),
        ({"name": "sgd", "momentum": 0.9}, "('momentum' was unexpected)"),
        ({"name": "adam", "beta2": 1.0}, "experiments.ts.optimizer.beta2: 1.0 is"),
        ({"name": "adamw", "epsilon": 0.0}, "experiments.ts.optimizer.epsilon: 0.0 is"),
        ({"name": "adamw", "weight_decay": -0.1}, "experiments.ts.optimizer.weight_decay: -0.1"),
        ({"momentum": 0.9}, "experiments.ts.optimizer: 'name' is a required property"),
    ],
)
def test_a_bad_optimizer_is_a_config_error_naming_the_key(optimizer, message):
    experiment = {
        "model": "teacher_student",
        "size": 2,
        "teacher": [2.0, 2.0],
        "steps": 10,
        "replicas": 4,
        "optimizer": optimizer,
        "sweep": [{"learning_rate": [0.1], "batch_size": [8], "noise": [0.1]}],
    }
    with pytest.raises(ConfigError) as error:
        validate_config({"experiments": {"ts": experiment}})
    assert message in str(error.value)


@pytest.mark.parametrize("name", ["rbm", "dyson"])
def test_models_not_trained_by_sgd_have_no_optimizer(name):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["experiments"] = {name: {**config["experiments"][name], "optimizer": {"name": "sgd"}}}
    with pytest.raises(ConfigError, match=rf"experiments.{name}: .*'optimizer' was unexpected"):
        validate_config(config)
    external = {"model": "external", "source": "w.parquet", "targets": "auto", "amplitude": "one"}
    with pytest.raises(ConfigError, match="'optimizer' was unexpected"):
        validate_config({"experiments": {"mine": {**external, "optimizer": {"name": "sgd"}}}})


def test_the_schema_fills_in_each_optimisers_own_defaults_only():
    experiments = validate_config(
        {
            "experiments": {
                name: teacher_student_experiment(optimizer={"name": name})
                for name in ("momentum", "adam", "adamw")
            }
        }
    )["experiments"]
    assert experiments["momentum"]["optimizer"] == MOMENTUM
    assert experiments["adam"]["optimizer"] == ADAM
    assert experiments["adamw"]["optimizer"] == ADAMW


def test_other_optimisers_are_named_in_the_labels_and_have_no_theory_or_continuum():
    model = MODELS["teacher_student"]
    sgd, adam = teacher_student_experiment(), teacher_student_experiment(optimizer=ADAM)
    assert model.has_theory(sgd) and model.continuum(sgd) == "coulomb_gas"
    assert not model.has_theory(adam) and model.continuum(adam) is None
    labels = model.labels(adam)
    assert "online dataset, Adam (β1 0.9, β2 0.999, ε 1e-08), 100 replicas" in labels.description
    assert labels.theory_note == "" and "plain SGD's" in labels.no_theory_reason
    assert "Nesterov momentum 0.9" in model.labels({**sgd, "optimizer": NESTEROV}).description
    assert model.labels(sgd) == model.labels({key: sgd[key] for key in sgd if key != "optimizer"})
    network = sgd_trained(tiny_experiments())["network"]
    assert MODELS["network"].has_theory(network)
    network_adamw = {**network, "optimizer": ADAMW}
    assert not MODELS["network"].has_theory(network_adamw)
    assert "AdamW (β1 0.9, β2 0.999, ε 1e-08, weight decay 0.01)" in (
        MODELS["network"].labels(network_adamw).description
    )


@pytest.mark.parametrize(("optimizer", "arrays"), [(MOMENTUM, 1), (ADAM, 3)])
def test_memory_estimates_count_the_optimisers_arrays(optimizer, arrays):
    model, sgd = MODELS["teacher_student"], teacher_student_experiment()
    point = first_point("online", sgd)
    weights = sgd["replicas"] * sgd["size"] ** 2
    extra = model.memory_bytes({**sgd, "optimizer": optimizer}, point) - model.memory_bytes(
        sgd, point
    )
    assert extra == 8 * arrays * weights
