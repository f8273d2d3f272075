"""What the benchmark measures: its cases, its scaling axes and its DAG configs.

Plain data, in the config format of ``config.yaml`` (one experiment with one
sweep point each), so that the settings of every measured run are built
exactly as the workflow builds them. Standard library only: the
orchestrating process imports this module without loading NumPy.
"""

from dataclasses import dataclass, field, replace

SEED = 20240723
"""The root seed of config.yaml."""


@dataclass(frozen=True)
class Case:
    """One benchmarked sweep point, and the small version of it that the checks run."""

    name: str  # the experiment's name: it enters the point's seed, as in the workflow
    title: str
    experiment: dict  # one experiment of a config, with a single sweep point
    loop_replicas: int  # the reference loop is timed on this many replicas, then scaled
    check_changes: dict = field(default_factory=dict)  # the consistency check's smaller run
    check_loop_replicas: int = 200
    # Targets: speed-up over the loop at least, our time over the floor's at most.
    minimum_speed_up: float | None = None
    maximum_floor_ratio: float | None = None
    # The case of the same settings trained by plain SGD (`plain_sgd_twin`), and our
    # time over its time at most: the cost of the case's optimiser.
    sgd_baseline: str | None = None
    maximum_sgd_ratio: float | None = None
    # The Gaussian RBM's update timed with each Gibbs sampler (`SamplerComparison`).
    sampler_comparisons: tuple["SamplerComparison", ...] = ()


@dataclass(frozen=True)
class SamplerComparison:
    """The RBM case's update with the k-sweep transition against sweep by sweep, at one |B|."""

    batch_size: int
    minimum_speed_up: float  # target: sweep-by-sweep time over the transition's, per update


SAMPLER_STEPS = 1000
"""Updates of each timed run of the sampler comparison (the case's other settings)."""


TS_PAPER = Case(
    name="ts_paper",
    title="teacher–student, paper protocol (N = 2)",
    experiment={  # ts_paper of config.yaml at α = 0.1, |B| = 16, ε = 0.1
        "model": "teacher_student",
        "size": 2,
        "teacher": [2.0, 2.0],
        "noise_kind": "injected",
        "dataset": "paper",
        "dataset_draws": 10,
        "batches_per_epoch": 500,
        "steps": 5000,
        "replicas": 3000,
        "sweep": [{"learning_rate": [0.1], "batch_size": [16], "noise": [0.1]}],
    },
    loop_replicas=100,
    # Ten epochs of a 50-batch dataset; 400 draws, so that draw-level means,
    # which are independent, give the standard errors.
    check_changes={"batches_per_epoch": 50, "steps": 500, "dataset_draws": 400, "replicas": 4000},
    check_loop_replicas=800,
    minimum_speed_up=300,
)

TS_HIDDEN = Case(
    name="ts_hidden_n10",
    title="teacher–student, online, hidden layer (N = 10)",
    experiment={  # ts_hidden_n10 of config.yaml at α = 0.1, |B| = 64, ε = 0.1
        "model": "teacher_student",
        "size": 10,
        "teacher": [1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.5, 2.5, 3.0, 3.5],
        "hidden": [0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4],
        "noise_kind": "injected",
        "dataset": "online",
        "steps": 3000,
        "replicas": 500,
        "snapshot_every": 200,
        "burn_in": 1000,
        "sweep": [{"learning_rate": [0.1], "batch_size": [64], "noise": [0.1]}],
    },
    loop_replicas=25,
    # 300 steps are about ten relaxation times of the slowest mode (α z_min² = 0.036).
    check_changes={"steps": 300, "replicas": 1000, "snapshot_every": 300, "burn_in": 300},
    maximum_floor_ratio=2,
)

RBM = Case(
    name="rbm",
    title="Gaussian RBM (n = 10, 3 Gibbs sweeps)",
    experiment={  # rbm of config.yaml at α = 0.1, |B| = 16
        "model": "gaussian_rbm",
        "steps": 15000,
        "replicas": 100,
        "snapshot_every": 500,
        "burn_in": 6000,
        "sweep": [{"learning_rate": [0.1], "batch_size": [16]}],
    },
    loop_replicas=12,
    # Both start from the same law, so the laws at any fixed step must agree.
    check_changes={"steps": 500, "replicas": 800, "snapshot_every": 500, "burn_in": 500},
    # No floor target: the floor bound the sweep-by-sweep chain, which was draw-bound; the
    # k-sweep transition draws a sixth of its numbers, and its time is the factorisation
    # and the ascent step. Its targets are its speed-ups over the sweep-by-sweep update.
    sampler_comparisons=(SamplerComparison(16, 2.5), SamplerComparison(64, 4.0)),
)

