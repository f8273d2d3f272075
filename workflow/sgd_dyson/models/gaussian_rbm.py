"""The Gaussian restricted Boltzmann machine trained by persistent contrastive divergence.

Visible ``φ ∈ R^n`` and hidden ``h ∈ R^n`` with energy

    E(φ, h) = ½ μ² φᵀφ + hᵀh/(2σ_h²) − hᵀ W φ          (μ = mass, σ_h = hidden_std)

and no biases. Integrating out ``h`` leaves ``p(φ) ∝ exp(−½ φᵀ K φ)`` with
the kernel ``K = μ² − σ_h² X``, ``X = WᵀW``: the model is a Gaussian with
covariance ``K⁻¹`` whenever ``K`` is positive definite. The target is a free
scalar field of mass ``m`` on a periodic 1-D lattice (`lattice_kernel`), so
training drives the eigenvalues of ``X`` to ``x*_k = (μ² − κ_k)/σ_h²``
(`target_gram_eigenvalues`).

Each update runs ``gibbs_steps`` block-Gibbs sweeps on ``|B|`` persistent
chains per replica (``h | v ~ N(σ_h² W v, σ_h² I)``, then
``v | h ~ N(Wᵀh/μ², I/μ²)``) and ascends the log-likelihood,

    W ← W + α σ_h² W (C_data − Ĉ_model),   Ĉ_model = mean_b v_b v_bᵀ,

with the exact data covariance ``C_data = (K*)⁻¹``. Weights are
``(replicas, n, n)`` and chains ``(replicas, |B|, n)`` arrays (row vectors),
replicas on axis 0; the chains are stored as ``u = μ v``, which makes both
Gibbs half-sweeps one matmul plus standard normals (`gibbs_sweeps`).

The ``gibbs_sampler`` draws the ``k = gibbs_steps`` sweeps either sweep by
sweep (``sweeps``: ``2k × |B| × n`` normals per update) or as the one Gaussian
transition they compose to (``transition``, the default: ``|B| × n`` normals
and one Cholesky factorisation per replica, `k_sweep_transition`). The two
are the same Markov chain in law, not the same numbers.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import rbm_theory
from ..gibbs_chains import (
    chain_normals,
    gibbs_sweeps,
    k_sweep_transition,
    transition_step,
    update_normals_shape,
)
from ..seeding import ReplicaStream, Stream, point_seed, seed_sequence
from ..simulation import Checkpoint, Snapshots, Trajectory, gaussian_initial_weights
from ..spectra import degenerate_clusters
from .base import Labels, Model, run_of, sgd_labels, simulated_description

CHUNK_ELEMENTS = 2**22
"""Upper bound on the elements of one chunk's Gibbs normals (memory)."""


@dataclass(frozen=True)
class GaussianRBMRun:
    """Everything that determines one sweep point's simulation (units: weight updates)."""

    size: int
    mass: float
    field_mass: float
    hidden_std: float
    gibbs_steps: int
    gibbs_sampler: str
    steps: int
    replicas: int
    init_scale: float
    snapshot_every: int
    learning_rate: float
    batch_size: int
    root_seed: int
    point_seed: int


def lattice_kernel(size: int, field_mass: float) -> np.ndarray:
    """Kernel ``K*`` of a free scalar field on a periodic 1-D lattice: ``(size, size)``.

    ``K*_ii = 2 + m²``, ``K*_{i,i±1} = −1`` (indices mod ``size``), the discrete
    ``−∂² + m²``. Its eigenvalues are ``κ_k = m² + 2 − 2 cos(2πk/size)``,
    ``k = 0, …, size − 1`` (plane waves), doubly degenerate in ``k ↔ size − k``.
    """
    identity = np.eye(size)
    neighbours = np.roll(identity, 1, axis=1) + np.roll(identity, -1, axis=1)
    return (2.0 + field_mass**2) * identity - neighbours


def target_gram_eigenvalues(
    size: int, mass: float, field_mass: float, hidden_std: float
) -> np.ndarray:
    """Eigenvalues ``x*`` of ``X = WᵀW`` at which the RBM reproduces the lattice field, ascending.

    ``μ² − σ_h² X = K*`` gives ``x*_k = (μ² − κ_k)/σ_h²`` with
    ``κ_k = m² + 2 − 2 cos(2πk/size)`` (`lattice_kernel`). They are reachable
    (``x* ≥ 0``) only if ``μ² ≥ m² + 4`` for even ``size``.
    """
    k = np.arange(size)
    kappa = field_mass**2 + 2.0 - 2.0 * np.cos(2.0 * np.pi * k / size)
    return np.sort((mass**2 - kappa) / hidden_std**2)


