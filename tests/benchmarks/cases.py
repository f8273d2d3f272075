"""What the benchmark measures: its four cases, its scaling axes and its DAG configs.

Plain data, in the config format of ``config.yaml`` (one experiment with one
sweep point each), so that the settings of every measured run are built
exactly as the workflow builds them. Standard library only: the
orchestrating process imports this module without loading NumPy.
"""

from dataclasses import dataclass, field

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
    maximum_floor_ratio=2,
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

CASES = {case.name: case for case in (TS_PAPER, TS_HIDDEN, RBM, NETWORK_PHASE)}
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
