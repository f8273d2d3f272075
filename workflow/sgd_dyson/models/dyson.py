"""The Dyson null model: a matrix Ornstein–Uhlenbeck process, simulated exactly.

The symmetric ``n×n`` matrix ``H`` follows

    dH = −(H − H*) dt + sqrt(2T) dG,        H* = diag(target),

with ``G`` a GOE Brownian motion normalised so that ``G(t)`` has diagonal
variance ``t`` and off-diagonal variance ``t/2``. Its stationary law is
``H − H* ~ GOE`` with diagonal variance ``T`` and off-diagonal variance ``T/2``,
i.e. density ``∝ exp(−tr (H − H*)²/(2T))``. For a degenerate target (one cluster
at ``x*``) the eigenvalue density is then exactly the β = 1 Coulomb gas of width
``σ² = T``,

    P(x_1..x_n) ∝ Π_{i<j} |x_i − x_j| · exp(−Σ_i (x_i − x*)²/(2T)),

so a degenerate pair has the Rayleigh spacing with ``⟨S⟩ = √π √T``. For several
well-separated clusters each cluster is this Coulomb gas up to O(T/gap)
corrections (level repulsion between clusters: to second order a cluster's
centre moves by ``(T/2) Σ_{b outside} 1/(x* − x*_b)``). It is the known-answer
check for every statistic and fit of the pipeline.

The transition over a time ``Δ`` is Gaussian and is sampled exactly, with no
time-step bias:

    H(t + Δ) = H* + e^{−Δ} (H(t) − H*) + sqrt(T (1 − e^{−2Δ})) · G_Δ,

``G_Δ`` a fresh GOE matrix of diagonal variance 1 and off-diagonal variance 1/2.
The time step only sets how finely the path is sampled: ``k`` steps of ``Δ``
have the law of one step of ``kΔ``.

The "weights" of the returned `Snapshots` are the matrices ``H``. With positive
targets well above ``√T`` (the config's rule) ``H`` is positive definite up to
a negligible probability, so its singular values are its eigenvalues and the
teacher–student analysis applies unchanged.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np

from ..sampling import goe_matrices
from ..seeding import ReplicaStream, Stream
from ..simulation import Checkpoint, Snapshots, Trajectory, diverged
from ..theory import injected_noise_moments
from .base import ConfigError, Labels, Model, run_of, simulated_description

CHUNK_ELEMENTS = 2**22
"""Upper bound on the elements of one chunk's per-step random arrays (memory)."""

FINITE_BOUND = 1e150
"""Safety net only: the exact update is a contraction plus Gaussian noise and cannot diverge."""


