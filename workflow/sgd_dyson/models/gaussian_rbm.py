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
Gibbs half-sweeps one matmul plus standard normals (`_gibbs_sweeps`).

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
from ..seeding import ReplicaStream, Stream, point_seed, seed_sequence
from ..simulation import Checkpoint, Snapshots, Trajectory, gaussian_initial_weights
from ..spectra import degenerate_clusters
from .base import Labels, Model, run_of, sgd_labels, simulated_description

CHUNK_ELEMENTS = 2**22
"""Upper bound on the elements of one chunk's Gibbs normals (memory)."""

GIBBS_SAMPLERS = ("transition", "sweeps")
"""How the chains advance by ``gibbs_steps`` sweeps: in one exact step, or sweep by sweep."""

CHOLESKY_SAFETY = 20.0
"""Cholesky of an n × n positive-definite C runs to completion in floating point if
``20 n^{3/2} κ₂(C) u < 1`` (u the unit round-off; Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., ch. 10), the factor 20 of that bound."""


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


def update_normals_shape(sampler: str, gibbs_steps: int, batch_size: int, size: int):
    """The standard normals one update draws per replica, by `GIBBS_SAMPLERS` entry.

    ``transition``: ``(|B|, n)``, one ``ζ`` per chain (`k_sweep_transition`);
    ``sweeps``: ``(gibbs_steps, 2, |B|, n)``, index 0 of the second axis driving
    the hidden half-sweep and 1 the visible one (`_gibbs_sweeps`).
    """
    if sampler == "transition":
        return (batch_size, size)
    return (gibbs_steps, 2, batch_size, size)


def _chain_normals(generator: np.random.Generator, shape: tuple[int, ...], per_update: tuple):
    """Normals of ``steps × block`` updates, step-major: ``(steps, block, *per_update)``."""
    return generator.standard_normal((*shape, *per_update))


def _gibbs_sweeps(
    chains: np.ndarray,
    weights: np.ndarray,
    coupling: float,
    normals: np.ndarray,
    hidden: np.ndarray,
    to_hidden: np.ndarray,
    to_visible: np.ndarray,
) -> None:
    """Block-Gibbs sweeps on scaled chains ``u = μ v`` ``(R, |B|, n)``, in place.

    In the scaled variables ``u = μ v`` and ``g = h/σ_h`` the conditionals
    ``h | v ~ N(σ_h² W v, σ_h² I)`` and ``v | h ~ N(Wᵀh/μ², I/μ²)`` read
    ``g = s W u + ξ`` and ``u = s Wᵀ g + ξ'`` with ``coupling`` ``s = σ_h/μ``
    and standard normals ``ξ, ξ'``: each half-sweep is one matmul and one add.
    ``weights`` ``(R, n, n)``; ``normals`` ``(R, sweeps, 2, |B|, n)`` holds ``ξ``
    at index 0 and ``ξ'`` at 1 of axis 2. ``hidden`` ``(R, |B|, n)``,
    ``to_hidden`` and ``to_visible`` ``(R, n, n)`` are scratch space.
    """
    # Row vectors: g_row = s u_row Wᵀ, u_row = s g_row W.
    np.multiply(np.swapaxes(weights, -1, -2), coupling, out=to_hidden)
    np.multiply(weights, coupling, out=to_visible)
    for sweep in range(normals.shape[1]):
        np.matmul(chains, to_hidden, out=hidden)
        hidden += normals[:, sweep, 0]
        np.matmul(hidden, to_visible, out=chains)
        chains += normals[:, sweep, 1]


