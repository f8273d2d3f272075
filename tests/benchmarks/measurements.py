"""The measurements, each run by benchmark.py in a fresh subprocess of its own.

Every public function here is one ``--part`` of benchmark.py and returns a
JSON-serialisable dict. They time only the call being measured: imports and
building the settings happen before the clock starts.

Import this module after putting ``workflow/`` on ``sys.path`` (benchmark.py does).
"""

import cProfile
import io
import pstats
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from statistics import NormalDist
from types import ModuleType

import numpy as np
from cases import (
    CASES,
    SAMPLER_STEPS,
    SCALING_AXES,
    SEED,
    Case,
    scaling_experiment,
    scaling_point,
)
from reference_loops import (
    LoopRun,
    gaussian_rbm_loop,
    loop_optimizer,
    network_loop,
    teacher_student_loop,
)
from rng_floor import FLOORS, network_product_floor, network_products

import sgd_dyson
from sgd_dyson import networks, optimizers, seeding, simulation
from sgd_dyson.config import validate_config
from sgd_dyson.models import MODELS, gaussian_rbm, teacher_student
from sgd_dyson.models.base import run_of
from sgd_dyson.spectra import gram_eigenvalues, singular_values
from sgd_dyson.stages import simulate as simulate_stage
from sgd_dyson.stages.sweep import experiment_table

LOOP_SEED = 12345
"""Seed of the reference loops' generator (independent of the package's streams)."""

FOUR_SIGMA_TAIL = 2 * NormalDist().cdf(-4.0)
"""Two-sided probability beyond 4 standard errors, ~6e-5: the checks' false-failure rate."""


def workflow_settings(name: str, experiment: dict) -> tuple[str, dict]:
    """The model and the run settings of the experiment's only point, built as the workflow does.

    Validation fills the schema's defaults; the point's row of the sweep table
    carries the seeds; `stages.simulate.settings` turns both into the model's
    run-class fields (what the ``simulate`` rule passes to `Model.simulate`).
    """
    config = validate_config({"seed": SEED, "experiments": {name: deepcopy(experiment)}})
    validated = config["experiments"][name]
    point = experiment_table(name, validated, config["seed"]).iloc[0].to_dict()
    return validated["model"], simulate_stage.settings(validated, point)


def case_settings(case: Case, changes: dict | None = None) -> tuple[str, dict]:
    """`workflow_settings` of a case, with ``changes`` to its experiment."""
    return workflow_settings(case.name, {**case.experiment, **(changes or {})})


def replica_steps(settings: dict) -> int:
    return settings["replicas"] * settings["steps"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


REPEAT_BUDGET = 2.0
"""Seconds a timing may spend on repeats: short calls are repeated, long ones run once."""

MAX_REPEATS = 5


def timed(function: Callable, *args) -> tuple[float, int, object]:
    """The fastest wall-clock time of ``function(*args)``, the number of calls, the first result.

    Calls again while the calls so far took less than `REPEAT_BUDGET` seconds
    (at most `MAX_REPEATS` calls): the fastest of several is the least
    disturbed by the machine's other work, and a long call needs no repeat.
    """
    start = time.perf_counter()
    result = function(*args)
    times = [time.perf_counter() - start]
    while len(times) < MAX_REPEATS and sum(times) < REPEAT_BUDGET:
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times), len(times), result


# --- Our simulate, the loop and the floor -----------------------------------------------


def ours(case_name: str) -> dict:
    """Time `Model.simulate` on the case, as the ``simulate`` rule runs it (no checkpoint)."""
    model, settings = case_settings(CASES[case_name])
    memory_before = peak_rss_mb()  # Python, NumPy, pandas and Snakemake's validator
    seconds, calls, snapshots = timed(MODELS[model].simulate, settings)
    return {
        "seconds": seconds,
        "calls": calls,
        "replica_steps": replica_steps(settings),
        "steps": settings["steps"],
        "replicas": settings["replicas"],
        "diverged_replicas": snapshots.diverged_replicas,
        "rss_before_mb": memory_before,
        "peak_rss_mb": peak_rss_mb(),
    }


def hidden_layer(settings: dict) -> np.ndarray | None:
    """The model's fixed hidden layer ``Z`` for the loop: the same matrix the package uses."""
    if settings.get("hidden") is None:
        return None
    return teacher_student.hidden_matrix(settings["hidden"], settings["root_seed"])