def model_kernel(weights: np.ndarray, mass: float, hidden_std: float) -> np.ndarray:
    """``K = μ² − σ_h² WᵀW`` of stacked ``W`` ``(..., n, n)``; ``p(φ) ∝ exp(−½ φᵀKφ)``."""
    gram = np.swapaxes(weights, -1, -2) @ weights
    return mass**2 * np.eye(weights.shape[-1]) - hidden_std**2 * gram


def initial_weights(run: GaussianRBMRun) -> np.ndarray:
    """Initial weights with i.i.d. ``N(0, init_scale²)`` entries: ``(replicas, n, n)``."""
    return gaussian_initial_weights(
        run.root_seed, run.point_seed, [run.replicas], run.size, run.init_scale
    )


def _ascent_step(
    weights: np.ndarray,
    chains: np.ndarray,
    chain_scale: float,
    data_covariance: np.ndarray,
    rate: float,
    moment: np.ndarray,
    gradient: np.ndarray,
) -> None:
    """``W ← W + rate · W (C_data − Ĉ_model)``, ``Ĉ_model = mean_b v_b v_bᵀ``, in place.

    With ``rate = α σ_h²`` this is gradient ascent on the log-likelihood: for
    the Gaussian model with kernel ``K = μ² − σ_h² WᵀW``, the mean log-likelihood
    of data with covariance ``C_data``, ``−½ tr(K C_data) + ½ log det K + const``,
    has gradient ``σ_h² W (C_data − K⁻¹)`` with respect to ``W``, and
    ``Ĉ_model`` estimates ``K⁻¹``. The chains ``(R, |B|, n)`` hold the visible
    units scaled, ``v = chain_scale × chains``. ``moment`` and ``gradient``
    ``(R, n, n)`` are scratch space.
    """
    np.matmul(np.swapaxes(chains, -1, -2), chains, out=moment)
    moment *= -(chain_scale**2) / chains.shape[-2]
    moment += data_covariance
    np.matmul(weights, moment, out=gradient)
    gradient *= rate
    weights += gradient


def _diverged(weights: np.ndarray, chains: np.ndarray, mass: float, hidden_std: float):
    """Replicas whose weights or chains are not finite, or whose kernel is not positive definite.

    A kernel ``μ² − σ_h² WᵀW`` with an eigenvalue ``≤ 0`` has no normalisable
    ``p(φ)``: the Gibbs chains grow without bound. Weights ``(R, n, n)``,
    chains ``(R, |B|, n)``; returns ``(R,)`` booleans.
    """
    finite = np.isfinite(weights).all(axis=(1, 2)) & np.isfinite(chains).all(axis=(1, 2))
    with np.errstate(over="ignore", invalid="ignore"):
        kernel = model_kernel(np.where(finite[:, None, None], weights, 0.0), mass, hidden_std)
    finite &= np.isfinite(kernel).all(axis=(1, 2))
    kernel[~finite] = np.eye(weights.shape[-1])  # any finite matrix: eigvalsh needs one
    return ~finite | (np.linalg.eigvalsh(kernel)[:, 0] <= 0.0)


