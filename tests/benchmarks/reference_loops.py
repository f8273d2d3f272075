"""Per-replica reference loops: the straightforward NumPy code a user would write.

Each function trains its replicas one after another, one step at a time,
on small matrices, drawing the mini-batch samples ``x`` themselves and taking
the gradient of the per-sample loss; the teacher–student loop's momentum and
Adam steps are one replica's update written out (`loop_optimizer`). They
implement the same models and protocols as `sgd_dyson.models.teacher_student.simulate`,
`sgd_dyson.models.gaussian_rbm.simulate` and `sgd_dyson.networks.simulate`,
but none of the package's shortcuts (no replica axis, no Wishart or Bartlett
sampling of the batch moments, no chunked random draws, no precomputed fixed
layers), so the benchmark compares like with like. The network's loop is the
serial loop of the phase-diagram study's own script (``src/bin/generate.py``
of github.com/chanjure/phase_ml): one seed after another, each with its own
network and dataset, and per-sample ``einsum`` forward and backward passes.

The loops are independent of the package: they need only NumPy and the
settings dictionary the workflow builds for a sweep point
(`sgd_dyson.stages.simulate.settings`). Their random numbers come from one
generator seeded by the caller, so they agree with the package in
distribution, not number by number.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoopRun:
    """What a reference loop returns: the weights at the snapshot steps."""

    steps: np.ndarray  # (snapshots,) the steps after which the weights were kept
    weights: np.ndarray  # (snapshots, replicas, rows, cols); NaN for a diverged replica
    draw: np.ndarray  # (replicas,) the dataset draw each replica trained on
    teacher_levels: np.ndarray | None = None  # (replicas, levels) each replica's own teacher's


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
    """Train ``replicas`` students by mini-batch SGD, one replica at a time.

    Teacher ``y = Z W* x`` with ``W* = diag(teacher)``, student ``ŷ = Z W x``,
    per-sample loss ``½ |y − ŷ|²``; ``Z`` is ``hidden_layer`` (the identity if
    None). Every sample ``b`` also carries an injected GOE matrix ``A_b`` of
    scale ``noise`` that is added to its gradient. One step takes the gradient

        g = mean_b [ Zᵀ (ŷ_b − y_b) x_bᵀ + A_b ],

    the mean over the ``|B| = batch_size`` samples of the mini-batch, and
    updates ``W`` by the optimiser of ``settings["optimizer"]`` (`loop_optimizer`;
    plain SGD ``W ← W − α g`` without one), ``α = learning_rate``. Initial
    weights have i.i.d. ``N(0, init_scale²)`` entries.

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
    optimizer = loop_optimizer(settings.get("optimizer"), rate)
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
        weights = optimizer.step(weights, gradient)
        if step in keep:
            if not np.all(np.abs(weights) <= settings["divergence_threshold"]):
                break  # diverged (or not finite): the remaining snapshots stay NaN
            snapshots[keep[step]] = weights
    return snapshots


# --- The teacher–student loop's optimisers: one replica's update, as a user writes it ----