def run_loop(model: str, settings: dict, replicas: int) -> LoopRun:
    """The model's reference loop on ``replicas`` replicas of the point ``settings``."""
    if model == "teacher_student":
        return teacher_student_loop(settings, replicas, LOOP_SEED, hidden_layer(settings))
    if model == "network":
        return network_loop(settings, replicas, LOOP_SEED)
    return gaussian_rbm_loop(settings, replicas, LOOP_SEED)


def loop(case_name: str, replicas: int | None = None) -> dict:
    """Time the reference loop on a subset of the case's replicas.

    Each replica is trained on its own, so the cost is linear in the
    replicas: the benchmark scales the rate measured on the subset.
    """
    case = CASES[case_name]
    model, settings = case_settings(case)
    replicas = replicas or case.loop_replicas
    seconds, calls, _ = timed(run_loop, model, settings, replicas)
    return {
        "seconds": seconds,
        "calls": calls,
        "replicas": replicas,
        "steps": settings["steps"],
        "replica_steps": replicas * settings["steps"],
    }


def floor(case_name: str) -> dict:
    """Time the floor of the case (`rng_floor`): its random numbers, or the network's products.

    The network's floor times only `rng_floor.network_product_floor`; its
    ``numbers`` are those the engine draws, counted while its arrays are built.
    """
    model, settings = case_settings(CASES[case_name])
    if model == "network":
        with counted_draws() as counts:
            products = network_products(settings)
        seconds, calls, _ = timed(network_product_floor, products)
        numbers, kind = sum(counts.values()), "products"
    else:
        seconds, calls, drawn = timed(FLOORS[model], settings)
        numbers, kind = drawn.numbers, "random numbers"
    return {
        "seconds": seconds,
        "calls": calls,
        "replica_steps": replica_steps(settings),
        "numbers": numbers,
        "kind": kind,
    }


PAIRED_CALLS = 5
"""Calls of each simulate in `sgd_ratio`, alternating."""


def fastest_alternating(runs: dict[str, tuple[str, dict]], calls: int) -> dict[str, float]:
    """Seconds of the fastest of ``calls`` calls of each ``(model, settings)`` in ``runs``.

    One process, the calls alternating in the order A B, B A, A B, … so that neither
    is always first: the machine's load varies over seconds, and this way all see
    the same load, so their ratio does not depend on when each was measured.
    """
    seconds = {name: float("inf") for name in runs}
    for call in range(calls):
        for name in list(runs) if call % 2 == 0 else list(runs)[::-1]:
            model, settings = runs[name]
            start = time.perf_counter()
            MODELS[model].simulate(settings)
            seconds[name] = min(seconds[name], time.perf_counter() - start)
    return seconds


def sgd_ratio(case_name: str) -> dict:
    """Time our simulate on an optimiser case and on its plain-SGD twin, alternately
    (`fastest_alternating`, `PAIRED_CALLS` each): the cost of the optimiser."""
    case = CASES[case_name]
    runs = {name: case_settings(CASES[name]) for name in (case.sgd_baseline, case.name)}
    seconds = fastest_alternating(runs, PAIRED_CALLS)
    return {
        "sgd_seconds": seconds[case.sgd_baseline],
        "seconds": seconds[case.name],
        "calls": PAIRED_CALLS,
    }


SAMPLER_ROUNDS = 3
"""Rounds of the sampler comparison: the samplers alternate, the fastest round of each counts."""


def gibbs_samplers(case_name: str) -> dict:
    """Time the case's update with each Gibbs sampler at the |B| of its `SamplerComparison`s.

    In one process: for each |B|, the case's point (same replicas, seeds and
    settings) with ``gibbs_sampler: sweeps`` and ``transition``, `SAMPLER_STEPS`
    updates each, final snapshot only, timed by `fastest_alternating` over
    `SAMPLER_ROUNDS` rounds. Time per update: the whole `Model.simulate`
    (chains, ascent step, divergence checks) over its updates.
    """
    case = CASES[case_name]
    rows = []
    for comparison in case.sampler_comparisons:
        changes = {
            "steps": SAMPLER_STEPS,
            "snapshot_every": "final",
            "burn_in": "final",
            "sweep": [{"learning_rate": [0.1], "batch_size": [comparison.batch_size]}],
        }
        runs = {
            sampler: case_settings(case, {**changes, "gibbs_sampler": sampler})
            for sampler in ("sweeps", "transition")
        }
        seconds = fastest_alternating(runs, SAMPLER_ROUNDS)
        rows.append(
            {
                "batch_size": comparison.batch_size,
                "replicas": runs["transition"][1]["replicas"],
                "steps": SAMPLER_STEPS,
                "seconds": seconds,
                "speed_up": seconds["sweeps"] / seconds["transition"],
                "minimum_speed_up": comparison.minimum_speed_up,
            }
        )
    return {"rounds": SAMPLER_ROUNDS, "rows": rows}


