"""The update rules of the SGD-trained models: plain SGD, heavy-ball momentum, Adam and AdamW.

An optimiser turns one step's mini-batch gradient ``g`` into the update of the
weights, for every replica at once: weights, gradients and the optimiser's
state are arrays of one shape with replicas on axis 0 (``(replicas, N, N)``
for the teacher–student model, ``(replicas, P)`` for the networks). Every rule
is element-wise, so nothing but the leading replica axis matters. The state
(velocity; first and second moments) is a dict of named weight-shaped arrays
updated in place, which the simulation checkpoints and restores with the
weights (`simulation.Trajectory`).

The settings are the experiment's ``optimizer`` mapping (the config schema's
``$defs/optimizer``, every default filled in): ``{name: sgd}``, ``{name:
momentum, momentum, nesterov}``, ``{name: adam, beta1, beta2, epsilon}`` or
``{name: adamw, beta1, beta2, epsilon, weight_decay}``; None is plain SGD.
"""

from collections.abc import Mapping

import numpy as np

FIELDS = {
    "sgd": (),
    "momentum": ("momentum", "nesterov"),
    "adam": ("beta1", "beta2", "epsilon"),
    "adamw": ("beta1", "beta2", "epsilon", "weight_decay"),
}
"""Optimiser name → the fields its settings hold besides ``name``."""


class Optimizer:
    """The interface of an update rule, and its state.

    ``learning_rate`` is α; ``shape`` the weights' shape, replicas first.
    Subclasses name their state arrays in ``state_names`` (zero at step 0)
    and count the weight-shaped arrays they keep beyond them in
    ``scratch_arrays`` (`held_arrays`).
    """

    state_names: tuple[str, ...] = ()
    scratch_arrays = 0

    def __init__(self, learning_rate: float, shape: tuple[int, ...]):
        self.learning_rate = learning_rate
        self.state = {name: np.zeros(shape) for name in self.state_names}

    def update(self, weights: np.ndarray, gradient: np.ndarray, step: int) -> None:
        """One step, number ``step`` (1-based): ``weights`` in place; ``gradient`` overwritten."""
        raise NotImplementedError

    def reset(self, replicas: np.ndarray) -> None:
        """Zero the state of ``replicas`` (a boolean ``(replicas,)`` mask), as at step 0.

        The loops reset a diverged replica's weights to zero so that its numbers
        cannot overflow; its velocity or moments go with them.
        """
        for array in self.state.values():
            array[replicas] = 0.0


class SGD(Optimizer):
    """Plain SGD, ``W ← W − α g`` (Robbins & Monro 1951)."""

    def update(self, weights: np.ndarray, gradient: np.ndarray, step: int) -> None:
        """As ``gradient *= α; weights -= gradient``: the operations, and so the numbers, of
        the models' loops before they had other optimisers."""
        gradient *= self.learning_rate
        weights -= gradient


class Momentum(Optimizer):
    """Heavy-ball momentum in PyTorch's convention (``torch.optim.SGD``, no dampening).

    ``V ← βV + g``, then ``W ← W − αV``, or with ``nesterov`` ``W ← W − α(g + βV)``
    with the updated ``V`` (Sutskever, Martens, Dahl & Hinton 2013, as PyTorch
    writes it). ``V`` starts at zero, so the first step is SGD's. β = ``momentum``
    in [0, 1); at small α the stationary temperature is ``α/((1 − β)|B|)``.
    """

    state_names = ("velocity",)

    def __init__(
        self, learning_rate: float, shape: tuple[int, ...], momentum: float, nesterov: bool
    ):
        super().__init__(learning_rate, shape)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, weights: np.ndarray, gradient: np.ndarray, step: int) -> None:
        velocity = self.state["velocity"]
        velocity *= self.momentum
        velocity += gradient
        if self.nesterov:
            gradient += self.momentum * velocity
            gradient *= self.learning_rate
        else:
            np.multiply(velocity, self.learning_rate, out=gradient)
        weights -= gradient