NETWORK_PHASE = Case(
    name="network_phase",
    title="network 3 → 32 → 16 → 1 tanh, middle matrix trained (phase diagram)",
    experiment={  # the phase-diagram study's settings at α = 0.125, σ_W = 1, |B| = 4
        "model": "network",
        "layers": [3, 32, 16, 1],
        "learnable": [1],
        "activation": "tanh",
        "noise_kind": "none",
        "dataset": "paper",
        "batches_per_epoch": 1000,
        "dataset_draws": 100,  # every seed its own network and data, as the study's seeds
        "steps": 20000,
        "replicas": 100,
        "sweep": [{"learning_rate": [0.125], "batch_size": [4], "init_scale": [1.0]}],
    },
    loop_replicas=4,
    # Four epochs of a 250-batch dataset; every replica its own draw, so the
    # replicas are independent. 400 replicas keep the datasets near 300 MB.
    check_changes={"batches_per_epoch": 250, "steps": 1000, "dataset_draws": 400, "replicas": 400},
    check_loop_replicas=300,
    minimum_speed_up=20,
)


# --- Momentum and Adam, against plain SGD on the same model -----------------------------

ONLINE_PAIR = {  # ts_momentum and ts_adam of config.yaml share these
    "model": "teacher_student",
    "size": 2,
    "teacher": [2.0, 2.0],
    "noise_kind": "injected",
    "dataset": "online",
    "snapshot_every": 250,
    "sweep": [{"learning_rate": [0.02], "batch_size": [16], "noise": [0.1]}],
}
"""The online N = 2 teacher–student point of the optimiser cases: α = 0.02, |B| = 16, ε = 0.1."""

MAXIMUM_SGD_RATIO = 1.5
"""Our time on an optimiser case over plain SGD's at the same settings, at most."""


def optimizer_case(
    name: str, title: str, optimizer: dict, steps: int, replicas: int, **measured
) -> Case:
    """An optimiser case at `ONLINE_PAIR` with the experiment ``name``'s optimiser, steps and
    replicas (its burn-in half the steps), against its plain-SGD twin ``{name}_sgd``.

    ``measured``: the `Case` fields of the loop and the check (``check_changes``
    name the check's steps; it runs 2000 replicas of ours).
    """
    check_steps = measured.pop("check_steps")
    return Case(
        name=name,
        title=f"teacher–student, online, {title} (N = 2)",
        experiment={
            **ONLINE_PAIR,
            "optimizer": optimizer,
            "steps": steps,
            "replicas": replicas,
            "burn_in": steps // 2,
        },
        check_changes={
            "steps": check_steps,
            "replicas": 2000,
            "snapshot_every": check_steps,
            "burn_in": check_steps,
        },
        sgd_baseline=f"{name}_sgd",
        maximum_sgd_ratio=MAXIMUM_SGD_RATIO,
        **measured,
    )


# ts_momentum of config.yaml at α = 0.02, |B| = 16, ε = 0.1. The check: the slowest
# mode decays as √β^t = 0.949^t, so 500 steps are about 26 decay times.
TS_MOMENTUM = optimizer_case(
    "ts_momentum",
    "heavy-ball momentum 0.9",
    {"name": "momentum", "momentum": 0.9},
    steps=2000,
    replicas=1000,
    check_steps=500,
    loop_replicas=25,
    check_loop_replicas=400,
)

# ts_adam of config.yaml at α = 0.02, |B| = 16, ε = 0.1. The check: steps of about α
# carry the weights from near 0 to W* = 2·I in ~100 steps; 1000 steps are also ten
# memory times of the second moment, 1/(1 − β2).
TS_ADAM = optimizer_case(
    "ts_adam",
    "Adam (β1 0.9, β2 0.99)",
    {"name": "adam", "beta1": 0.9, "beta2": 0.99},
    steps=4000,
    replicas=500,
    check_steps=1000,
    loop_replicas=12,
    check_loop_replicas=300,
)