# --- Consistency checks -----------------------------------------------------------------


@contextmanager
def recorded_streams(modules: tuple[ModuleType, ...]) -> Iterator[list]:
    """Every `seeding.ReplicaStream` that ``modules`` create inside the block, with its kinds.

    Swaps each module's ``ReplicaStream`` for a subclass that remembers its
    instances, and puts the originals back afterwards.
    """
    created = []

    class RecordedStream(seeding.ReplicaStream):
        def __init__(self, root_seed, point_key, replicas_per_draw, streams):
            super().__init__(root_seed, point_key, replicas_per_draw, streams)
            created.append((tuple(streams), self))

    originals = [(module, module.ReplicaStream) for module in modules]
    for module in modules:
        module.ReplicaStream = RecordedStream
    try:
        yield created
    finally:
        for module, original in originals:
            module.ReplicaStream = original


def network_teacher_levels(settings: dict, draw: np.ndarray) -> np.ndarray:
    """Singular values, ascending, of the teacher's learnable matrix of each draw in ``draw``."""
    teacher = networks.quenched(run_of(networks.NetworkRun, settings)).teacher[0]
    return singular_values(teacher)[draw]


def compare_products(settings: dict) -> dict:
    """Whether the network's floor multiplies what one step of the engine multiplies.

    With the activations and the loss left out, the floor's products are the
    gradients of a linear network of the same matrices with zero labels, times
    ``|B|`` (`rng_floor.network_product_floor`): the engine's
    `networks.loss_and_gradients` must give them to rounding (relative 1e-12).
    """
    products = network_products({**settings, "steps": 1})
    linear = ("identity",) * len(products.trained)
    features = products.features[0]
    _, expected = networks.loss_and_gradients(
        products.trained,
        linear,
        products.learnable,
        features,
        np.zeros((*features.shape[:-1], products.trained[-1].shape[-2])),
    )
    floor_gradients = network_product_floor(products)
    error = max(
        float(np.abs(got / features.shape[-2] - want).max() / np.abs(want).max())
        for got, want in zip(floor_gradients, expected, strict=True)
    )
    return {"kind": "products", "relative_error": error, "matches": error < 1e-12}


MODEL_MODULES = {
    "teacher_student": (teacher_student, simulation),
    "gaussian_rbm": (gaussian_rbm, simulation),
}
"""The modules whose `seeding.ReplicaStream` a model's simulation creates: its own, and
`simulation` (the initial weights, `simulation.gaussian_initial_weights`)."""


