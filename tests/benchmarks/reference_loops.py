"""Per-replica reference loops: the straightforward NumPy code a user would write.

Each function trains its replicas one after another, one SGD step at a time,
on small matrices, drawing the mini-batch samples ``x`` themselves and taking
the gradient of the per-sample loss. They implement the same models and
protocols as `sgd_dyson.models.teacher_student.simulate` and
`sgd_dyson.models.gaussian_rbm.simulate`, but none of the package's shortcuts
(no replica axis, no Wishart or Bartlett sampling of the batch moments, no
chunked random draws), so the benchmark compares like with like.

The loops are independent of the package: they need only NumPy and the
settings dictionary the workflow builds for a sweep point
(`sgd_dyson.stages.simulate.settings`). Their random numbers come from one
generator seeded by the caller, so they agree with the package in
distribution, not number by number.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoopRun:
    """What a reference loop returns: the weights at the snapshot steps."""

    steps: np.ndarray  # (snapshots,) the steps after which the weights were kept
    weights: np.ndarray  # (snapshots, replicas, n, n); NaN for a diverged replica
    draw: np.ndarray  # (replicas,) the dataset draw each replica trained on


def snapshot_steps(steps: int, every: int) -> np.ndarray:
    """The steps at which the weights are kept: every ``every`` steps, and always the last."""
    kept = list(range(every, steps + 1, every))
    if not kept or kept[-1] != steps:
        kept.append(steps)
    return np.array(kept)


def snapshot_index(settings: dict) -> dict[int, int]:
    """Snapshot step → its row in the kept weights (a dict: a fast ``step in`` test)."""
    steps = snapshot_steps(settings["steps"], settings["snapshot_every"])
    return {int(step): row for row, step in enumerate(steps)}


def even_split(replicas: int, draws: int) -> list[int]:
    """Replicas per dataset draw, as even as possible, the earlier draws one larger."""
    base, extra = divmod(replicas, draws)
    return [base + (draw < extra) for draw in range(draws)]


def goe_samples(rng: np.random.Generator, count: int, n: int, scale: float) -> np.ndarray:
    """``count`` symmetric Gaussian ``n×n`` matrices, ``(count, n, n)``.

    ``(A + Aᵀ)/√2`` of a matrix ``A`` of i.i.d. ``N(0, scale²)`` entries: the
    off-diagonal entries have standard deviation ``scale`` and the diagonal
    ones ``√2 scale``, the GOE normalisation of the package.
    """
    gaussian = scale * rng.standard_normal((count, n, n))
    return (gaussian + gaussian.transpose(0, 2, 1)) / np.sqrt(2.0)


# --- Teacher–student --------------------------------------------------------------------


def teacher_student_loop(
    settings: dict, replicas: int, seed: int, hidden_layer: np.ndarray | None = None
) -> LoopRun:
    """Train ``replicas`` students by plain mini-batch SGD, one replica at a time.

    Teacher ``y = Z W* x`` with ``W* = diag(teacher)``, student ``ŷ = Z W x``,
    per-sample loss ``½ |y − ŷ|²``; ``Z`` is ``hidden_layer`` (the identity if
    None). Every sample ``b`` also carries an injected GOE matrix ``A_b`` of
    scale ``noise`` that is added to its gradient. One step is

        W ← W − α mean_b [ Zᵀ (ŷ_b − y_b) x_bᵀ + A_b ],

    with ``α = learning_rate`` and the mean over the ``|B| = batch_size``
    samples of the mini-batch. Initial weights have i.i.d. ``N(0,
    init_scale²)`` entries.

    Datasets (``settings["dataset"]``):

    - ``online``: fresh samples ``x ~ N(0, I)`` and fresh ``A_b`` at every step;
    - ``paper``: each of the ``dataset_draws`` draws is one dataset of
      ``batches_per_epoch × |B|`` samples shared by its replicas (the
      replicas are split evenly over the draws); step ``t`` (from 0) uses batch
      ``t mod batches_per_epoch`` in fixed order, and each replica gives every
      sample its own fixed ``A_b``, which therefore repeats every epoch.

    A replica whose weights are not finite or exceed ``divergence_threshold``
    at a snapshot has diverged: it stops, and its snapshots are NaN.
    Only injected noise is implemented (the benchmark's cases).
    """
    if settings["noise_kind"] != "injected" or settings["dataset"] not in ("online", "paper"):
        raise ValueError("the reference loop implements injected noise, online or paper data")
    n = len(settings["teacher"])
    teacher = np.diag(settings["teacher"])
    z = np.eye(n) if hidden_layer is None else hidden_layer
    rng = np.random.default_rng(seed)
    shared = settings["dataset"] == "paper"
    draws = settings["dataset_draws"] if shared else 1
    kept, draw_of_replica = [], []
    for draw, count in enumerate(even_split(replicas, draws)):
        dataset = None
        if shared:  # one dataset per draw, shared by its replicas
            samples = settings["batches_per_epoch"] * settings["batch_size"]
            dataset = rng.standard_normal((samples, n))
        for _ in range(count):
            kept.append(_train_student(settings, teacher, z, dataset, rng))
            draw_of_replica.append(draw)
    return LoopRun(
        steps=snapshot_steps(settings["steps"], settings["snapshot_every"]),
        weights=np.stack(kept, axis=1),
        draw=np.array(draw_of_replica),
    )


def _train_student(
    settings: dict,
    teacher: np.ndarray,
    z: np.ndarray,
    dataset: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One replica's SGD run (`teacher_student_loop`); its snapshots ``(snapshots, n, n)``."""
    n, batch, rate = len(teacher), settings["batch_size"], settings["learning_rate"]
    keep = snapshot_index(settings)
    weights = settings["init_scale"] * rng.standard_normal((n, n))
    if dataset is not None:  # this replica's fixed noise matrix of every sample of the dataset
        sample_noise = goe_samples(rng, len(dataset), n, settings["noise"])
    snapshots = np.full((len(keep), n, n), np.nan)
    for step in range(1, settings["steps"] + 1):
        if dataset is None:
            x = rng.standard_normal((batch, n))
            noise = goe_samples(rng, batch, n, settings["noise"])
        else:
            first = (step - 1) % settings["batches_per_epoch"] * batch
            x = dataset[first : first + batch]
            noise = sample_noise[first : first + batch]
        # Rows are samples: prediction_b = Z W x_b, label_b = Z W* x_b.
        error = x @ (z @ weights).T - x @ (z @ teacher).T
        gradient = z.T @ error.T @ x / batch + noise.mean(axis=0)
        weights = weights - rate * gradient
        if step in keep:
            if not np.all(np.abs(weights) <= settings["divergence_threshold"]):
                break  # diverged (or not finite): the remaining snapshots stay NaN
            snapshots[keep[step]] = weights
    return snapshots


# --- Gaussian RBM -----------------------------------------------------------------------


def lattice_kernel(size: int, field_mass: float) -> np.ndarray:
    """The free field's kernel on a periodic 1-D lattice: ``2 + m²`` on the diagonal, −1 beside."""
    kernel = (2.0 + field_mass**2) * np.eye(size)
    for site in range(size):
        kernel[site, (site + 1) % size] -= 1.0
        kernel[site, (site - 1) % size] -= 1.0
    return kernel


def gaussian_rbm_loop(settings: dict, replicas: int, seed: int) -> LoopRun:
    """Train ``replicas`` Gaussian RBMs by persistent contrastive divergence, one at a time.

    Energy ``E(v, h) = ½ μ² vᵀv + hᵀh/(2σ_h²) − hᵀ W v`` (``μ = mass``,
    ``σ_h = hidden_std``). Each replica has ``|B| = batch_size`` persistent
    chains, started at ``v = 1``. One update runs ``gibbs_steps`` block-Gibbs
    sweeps on every chain,

        h ~ N(σ_h² W v, σ_h² I),   then   v ~ N(Wᵀ h / μ², I / μ²),

    and then ascends the log-likelihood,

        W ← W + α σ_h² W (C_data − mean_b v_b v_bᵀ),

    with ``α = learning_rate`` and ``C_data`` the exact covariance of the
    target, the inverse of the periodic lattice kernel of mass
    ``field_mass``. Initial weights have i.i.d. ``N(0, init_scale²)`` entries.
    A replica whose weights are not finite, or whose model kernel
    ``μ² − σ_h² WᵀW`` is not positive definite, at a snapshot has diverged:
    it stops, and its snapshots are NaN.
    """
    rng = np.random.default_rng(seed)
    data_covariance = np.linalg.inv(lattice_kernel(settings["size"], settings["field_mass"]))
    kept = [_train_rbm(settings, data_covariance, rng) for _ in range(replicas)]
    return LoopRun(
        steps=snapshot_steps(settings["steps"], settings["snapshot_every"]),
        weights=np.stack(kept, axis=1),
        draw=np.zeros(replicas, dtype=int),
    )


def _train_rbm(settings: dict, data_covariance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One replica's training run (`gaussian_rbm_loop`); its snapshots ``(snapshots, n, n)``."""
    n, batch = settings["size"], settings["batch_size"]
    mass, hidden_std = settings["mass"], settings["hidden_std"]
    rate = settings["learning_rate"] * hidden_std**2
    keep = snapshot_index(settings)
    weights = settings["init_scale"] * rng.standard_normal((n, n))
    visible = np.ones((batch, n))  # one chain per row
    snapshots = np.full((len(keep), n, n), np.nan)
    for step in range(1, settings["steps"] + 1):
        for _ in range(settings["gibbs_steps"]):
            # Rows are chains: h_b = σ_h² W v_b + noise, v_b = Wᵀ h_b / μ² + noise.
            hidden = hidden_std**2 * visible @ weights.T + hidden_std * rng.standard_normal(
                (batch, n)
            )
            visible = hidden @ weights / mass**2 + rng.standard_normal((batch, n)) / mass
        model_covariance = visible.T @ visible / batch
        weights = weights + rate * weights @ (data_covariance - model_covariance)
        if step in keep:
            kernel = mass**2 * np.eye(n) - hidden_std**2 * weights.T @ weights
            if not np.all(np.isfinite(kernel)) or np.linalg.eigvalsh(kernel)[0] <= 0.0:
                break  # diverged: the remaining snapshots stay NaN
            snapshots[keep[step]] = weights
    return snapshots