def k_sweep_transition(weights: np.ndarray, coupling: float, sweeps: int):
    """Mean map ``P`` and noise factor ``U`` of ``sweeps`` block-Gibbs sweeps drawn in one step.

    In the scaled variables of `_gibbs_sweeps` (column vectors) one sweep is
    ``u ← s² WᵀW u + s Wᵀξ + ξ' = B u + η`` with ``B = s² X``, ``X = WᵀW``, ``s =
    σ_h/μ`` and ``Cov η = I + B`` (``ξ, ξ'`` independent). ``k`` sweeps compose to
    ``u ← Bᵏ u + Σ_{j<k} Bʲ η_j``, a Gaussian transition with noise covariance

        C = Σ_{j<k} Bʲ (I + B) Bʲ = Σ_{m<2k} Bᵐ = G (I + Bᵏ),   G = Σ_{j<k} Bʲ

    (B symmetric, and ``B²ʲ(I + B) = B²ʲ + B²ʲ⁺¹``), for any ``X`` and any
    state of the chain. Where ``K = μ² − σ_h² X`` is positive definite this is
    ``S − Bᵏ S Bᵏ`` with ``S = (I − B)⁻¹ = μ² K⁻¹``, the chains' stationary
    covariance ``(μ² − σ_h² X)⁻¹`` in ``v = u/μ`` (one sweep: ``S − BSB = I + B
    = Cov η``). Every eigenvalue of ``C`` is ``Σ_{m<2k} bᵐ ≥ 1`` (``b ≥ 0``), so
    ``κ₂(C) ≤ tr C``: replicas with ``tr C`` below the Cholesky bound
    (`CHOLESKY_SAFETY`) are factored by Cholesky, the others (``K`` far from
    positive definite: chains growing without bound) by `_spectral_transition`;
    replicas with non-finite ``X`` get NaN, which `_diverged` then finds.

    ``weights`` ``(R, n, n)``; returns ``P = Bᵏ`` and upper-triangular ``U`` with
    ``UᵀU = C``, both ``(R, n, n)``. In row form the ``k`` sweeps are
    ``u ← u P + ζ U`` with ``ζ ~ N(0, I_n)`` per chain (`_transition_step`):
    ``n`` normals per chain instead of ``2kn``.
    """
    scaled = coupling * weights
    # Contiguous operands: a transposed view takes numpy's slower matmul path.
    step_map = np.ascontiguousarray(np.swapaxes(scaled, -1, -2)) @ scaled  # B = s² WᵀW
    mean_map, higher = step_map, np.zeros_like(step_map)  # higher: Σ_{0<j<k} Bʲ
    for _ in range(sweeps - 1):
        higher += mean_map
        mean_map = mean_map @ step_map
    covariance = higher @ mean_map  # C = (I + higher)(I + Bᵏ)
    covariance += higher
    covariance += mean_map
    size = weights.shape[-1]
    covariance.reshape(len(covariance), -1)[:, :: size + 1] += 1.0  # + I, on the diagonal view
    bound = 1.0 / (CHOLESKY_SAFETY * size**1.5 * np.finfo(float).eps / 2)
    trace = np.trace(covariance, axis1=-2, axis2=-1)
    factorable = np.isfinite(covariance).all(axis=(1, 2)) & (trace < bound)
    if factorable.all():  # the usual case: only diverging replicas are beyond the bound
        return mean_map, _upper_factor(covariance)
    noise_factor = np.empty_like(covariance)
    noise_factor[factorable] = _upper_factor(covariance[factorable])
    rest = ~factorable
    mean_map[rest], noise_factor[rest] = _spectral_transition(step_map[rest], sweeps)
    return mean_map, noise_factor


def _upper_factor(covariance: np.ndarray) -> np.ndarray:
    """``U = Lᵀ`` of the Cholesky factor ``L Lᵀ = C`` ``(R, n, n)``, C-contiguous, so ``UᵀU = C``.

    (numpy's ``cholesky(upper=True)`` takes twice as long for these small matrices.)
    """
    return np.swapaxes(np.linalg.cholesky(covariance), -1, -2).copy()


def _spectral_transition(step_map: np.ndarray, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """`k_sweep_transition` by the eigendecomposition ``B = Q diag(b) Qᵀ``: ``(R', n, n)`` each.

    ``P = Q diag(bᵏ) Qᵀ`` and ``U = diag(√c) Qᵀ`` with ``c = Σ_{m<2k} bᵐ`` (so
    ``UᵀU = C``), backward stable however ill-conditioned ``C`` is. A replica
    whose ``B`` is not finite gets NaN in both.
    """
    finite = np.isfinite(step_map).all(axis=(1, 2))
    levels, frame = np.linalg.eigh(np.where(finite[:, None, None], step_map, 0.0))
    levels = np.maximum(levels, 0.0)  # B = s² WᵀW ⪰ 0; rounding can give −1e-17
    variances = sum(levels**power for power in range(2 * sweeps))
    frame_t = np.swapaxes(frame, -1, -2)
    mean_map = (frame * levels[:, None, :] ** sweeps) @ frame_t
    noise_factor = np.sqrt(variances)[:, :, None] * frame_t
    mean_map[~finite] = noise_factor[~finite] = np.nan
    return mean_map, noise_factor


def _transition_step(
    chains: np.ndarray,
    mean_map: np.ndarray,
    noise_factor: np.ndarray,
    normals: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """``u ← u P + ζ U`` on scaled chains ``(R, |B|, n)`` in place (`k_sweep_transition`).

    ``normals`` ``ζ`` ``(R, |B|, n)``; ``scratch`` ``(R, |B|, n)``. ``P`` is
    symmetric, so the row form ``u P`` is the column form's ``P u``.
    """
    np.matmul(chains, mean_map, out=scratch)
    np.matmul(normals, noise_factor, out=chains)
    chains += scratch


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
        normals = noise_stream.sample(partial(_chain_normals, per_update=per_update), end - first)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(end - first):
                if by_transition:
                    mean_map, noise_factor = k_sweep_transition(weights, coupling, run.gibbs_steps)
                    _transition_step(chains, mean_map, noise_factor, normals[t], hidden)
                else:
                    _gibbs_sweeps(
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
        """The stationary levels of ``X = WᵀW`` by the Gaussian closure
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
    "from the Gaussian closure. Below the straight line: repulsion from the neighbouring "
    "clusters and the centre shift."
)
CENTRES_NOTE = (
    "The paper finds the RBM's pair centres below their targets by an amount that grows with "
    "α/|B|: stochasticity limits how accurately the RBM learns its kernel. Small black "
    "crosses: the theory's centres (the second-order mean shift of X, uniform to a few per "
    "cent, plus the levels' repulsion, which pushes the single levels outward)."
)


MODEL = GaussianRBM()