class Adam(Optimizer):
    """Adam (Kingma & Ba, ICLR 2015, Algorithm 1), with AdamW's decoupled weight decay.

    ``m ← β1 m + (1 − β1) g``, ``v ← β2 v + (1 − β2) g²``, bias-corrected
    ``m̂ = m/(1 − β1^t)``, ``v̂ = v/(1 − β2^t)`` at step ``t`` (1-based), and
    ``W ← W − α m̂/(√v̂ + ε)``. A ``weight_decay`` λ > 0 is AdamW (Loshchilov &
    Hutter, ICLR 2019): the decay ``W ← W(1 − αλ)`` with the same α, applied
    before the Adam step, as ``torch.optim.AdamW`` does; λ = 0 is Adam.
    """

    state_names = ("first_moment", "second_moment")
    scratch_arrays = 1

    def __init__(
        self,
        learning_rate: float,
        shape: tuple[int, ...],
        beta1: float,
        beta2: float,
        epsilon: float,
        weight_decay: float = 0.0,
    ):
        super().__init__(learning_rate, shape)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.weight_decay = weight_decay
        self.scratch = np.empty(shape)

    def update(self, weights: np.ndarray, gradient: np.ndarray, step: int) -> None:
        first, second = self.state["first_moment"], self.state["second_moment"]
        scratch = self.scratch
        first *= self.beta1
        np.multiply(gradient, 1.0 - self.beta1, out=scratch)
        first += scratch
        second *= self.beta2
        np.multiply(gradient, gradient, out=scratch)
        scratch *= 1.0 - self.beta2
        second += scratch
        np.divide(second, 1.0 - self.beta2**step, out=scratch)  # v̂
        np.sqrt(scratch, out=scratch)
        scratch += self.epsilon
        np.divide(first, scratch, out=gradient)
        gradient *= self.learning_rate / (1.0 - self.beta1**step)  # α m̂/(√v̂ + ε)
        if self.weight_decay:
            weights *= 1.0 - self.learning_rate * self.weight_decay
        weights -= gradient


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam, "adamw": Adam}
"""Optimiser name → the class of its rule (AdamW is `Adam` with a weight decay)."""


def checked(settings: Mapping | None) -> dict:
    """``settings`` as a dict (None: ``{name: sgd}``); `ValueError` naming a bad key.

    The name must be one of `FIELDS` and the other keys exactly its fields.
    """
    settings = {"name": "sgd"} if settings is None else dict(settings)
    name = settings.get("name")
    if name not in FIELDS:
        raise ValueError(f"optimizer.name = {name!r} is not one of {list(FIELDS)}")
    given = sorted(set(settings) - {"name"})
    if given != sorted(FIELDS[name]):
        raise ValueError(f"optimizer: {name} takes the fields {list(FIELDS[name])}, given {given}")
    return settings


def optimizer_of(
    settings: Mapping | None, learning_rate: float, shape: tuple[int, ...]
) -> Optimizer:
    """The optimiser of ``settings`` (module docstring) at learning rate α for weights ``shape``."""
    fields = checked(settings)
    return OPTIMIZERS[fields.pop("name")](learning_rate, shape, **fields)


def is_plain_sgd(settings: Mapping | None) -> bool:
    """Whether ``settings`` are plain SGD's (None included)."""
    return checked(settings)["name"] == "sgd"


def held_arrays(settings: Mapping | None) -> int:
    """Weight-shaped arrays the optimiser keeps through a run: its state and its scratch."""
    rule = OPTIMIZERS[checked(settings)["name"]]
    return len(rule.state_names) + rule.scratch_arrays


def optimizer_label(settings: Mapping | None) -> str:
    """How captions name the optimiser: ``"Adam (β1 0.9, β2 0.999, ε 1e-08)"``, ``"SGD"``."""
    fields = checked(settings)
    name = fields["name"]
    if name == "sgd":
        return "SGD"
    if name == "momentum":
        return (
            f"{'Nesterov' if fields['nesterov'] else 'heavy-ball'} momentum {fields['momentum']:g}"
        )
    decay = f", weight decay {fields['weight_decay']:g}" if name == "adamw" else ""
    betas = f"β1 {fields['beta1']:g}, β2 {fields['beta2']:g}, ε {fields['epsilon']:g}"
    return f"{'AdamW' if name == 'adamw' else 'Adam'} ({betas}{decay})"


def no_theory_reason(settings: Mapping | None) -> str:
    """Why an experiment trained by ``settings`` has no stationary prediction (not plain SGD)."""
    return f"the stationary theory is plain SGD's; this experiment uses {optimizer_label(settings)}"