@dataclass(frozen=True)
class DysonRun:
    """Everything that determines one sweep point of the Dyson null model.

    Time is in units of the relaxation time: ``steps`` steps of ``time_step``
    cover ``steps × time_step``. The initial ``H`` is ``init_scale`` times a
    GOE matrix (diagonal variance ``init_scale²``, off-diagonal
    ``init_scale²/2``) centred at **zero**, not at ``H*``: the eigenvalues start
    as a cloud around 0 and flow to the targets, so the relaxation is visible
    in the snapshots. All replicas belong to dataset draw 0 (no dataset).
    """

    target: tuple[float, ...]
    temperature: float
    time_step: float
    steps: int
    replicas: int
    init_scale: float
    snapshot_every: int
    root_seed: int
    point_seed: int

    def __post_init__(self):
        target = np.asarray(self.target, dtype=float)
        if target.ndim != 1 or target.size == 0 or not np.isfinite(target).all():
            raise ValueError(f"target must be a non-empty list of finite numbers: {self.target}")
        if np.any(np.diff(target) < 0):
            raise ValueError(f"target must be ascending: {self.target}")
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be finite and non-negative: {self.temperature}")
        if not (np.isfinite(self.time_step) and self.time_step > 0):
            raise ValueError(f"time_step must be finite and positive: {self.time_step}")
        if not (np.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ValueError(f"init_scale must be finite and non-negative: {self.init_scale}")
        if self.steps < 1 or self.replicas < 1 or self.snapshot_every < 1:
            raise ValueError("steps, replicas and snapshot_every must be at least 1")

    @property
    def size(self) -> int:
        return len(self.target)

    @property
    def decay(self) -> float:
        """``e^{−Δ}``, the factor by which ``H − H*`` shrinks in one step."""
        return float(np.exp(-self.time_step))

    @property
    def noise_scale(self) -> float:
        """Off-diagonal standard deviation of one step's noise, ``sqrt(T (1 − e^{−2Δ}) / 2)``.

        `goe_matrices` of this scale have diagonal variance ``T (1 − e^{−2Δ})``
        and off-diagonal variance ``T (1 − e^{−2Δ}) / 2``, which keeps the
        stationary law GOE with variances ``T`` and ``T/2``.
        """
        return float(np.sqrt(self.temperature * -np.expm1(-2 * self.time_step) / 2))


def target_matrix(target: tuple[float, ...]) -> np.ndarray:
    """``H* = diag(target)``."""
    return np.diag(np.asarray(target, dtype=float))


def initial_matrices(run: DysonRun) -> np.ndarray:
    """Initial ``H``: GOE of scale ``init_scale`` (diagonal std ``init_scale``), ``(R, n, n)``."""
    stream = ReplicaStream(run.root_seed, run.point_seed, [run.replicas], (Stream.INITIAL_WEIGHTS,))
    return stream.sample(
        partial(goe_matrices, dim=run.size, scale=run.init_scale / np.sqrt(2.0)), 1
    )[0]


def simulate(run: DysonRun, checkpoint: Checkpoint | None = None) -> Snapshots:
    """Run ``run.replicas`` independent copies of the process; keep ``H`` at the snapshots.

    Works with ``D = H − H*``: ``D ← e^{−Δ} D + noise`` (module docstring), the
    noise from the stream ``Stream.DYSON_NOISE`` of each replica block, drawn
    step-major so that results do not depend on the chunking. The process
    cannot diverge: a non-finite or absurdly large ``H`` (`FINITE_BOUND`) can
    only be a bug and raises ``FloatingPointError`` instead of being counted.
    With a ``checkpoint`` the loop saves its state every so often and resumes
    from a previous save (`Trajectory`).
    """
    target = target_matrix(run.target)
    deviation = initial_matrices(run) - target
    noise = ReplicaStream(run.root_seed, run.point_seed, [run.replicas], (Stream.DYSON_NOISE,))
    trajectory = Trajectory(
        run.steps, run.snapshot_every, {"weights": deviation}, [noise], checkpoint
    )
    step_noise = partial(goe_matrices, dim=run.size, scale=run.noise_scale)
    decay = run.decay
    max_chunk = max(1, CHUNK_ELEMENTS // (run.replicas * run.size**2))
    for first, end in trajectory.remaining_chunks(None, max_chunk):
        increments = noise.sample(step_noise, end - first)
        for increment in increments:
            deviation *= decay
            deviation += increment
        if diverged(deviation, FINITE_BOUND).any():
            raise FloatingPointError(
                f"Dyson process left the finite range by step {end}: this is a bug"
            )
        trajectory.end_chunk(end, deviation + target)
    return trajectory.snapshots(np.zeros(run.replicas, dtype=int))


def stationary_moments(size: int, temperature: float) -> np.ndarray:
    """``E[D_ij D_kl] = (T/2)(δ_ik δ_jl + δ_il δ_jk)``: the stationary GOE law of ``D = H − H*``.

    Diagonal variance ``T``, off-diagonal ``T/2`` (module docstring); ``D`` is
    symmetric, so the covariance has rank ``N(N + 1)/2``.
    """
    return injected_noise_moments(size, np.sqrt(temperature / 2), 1)


# --- The model's declaration ----------------------------------------------------------

MARGIN = 8.0
"""Targets must exceed this many thermal widths sqrt(T): H stays positive definite."""


class Dyson(Model):
    """The matrix Ornstein–Uhlenbeck null model, whose stationary law is the GOE Coulomb gas."""

    name = "dyson"
    title = "Dyson null model"
    parameters = ("temperature",)
    run = DysonRun
    amplitude_kind = "one"

    def check(self, key: str, experiment: dict) -> None:
        super().check(key, experiment)
        hottest = max(t for grid in experiment["sweep"] for t in grid["temperature"])
        if min(experiment["target"]) < MARGIN * hottest**0.5:
            raise ConfigError(
                f"config: {key}.target has {min(experiment['target'])}, below "
                f"{MARGIN:g} sqrt(T) = {MARGIN * hottest**0.5:.3g} at the highest "
                "temperature: H could lose positive definiteness and its singular values "
                "would no longer be its eigenvalues"
            )

    def run_settings(self, experiment: dict, point: dict) -> dict:
        """`Model.run_settings` with ``H* = diag(target)`` in ascending order."""
        settings = super().run_settings(experiment, point)
        settings["target"] = sorted(float(value) for value in settings["target"])
        return settings

    chunk_elements = CHUNK_ELEMENTS

    def simulate(self, settings: dict, checkpoint: Checkpoint | None = None) -> Snapshots:
        return simulate(run_of(DysonRun, settings), checkpoint)

    def matrix_size(self, experiment: dict) -> int:
        return len(experiment["target"])

    def targets(self, experiment: dict) -> list[float]:
        """The target spectrum of ``H*``."""
        return sorted(float(value) for value in experiment["target"])

    def continuum(self, experiment: dict) -> str:
        return "coulomb_gas"

    def has_theory(self, experiment: dict) -> bool:
        return True

    def theory_settings(self, experiment: dict, point: dict) -> dict:
        return {"target": experiment["target"], "temperature": point["temperature"]}

    def stationary_law(self, settings: dict, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """``H*`` and the GOE `stationary_moments` (exact in continuous time: both the same)."""
        center = np.diag(settings["target"])
        return center, stationary_moments(len(center), settings["temperature"])

    def labels(self, experiment: dict) -> Labels:
        return Labels(
            parameters=self.parameters,
            ratio="T",
            ratio_name="temperature T",
            scale="√T",
            amplitude="A = 1",
            step="time step",
            process="the Dyson Brownian motion",
            discrete_time=False,
            description=simulated_description("Dyson null model", experiment, "time steps"),
            continuum_note=(
                "Dashed: the continuum two-level Coulomb gas, a = √π ≈ 1.772, exact for the pair "
                "of this null model (the mean neighbour spacing of a larger cluster is a smaller "
                "multiple of √T)."
            ),
            theory_note=(
                "Small black crosses: the predicted ⟨S⟩ of each point and cluster, sampled "
                "(Monte Carlo) from the exact GOE stationary law of this null model."
            ),
        )


MODEL = Dyson()