def simulate(run: GaussianRBMRun, checkpoint: Checkpoint | None = None) -> Snapshots:
    """Train ``run.replicas`` RBMs and keep their weights ``W`` at the snapshots.

    Every replica has its own initial weights, its own ``|B|`` persistent
    chains (started at ``v = 1``) and its own Gibbs noise, drawn for the
    ``run.gibbs_sampler`` (`update_normals_shape`); the steps run in chunks
    whose normals are drawn at once (step-major, so results do not depend on
    the chunking). A replica found diverged (`_diverged`) at the end of a
    chunk is counted, reset to ``W = 0`` with chains at 1 so its numbers
    cannot overflow, and left out of every snapshot: its numbers are never
    reported as a result. With a ``checkpoint`` the loop saves its state
    (weights, chains, Gibbs streams) every so often and resumes from a
    previous save (`Trajectory`).
    """
    weights = initial_weights(run)
    replicas, size, batch = run.replicas, run.size, run.batch_size
    noise_stream = ReplicaStream(run.root_seed, run.point_seed, [replicas], (Stream.GIBBS,))
    data_covariance = np.linalg.inv(lattice_kernel(size, run.field_mass))
    chains = np.full((replicas, batch, size), run.mass)  # u = μ v, started at v = 1
    trajectory = Trajectory(
        run.steps,
        run.snapshot_every,
        {"weights": weights, "chains": chains},
        [noise_stream],
        checkpoint,
    )
    by_transition = run.gibbs_sampler == "transition"
    hidden = np.empty_like(chains)
    to_hidden = np.empty_like(weights)
    to_visible = np.empty_like(weights)
    moment = np.empty_like(weights)
    gradient = np.empty_like(weights)
    rate = run.learning_rate * run.hidden_std**2
    coupling = run.hidden_std / run.mass
    per_update = update_normals_shape(run.gibbs_sampler, run.gibbs_steps, batch, size)
    max_chunk = max(1, CHUNK_ELEMENTS // (replicas * int(np.prod(per_update))))
    for first, end in trajectory.remaining_chunks(None, max_chunk):
        normals = noise_stream.sample(partial(chain_normals, per_update=per_update), end - first)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(end - first):
                if by_transition:
                    mean_map, noise_factor = k_sweep_transition(weights, coupling, run.gibbs_steps)
                    transition_step(chains, mean_map, noise_factor, normals[t], hidden)
                else:
                    gibbs_sweeps(
                        chains, weights, coupling, normals[t], hidden, to_hidden, to_visible
                    )
                _ascent_step(
                    weights, chains, 1.0 / run.mass, data_covariance, rate, moment, gradient
                )
        found = _diverged(weights, chains, run.mass, run.hidden_std)
        newly = trajectory.mark_diverged(found, end)
        weights[newly] = 0.0
        chains[newly] = run.mass
        trajectory.end_chunk(end, weights)
    return trajectory.snapshots(np.zeros(replicas, dtype=int))


# --- The model's declaration ----------------------------------------------------------


class GaussianRBM(Model):
    """The Gaussian RBM learning a lattice free field by persistent contrastive divergence."""

    name = "gaussian_rbm"
    title = "Gaussian RBM (persistent contrastive divergence)"
    parameters = ("learning_rate", "batch_size")
    run = GaussianRBMRun
    amplitude_kind = "target"

    def simulate(self, settings: dict, checkpoint: Checkpoint | None = None) -> Snapshots:
        return simulate(run_of(GaussianRBMRun, settings), checkpoint)

    chunk_elements = CHUNK_ELEMENTS

    def step_elements(self, experiment: dict, point: dict) -> int:
        """The Gibbs normals of one update: replicas × `update_normals_shape`."""
        per_update = update_normals_shape(
            experiment["gibbs_sampler"],
            experiment["gibbs_steps"],
            point["batch_size"],
            experiment["size"],
        )
        return experiment["replicas"] * int(np.prod(per_update))

    def extra_elements(self, experiment: dict, point: dict) -> int:
        """The persistent chains and the hidden units: 2 × replicas × |B| × n."""
        return 2 * experiment["replicas"] * point["batch_size"] * experiment["size"]

    def work(self, experiment: dict, point: dict) -> float:
        """`Model.work` times the Gibbs work per update, in sweeps of one chain.

        Sweep by sweep: ``gibbs_steps × |B|``. The transition: ``(|B| + (k + 1) n)/2``
        with ``k = gibbs_steps`` — a chain's step draws ``n`` normals instead of a
        sweep's ``2n`` (same two products), and the factorisation's ``k + 1``
        products of ``n × n`` matrices are ``(k + 1) n`` chains' products.
        """
        sweeps, batch = experiment["gibbs_steps"], point["batch_size"]
        if experiment["gibbs_sampler"] == "transition":
            per_update = (batch + (sweeps + 1) * experiment["size"]) / 2
        else:
            per_update = sweeps * batch
        return super().work(experiment, point) * per_update

    def targets(self, experiment: dict) -> list[float]:
        """``sqrt(x*)`` of the target eigenvalues of ``X = WᵀW`` (`target_gram_eigenvalues`)."""
        gram = target_gram_eigenvalues(
            experiment["size"],
            experiment["mass"],
            experiment["field_mass"],
            experiment["hidden_std"],
        )
        return sorted(float(value) for value in np.sqrt(gram))

    def has_theory(self, experiment: dict) -> bool:
        """The leading-order theory of persistent CD (`rbm_theory`)."""
        return True

    def continuum(self, experiment: dict) -> str:
        """The theory's α → 0 limit: each pair's ``√(2π (1 + ρ)/(1 − ρ))``, point by point."""
        return "theory"

    THEORY_KEYS = ("size", "mass", "field_mass", "hidden_std", "gibbs_steps")

    def theory_settings(self, experiment: dict, point: dict) -> dict:
        """The RBM's settings and the point's α and |B|."""
        return {
            **{key: experiment[key] for key in self.THEORY_KEYS},
            **{key: point[key] for key in self.parameters},
        }

    def predicted_levels(
        self, settings: dict, exact: bool, generator: np.random.Generator
    ) -> np.ndarray:
        """The stationary levels of ``X = WᵀW`` by the Gram closure
        (`rbm_theory.stationary_gram_levels`): eigenvalues, or their square roots for the
        singular values."""
        levels, clusters = _target_levels(settings)
        training = _training(settings, settings["learning_rate"], settings["batch_size"])
        gram = rbm_theory.stationary_gram_levels(
            levels, clusters, training, settings["samples"], generator, exact=exact
        )
        if settings["observable"] == "singular_values":
            return np.sqrt(np.clip(gram, 0.0, None))
        return gram

    def theory_remark(self, name: str, experiment: dict, root_seed: int) -> str:
        """The theory's slope at the paper's eleven settings and its α/|B| → 0 limit.

        A line through the predicted pairs' ⟨S⟩ at `rbm_theory.PAPER_SETTINGS`
        (`rbm_theory.predicted_slope`, seeded like sweep points of those settings),
        next to the paper's fit, and the continuum pair slopes
        (`rbm_theory.continuum_pair_slopes`).
        """
        settings = {
            **{key: experiment[key] for key in self.THEORY_KEYS},
            "cluster_tolerance": experiment["cluster_tolerance"],
        }
        levels, clusters = _target_levels(settings)
        samples = experiment["theory"]["samples"]
        seed = seed_sequence(root_seed, point_seed(name, "paper_settings"), 0, 0, Stream.THEORY)
        generator = np.random.default_rng(seed)
        training = _training(settings, rbm_theory.PAPER_RATE, rbm_theory.PAPER_BATCH)
        paper_settings = rbm_theory.PAPER_SETTINGS
        slope = rbm_theory.predicted_slope(
            levels, clusters, training, paper_settings, samples, generator
        )
        limits = rbm_theory.continuum_pair_slopes(levels, clusters, training)
        paper, paper_error = rbm_theory.PAPER_SLOPE
        rates, batches = rbm_theory.PAPER_RATES, rbm_theory.PAPER_BATCHES
        return (
            f"Theory at the paper's {len(paper_settings)} settings (α = {min(rates):g}–"
            f"{max(rates):g} at |B| = {rbm_theory.PAPER_BATCH}, |B| = {min(batches)}–"
            f"{max(batches)} at α = {rbm_theory.PAPER_RATE:g}): a line through the predicted "
            f"pairs' ⟨S⟩ has slope {slope:.3f} (the paper's fit: {paper} ± {paper_error}). As "
            f"α/|B| → 0 the pairs' slopes tend to √(2π (1 + ρ)/(1 − ρ)) = {limits.min():.3f}–"
            f"{limits.max():.3f}, ρ the lag correlation of their chains (√(2π) = "
            f"{np.sqrt(2 * np.pi):.3f} for chains that forget between updates)."
        )

    def labels(self, experiment: dict) -> Labels:
        return sgd_labels(
            self.parameters,
            self.amplitude_kind,
            description=simulated_description("Gaussian RBM", experiment),
            continuum_note=CONTINUUM_NOTE,
            theory_note=THEORY_NOTE,
            centres_note=CENTRES_NOTE,
        )


def _target_levels(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """The target eigenvalues ``x*`` of ``X`` (ascending) and their degenerate clusters,
    clustered as the stages cluster the targets ``sqrt(x*)`` (``cluster_tolerance``)."""
    levels = target_gram_eigenvalues(
        settings["size"], settings["mass"], settings["field_mass"], settings["hidden_std"]
    )
    return levels, degenerate_clusters(np.sqrt(levels), settings["cluster_tolerance"])


def _training(settings: dict, learning_rate: float, batch_size: int) -> rbm_theory.PersistentCD:
    """The `rbm_theory.PersistentCD` of an RBM's ``settings`` at ``(α, |B|)``."""
    return rbm_theory.PersistentCD(
        settings["mass"], settings["hidden_std"], settings["gibbs_steps"], learning_rate, batch_size
    )


CONTINUUM_NOTE = (
    "Dashed, per pair: the theory's α/|B| → 0 limit ⟨S⟩ = √(2π (1 + ρ)/(1 − ρ)) · √(α x*/|B|), "
    "ρ the lag correlation of the pair's persistent chains between updates (√(2π) ≈ 2.507 "
    "for chains that forget; the paper's fit through all pairs: a = 2.275 ± 0.033). The "
    "scaling variable uses each pair's target x* as its amplitude, so all pairs should fall "
    "near one line."
)
THEORY_NOTE = (
    "Small black crosses: the leading-order theory of persistent contrastive divergence at "
    "each point (Monte Carlo): X = WᵀW fluctuates about its shifted mean with the first-order "
    "covariance of the linearised update (the chains' lag correlation and the discrete-time "
    "factor kept), the mean shifted by the second-order stationarity condition, the levels "
    "from the Gram closure (X = WᵀW of Gaussian weights of that mean and covariance). Below "
    "the straight line: repulsion from the neighbouring clusters and the centre shift."
)
CENTRES_NOTE = (
    "The paper finds the RBM's pair centres below their targets by an amount that grows with "
    "α/|B|: stochasticity limits how accurately the RBM learns its kernel. Small black "
    "crosses: the theory's centres (the second-order mean shift of X, uniform to a few per "
    "cent, plus the levels' repulsion, which pushes the single levels outward)."
)


MODEL = GaussianRBM()