def plain_sgd_twin(case: Case) -> Case:
    """The case `case.sgd_baseline`: the same experiment trained by plain SGD, measured alike."""
    experiment = {key: value for key, value in case.experiment.items() if key != "optimizer"}
    return replace(
        case,
        name=case.sgd_baseline,
        title=f"teacher–student, online, plain SGD at {case.name}'s settings (N = 2)",
        experiment=experiment,
        sgd_baseline=None,
        maximum_sgd_ratio=None,
    )


OPTIMIZER_CASES = [
    case for optimised in (TS_MOMENTUM, TS_ADAM) for case in (plain_sgd_twin(optimised), optimised)
]
"""Each optimiser case after its plain-SGD twin."""

CASES = {case.name: case for case in (TS_PAPER, TS_HIDDEN, RBM, NETWORK_PHASE, *OPTIMIZER_CASES)}
MAXIMUM_PEAK_MB = 2000
"""Peak memory allowed to our simulate of any case (the paper settings)."""


# --- Scaling of our simulate ------------------------------------------------------------

SCALING_BASE = {"replicas": 1000, "steps": 1000, "size": 2, "batch_size": 16}
"""The online teacher–student point (α = 0.1, ε = 0.1, W* = 2·I) the scaling runs vary."""

SCALING_AXES = {
    "replicas": [250, 500, 1000, 2000, 4000, 8000],
    "steps": [250, 500, 1000, 2000, 4000],
    "size": [2, 5, 10, 20, 50],
    "batch_size": [4, 8, 16, 64, 256, 1024],
}
"""The values each scaling axis takes, the others held at `SCALING_BASE`."""

SCALING_FIXED = {
    # Larger N costs ~N³ per replica-step: fewer replicas and steps; |B| = 64 ≥ N
    # keeps every N on the same (Bartlett) sampling path.
    "size": {"replicas": 200, "steps": 500, "batch_size": 64},
    # N = 10 so that the smallest batches (|B| < N) take the per-sample path.
    "batch_size": {"replicas": 500, "steps": 500, "size": 10},
}
"""What else an axis changes, on top of `SCALING_BASE`."""


def scaling_point(axis: str, value: int) -> dict:
    """Replicas, steps, size and batch size of one scaling run."""
    return {**SCALING_BASE, **SCALING_FIXED.get(axis, {}), axis: value}


def scaling_experiment(axis: str, value: int) -> dict:
    """The online teacher–student experiment of one scaling run (`scaling_point`)."""
    point = scaling_point(axis, value)
    return {
        "model": "teacher_student",
        "size": point["size"],
        "teacher": [2.0] * point["size"],
        "noise_kind": "injected",
        "dataset": "online",
        "steps": point["steps"],
        "replicas": point["replicas"],
        "sweep": [{"learning_rate": [0.1], "batch_size": [point["batch_size"]], "noise": [0.1]}],
    }


# --- Snakemake DAG ----------------------------------------------------------------------

DAG_GRIDS = {100: (5, 5, 4), 1000: (10, 10, 10), 10000: (25, 20, 20)}
"""Sweep points → (learning rates, batch sizes, noises) of the α × |B| × ε grid."""

DAG_MAXIMUM_SECONDS = {10000: 20.0}
"""Targets: sweep points → seconds the dry run must stay under (a fine grid on a cluster)."""


def dag_config(points: int) -> dict:
    """A config with one online teacher–student experiment of ``points`` sweep points."""
    rates, batches, noises = DAG_GRIDS[points]
    return {
        "seed": SEED,
        "results": "results",
        "experiments": {
            "grid": {
                "model": "teacher_student",
                "size": 2,
                "teacher": [2.0, 2.0],
                "noise_kind": "injected",
                "dataset": "online",
                "steps": 1000,
                "replicas": 100,
                "sweep": [
                    {
                        "name": "α × |B| × ε grid",
                        "learning_rate": [round(0.01 * (k + 1), 4) for k in range(rates)],
                        "batch_size": [2 * (k + 1) for k in range(batches)],
                        "noise": [round(0.01 * (k + 1), 4) for k in range(noises)],
                    }
                ],
            }
        },
    }