def levels_and_centres(
    model: str, settings: dict, weights: np.ndarray, teacher_levels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Levels of final weights ``(replicas, rows, cols)``, ascending, and where they should sit.

    Teacher–student: the singular values of ``W`` and the teacher's; network:
    those of ``W`` and of each replica's own teacher, ``teacher_levels``
    ``(replicas, levels)``; Gaussian RBM: the eigenvalues of ``X = WᵀW`` and
    their targets ``x*``.
    """
    if model == "teacher_student":
        return singular_values(weights), np.sort(settings["teacher"])
    if model == "network":
        return singular_values(weights), teacher_levels
    centres = gaussian_rbm.target_gram_eigenvalues(
        settings["size"], settings["mass"], settings["field_mass"], settings["hidden_std"]
    )
    return gram_eigenvalues(weights), centres


def independent_mean(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over replicas of ``values`` ``(replicas, k)``, and its standard error.

    The error comes from the scatter of the group means: replicas that share
    a dataset draw are correlated, the draws are independent (with one group
    per replica when every replica has its own data).
    """
    labels = np.unique(groups)
    means = np.stack([values[groups == label].mean(axis=0) for label in labels])
    return means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(len(labels))


def level_statistics(levels: np.ndarray, centres: np.ndarray, groups: np.ndarray) -> dict:
    """Mean of each level, and its mean squared deviation from its centre, with errors."""
    mean, mean_error = independent_mean(levels, groups)
    square, square_error = independent_mean((levels - centres) ** 2, groups)
    return {"mean": mean, "mean_se": mean_error, "msd": square, "msd_se": square_error}


def bonferroni_z(comparisons: int) -> float:
    """z per comparison that keeps ``comparisons`` tests at one 4σ test's false-failure rate."""
    return NormalDist().inv_cdf(1.0 - FOUR_SIGMA_TAIL / (2 * comparisons))


def compare_levels(ours_stats: dict, loop_stats: dict) -> list[dict]:
    """One row per level: both means and spreads (RMS deviation), and their z-scores."""
    rows = []
    for level in range(len(ours_stats["mean"])):
        row = {"level": level + 1}
        for name in ("mean", "msd"):
            a, b = ours_stats[name][level], loop_stats[name][level]
            a_se, b_se = ours_stats[f"{name}_se"][level], loop_stats[f"{name}_se"][level]
            row[f"ours_{name}"], row[f"ours_{name}_se"] = float(a), float(a_se)
            row[f"loop_{name}"], row[f"loop_{name}_se"] = float(b), float(b_se)
            row[f"z_{name}"] = float((a - b) / np.hypot(a_se, b_se))
        rows.append(row)
    return rows


class CountingGenerator:
    """A `numpy.random.Generator` that adds the size of every array it draws to ``counts``.

    ``counts`` is keyed by the method (``standard_normal``, ``chisquare``, …);
    everything else (e.g. ``bit_generator``) is the wrapped generator's.
    """

    def __init__(self, generator: np.random.Generator, counts: Counter):
        self._generator, self._counts = generator, counts

    def __getattr__(self, name: str):
        attribute = getattr(self._generator, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            drawn = attribute(*args, **kwargs)
            self._counts[name] += np.size(drawn)
            return drawn

        return counted


@contextmanager
def counted_draws() -> Iterator[Counter]:
    """Count the numbers drawn, by distribution, from generators made inside the block.

    Every generator of the package and of the floor comes from
    `numpy.random.default_rng`, which is swapped for one returning a
    `CountingGenerator` (and put back afterwards).
    """
    counts = Counter()
    make_generator = np.random.default_rng

    def counting_default_rng(*args, **kwargs):
        return CountingGenerator(make_generator(*args, **kwargs), counts)

    np.random.default_rng = counting_default_rng
    try:
        yield counts
    finally:
        np.random.default_rng = make_generator


def compare_floor(model: str, settings: dict) -> dict:
    """Draw counts by distribution of our simulate and of the floor, and whether they match.

    They match if both draw as many numbers of every distribution, and the
    floor leaves every per-replica generator in the state our simulate
    leaves it (so the same numbers, in the same streams).
    """
    with counted_draws() as ours_counts, recorded_streams(MODEL_MODULES[model]) as recorded:
        MODELS[model].simulate(settings)
    with counted_draws() as floor_counts:
        drawn = FLOORS[model](settings)
    ours_states = {kinds: stream.get_state() for kinds, stream in recorded}
    floor_states = {kinds: group.get_state() for kinds, group in drawn.streams.items()}
    return {
        "ours_counts": dict(ours_counts),
        "floor_counts": dict(floor_counts),
        "states_match": ours_states == floor_states,
        "matches": ours_counts == floor_counts and ours_states == floor_states,
    }


RULE_STEPS, RULE_REPLICAS = 50, 4
"""Length and width of the gradient sequence on which `compare_update_rules` runs both rules."""


def compare_update_rules(settings: dict) -> dict:
    """Whether the loop's update rule (`reference_loops.loop_optimizer`) is our optimiser's.

    From the same weights, on the same `RULE_STEPS` gradients (entries N(0, 1),
    fixed seed) of `RULE_REPLICAS` replicas of the point's shape: our optimiser
    (`optimizers.optimizer_of`, every replica at once) and the loop's rule (one
    replica at a time) must end at the same weights to rounding (relative
    1e-12). The statistical check cannot see a rule that differs only early
    on, as a wrong bias correction of Adam, which this does.
    """
    generator = np.random.default_rng(LOOP_SEED)
    n, rate = len(settings["teacher"]), settings["learning_rate"]
    initial = generator.standard_normal((RULE_REPLICAS, n, n))
    gradients = generator.standard_normal((RULE_STEPS, RULE_REPLICAS, n, n))
    ours = initial.copy()
    rule = optimizers.optimizer_of(settings.get("optimizer"), rate, ours.shape)
    for step, gradient in enumerate(gradients, start=1):
        rule.update(ours, gradient.copy(), step)
    loop_weights = []
    for replica in range(RULE_REPLICAS):
        loop_rule, weights = loop_optimizer(settings.get("optimizer"), rate), initial[replica]
        for gradient in gradients[:, replica]:
            weights = loop_rule.step(weights, gradient)
        loop_weights.append(weights)
    error = float(np.abs(np.array(loop_weights) - ours).max() / np.abs(ours).max())
    return {
        "steps": RULE_STEPS,
        "replicas": RULE_REPLICAS,
        "optimizer": optimizers.optimizer_label(settings.get("optimizer")),
        "relative_error": error,
        "matches": error < 1e-12,
    }


OBSERVABLES = {
    "teacher_student": "singular values",
    "network": "singular values of the trained matrix (targets: each replica's own teacher's)",
    "gaussian_rbm": "eigenvalues of WᵀW",
}
"""The levels each model's check compares."""


def check(case_name: str) -> dict:
    """Check, on a small version of the case, that the loop and the floor match our simulate.

    The loop must agree in distribution: the mean and the mean squared
    deviation (from the target) of every final level agree within a 4σ
    tolerance, Bonferroni-corrected over the comparisons. The floor must
    draw exactly the same numbers (`compare_floor`); the network's floor must
    multiply the same arrays (`compare_products`).
    """
    case = CASES[case_name]
    model, settings = case_settings(case, case.check_changes)
    snapshots = MODELS[model].simulate(settings)
    loop_run = run_loop(model, settings, case.check_loop_replicas)
    finished = np.isfinite(loop_run.weights[-1]).all(axis=(1, 2))
    ours_teacher = loop_teacher = None
    if model == "network":  # the trained matrix; every replica has its own teacher
        snapshots = snapshots.by_layer()[settings["learnable"][0]]
        ours_teacher = network_teacher_levels(settings, snapshots.draw)
        loop_teacher = loop_run.teacher_levels[finished]
    ours_levels, ours_centres = levels_and_centres(
        model, settings, snapshots.weights[-1], ours_teacher
    )
    loop_levels, loop_centres = levels_and_centres(
        model, settings, loop_run.weights[-1][finished], loop_teacher
    )
    shared = settings.get("dataset") == "paper"
    ours_groups = snapshots.draw if shared else snapshots.replica
    loop_groups = loop_run.draw[finished] if shared else np.flatnonzero(finished)
    rows = compare_levels(
        level_statistics(ours_levels, ours_centres, ours_groups),
        level_statistics(loop_levels, loop_centres, loop_groups),
    )
    z_limit = bonferroni_z(2 * len(rows))
    worst = max(abs(row[key]) for row in rows for key in ("z_mean", "z_msd"))
    return {
        "steps": settings["steps"],
        "ours_replicas": settings["replicas"],
        "loop_replicas": case.check_loop_replicas,
        "groups": "dataset draws" if shared else "replicas",
        "dataset_draws": settings.get("dataset_draws", 1),
        "ours_diverged": snapshots.diverged_replicas,
        "loop_diverged": int((~finished).sum()),
        "observable": OBSERVABLES[model],
        "rows": rows,
        "z_limit": z_limit,
        "worst_z": worst,
        "loop_agrees": bool(worst < z_limit),
        "floor": compare_products(settings)
        if model == "network"
        else compare_floor(model, settings),
        "update_rule": compare_update_rules(settings) if model == "teacher_student" else None,
    }


# --- Scaling, machine, profile ----------------------------------------------------------


def scaling(axis: str) -> dict:
    """Time our simulate along one scaling axis (`cases.SCALING_AXES`), one run per value."""
    model, settings = workflow_settings("scaling", scaling_experiment("replicas", 10))
    MODELS[model].simulate({**settings, "steps": 10})  # warm-up: first-call costs
    rows = []
    for value in SCALING_AXES[axis]:
        model, settings = workflow_settings("scaling", scaling_experiment(axis, value))
        seconds, calls, _ = timed(MODELS[model].simulate, settings)
        rows.append({**scaling_point(axis, value), "seconds": seconds, "calls": calls})
    return {"axis": axis, "rows": rows}


def machine() -> dict:
    """NumPy's version and the BLAS it was built with (`numpy.show_config`); the package's."""
    build = np.show_config(mode="dicts")["Build Dependencies"]
    blas = build.get("blas", {})
    return {
        "sgd_dyson": sgd_dyson.__version__,
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
        "blas_openmp": str(blas.get("openblas configuration", "")).strip(),
    }


def profile(case_name: str, lines: int = 15) -> dict:
    """cProfile of our simulate on the case: the functions with the most own time."""
    model, settings = case_settings(CASES[case_name])
    profiler = cProfile.Profile()
    profiler.runcall(MODELS[model].simulate, settings)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("tottime").print_stats(lines)
    return {"text": text.getvalue()}