class LoopSGD:
    """Plain SGD: ``W ← W − α g``."""

    def __init__(self, rate: float):
        self.rate = rate

    def step(self, weights: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        return weights - self.rate * gradient


class LoopMomentum:
    """``torch.optim.SGD`` with momentum β (no dampening, no weight decay), for one matrix.

    The momentum buffer starts at zero: ``buf ← β buf + g``, then ``W ← W − α buf``,
    or with ``nesterov`` ``W ← W − α (g + β buf)``.
    """

    def __init__(self, rate: float, momentum: float, nesterov: bool):
        self.rate, self.momentum, self.nesterov = rate, momentum, nesterov
        self.buffer = 0.0

    def step(self, weights: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        self.buffer = self.momentum * self.buffer + gradient
        if self.nesterov:
            return weights - self.rate * (gradient + self.momentum * self.buffer)
        return weights - self.rate * self.buffer


class LoopAdam:
    """Adam, Algorithm 1 of Kingma & Ba (ICLR 2015), for one matrix; AdamW with a weight decay.

    At step ``t`` (from 1): ``m ← β1 m + (1 − β1) g``, ``v ← β2 v + (1 − β2) g²``,
    ``m̂ = m/(1 − β1^t)``, ``v̂ = v/(1 − β2^t)``, ``W ← W − α m̂/(√v̂ + ε)``; AdamW
    (Loshchilov & Hutter, ICLR 2019, as ``torch.optim.AdamW``) first decays
    ``W ← W − α λ W``. ``m`` and ``v`` start at zero.
    """

    def __init__(
        self, rate: float, beta1: float, beta2: float, epsilon: float, weight_decay: float = 0.0
    ):
        self.rate, self.beta1, self.beta2, self.epsilon = rate, beta1, beta2, epsilon
        self.weight_decay = weight_decay
        self.first = self.second = 0.0
        self.steps = 0

    def step(self, weights: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        self.steps += 1
        self.first = self.beta1 * self.first + (1.0 - self.beta1) * gradient
        self.second = self.beta2 * self.second + (1.0 - self.beta2) * gradient**2
        first_hat = self.first / (1.0 - self.beta1**self.steps)
        second_hat = self.second / (1.0 - self.beta2**self.steps)
        weights = weights - self.rate * self.weight_decay * weights
        return weights - self.rate * first_hat / (np.sqrt(second_hat) + self.epsilon)


def loop_optimizer(settings: dict | None, rate: float) -> LoopSGD | LoopMomentum | LoopAdam:
    """A fresh optimiser of one replica at learning rate ``rate``, from the experiment's
    ``optimizer`` settings (the workflow's, every default filled in; None: plain SGD)."""
    if settings is None or settings["name"] == "sgd":
        return LoopSGD(rate)
    if settings["name"] == "momentum":
        return LoopMomentum(rate, settings["momentum"], settings["nesterov"])
    fields = ("beta1", "beta2", "epsilon", "weight_decay")
    return LoopAdam(rate, **{field: settings[field] for field in fields if field in settings})


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


# --- Feed-forward network (the phase-diagram study) ---------------------------------------

LOOP_ACTIVATIONS = {
    "tanh": (np.tanh, lambda pre: 1.0 - np.tanh(pre) ** 2),
    "relu": (lambda pre: pre * (pre > 0.0), lambda pre: 1.0 * (pre > 0.0)),
    "identity": (lambda pre: pre, np.ones_like),
}
"""The activations of the study's script: ``f(z)`` and ``f'(z)``, both from ``z``."""


def network_loop(settings: dict, replicas: int, seed: int) -> LoopRun:
    """Train ``replicas`` three-matrix networks, only the middle matrix, one seed at a time.

    The architecture ``n_0 → n_1 → n_2 → n_3`` of ``settings["layers"]``: ``ŷ = Z
    f(W f(M x))``, with ``M`` ``(n_1, n_0)`` and ``Z`` ``(n_3, n_2)`` fixed and shared
    by teacher and student, entries ``N(0, 1/fan_in)`` like the teacher's ``W*``
    ``(n_2, n_1)``; the student's ``W`` starts ``N(0, init_scale²/n_1)``. Every
    seed draws its own ``M``, ``W*``, ``Z`` and dataset of ``batches_per_epoch ×
    |B|`` inputs ``x ~ N(0, I)``; step ``t`` (from 0) takes batch ``t mod
    batches_per_epoch``, in fixed order, and

        W ← W − α mean_b [ (Zᵀ (ŷ_b − y_b)) ⊙ f'(W h_b) ] h_bᵀ,   h_b = f(M x_b),

    the gradient of ``½ mean_b |y_b − ŷ_b|²``, with the labels ``y_b = Z f(W* h_b)``.

    Every step does what the study's script does (`_script_step`): it labels the
    batch, then computes the loss and the gradient with a forward pass each,
    every sample's products and outer product written out (``einsum``). A seed
    whose batch loss exceeds ``loss_threshold`` stops (the script's stop at 100), as
    does one whose weights are not finite or exceed ``divergence_threshold`` at a
    snapshot; its snapshots are NaN. Left out, as they cost a fraction of one
    step per epoch: the script's full-dataset loss at step 0, its epoch sums of
    the batch losses and gradients, and its printing.

    Only this protocol is implemented (the benchmark's case): layers of four widths,
    ``learnable = [1]``, noise-free labels, the ``paper`` dataset with every seed its
    own (``dataset_draws = replicas``).
    """
    layers, activations = settings["layers"], settings["activations"]
    if (
        len(layers) != 4
        or list(settings["learnable"]) != [1]
        or settings["noise_kind"] != "none"
        or settings["dataset"] != "paper"
        or settings["dataset_draws"] != settings["replicas"]
        or activations[2] != "identity"
        or activations[0] != activations[1]
        or activations[0] not in LOOP_ACTIVATIONS
    ):
        raise ValueError(
            "the reference loop implements layers n_0 → n_1 → n_2 → n_3 with learnable = [1], "
            "one activation and a linear read-out, noise_kind none, dataset paper and "
            f"dataset_draws = replicas; got layers = {layers}, learnable = "
            f"{settings['learnable']}, activations = {activations}, noise_kind = "
            f"{settings['noise_kind']}, dataset = {settings['dataset']}, dataset_draws = "
            f"{settings['dataset_draws']}, replicas = {settings['replicas']}"
        )
    rng = np.random.default_rng(seed)
    kept, teacher_levels = [], []
    for _ in range(replicas):
        snapshots, teacher = _train_network(settings, rng)
        kept.append(snapshots)
        teacher_levels.append(np.linalg.svd(teacher, compute_uv=False)[::-1])
    return LoopRun(
        steps=snapshot_steps(settings["steps"], settings["snapshot_every"]),
        weights=np.stack(kept, axis=1),
        draw=np.arange(replicas),
        teacher_levels=np.array(teacher_levels),
    )


def _script_outputs(
    x: np.ndarray,
    fixed_in: np.ndarray,
    weights: np.ndarray,
    fixed_out: np.ndarray,
    activation: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``ŷ_b = Z f(W f(M x_b))`` of the samples ``x`` ``(batch, n_0)``: ``(batch, n_3)``."""
    h = activation(np.einsum("li,ni->nl", fixed_in, x))
    return np.einsum("ok,nk->no", fixed_out, activation(np.einsum("kl,nl->nk", weights, h)))


def _script_step(
    x: np.ndarray,
    network: tuple[np.ndarray, np.ndarray, np.ndarray],
    teacher: np.ndarray,
    functions: tuple[Callable, Callable],
) -> tuple[float, np.ndarray]:
    """One step of the script: the batch loss and its gradient in ``W`` ``(n_2, n_1)``.

    ``network`` is ``(M, W, Z)``, ``functions`` is ``(f, f')``. As the script: the
    labels from the teacher's forward pass of the batch, the loss from one forward
    pass and the gradient from another, ``−mean_b (Zᵀ y_b − Zᵀ ŷ_b) ⊙ f'(z_b) h_bᵀ``.
    """
    fixed_in, weights, fixed_out = network
    activation, slope = functions
    labels = _script_outputs(x, fixed_in, teacher, fixed_out, activation)
    loss = 0.5 * np.mean(
        np.sum((labels - _script_outputs(x, fixed_in, weights, fixed_out, activation)) ** 2, 1)
    )
    h = activation(np.einsum("li,ni->nl", fixed_in, x))
    a = activation(np.einsum("kl,nl->nk", weights, h))
    a_slope = slope(np.einsum("kl,nl->nk", weights, h))
    prediction = np.einsum("ok,nk->no", fixed_out, a)
    back_labels = np.einsum("ko,no->nk", fixed_out.T, labels)
    back_prediction = np.einsum("ko,no->nk", fixed_out.T, prediction)
    gradient = -np.mean(np.einsum("nk,nl->nkl", (back_labels - back_prediction) * a_slope, h), 0)
    return loss, gradient


def _train_network(settings: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One seed's run (`network_loop`): its snapshots ``(snapshots, n_2, n_1)``, its ``W*``."""
    inputs, first_width, second_width, outputs = settings["layers"]
    functions = LOOP_ACTIVATIONS[settings["activations"][0]]
    batch, rate = settings["batch_size"], settings["learning_rate"]
    keep = snapshot_index(settings)
    # The seed's network, in the script's order: M, W*, Z, then the data, then W.
    fixed_in = rng.standard_normal((first_width, inputs)) / np.sqrt(inputs)
    teacher = rng.standard_normal((second_width, first_width)) / np.sqrt(first_width)
    fixed_out = rng.standard_normal((outputs, second_width)) / np.sqrt(second_width)
    x_data = rng.standard_normal((settings["batches_per_epoch"] * batch, inputs))
    weights = settings["init_width"] / np.sqrt(first_width) * rng.standard_normal(teacher.shape)
    snapshots = np.full((len(keep), second_width, first_width), np.nan)
    for step in range(1, settings["steps"] + 1):
        first = (step - 1) % settings["batches_per_epoch"] * batch
        network = (fixed_in, weights, fixed_out)
        loss, gradient = _script_step(x_data[first : first + batch], network, teacher, functions)
        if not loss <= settings["loss_threshold"]:
            break  # diverged (or not finite): the remaining snapshots stay NaN
        weights = weights - rate * gradient
        if step in keep:
            if not np.all(np.abs(weights) <= settings["divergence_threshold"]):
                break
            snapshots[keep[step]] = weights
    return snapshots, teacher
