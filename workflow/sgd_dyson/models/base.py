"""What every model declares: the `Model` interface and its defaults.

A model is one module of this package holding a subclass of `Model` and one
instance of it, ``MODEL``, registered by name in `sgd_dyson.models`. The
stages never ask which model they run: they call these methods, and the
figures and the report print the model's `Labels`. A method the base class
implements is the behaviour most models share; a model overrides what it
does differently.
"""

import dataclasses
import itertools

import numpy as np
import pyarrow as pa

from .. import optimizers, theory
from ..labels import Labels, sgd_labels, with_tuples
from ..simulation import Checkpoint, Snapshots, snapshot_steps
from ..tables import POINT_FIELDS


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


POINT_TYPES = {
    column.name: int if pa.types.is_integer(column.type) else float for column in POINT_FIELDS
}
"""Every parameter a sweep can vary, with its Python type (the point columns of the tables)."""

SEEDS = ("root_seed", "point_seed")

KEPT_COPIES = 5
"""Copies of the kept snapshots a simulation job holds at its peak (`Model.memory_bytes`)."""
WORKING_COPIES = 8
"""Weight-sized working arrays of a simulation at its peak (`Model.memory_bytes`)."""
STARTUP_BYTES = 500 * 2**20
"""Python, numpy, pandas and pyarrow loaded: the memory of a job before its arrays."""

SECONDS_PER_WORK_UNIT = 4e-7
"""Measured cost of a simulation per work unit (`Model.work`: replica × step × weight entry,
× Gibbs work for the RBM), start-up included, on one core of the development machine (an
upper bound over the models): the cluster's wall-time estimates (``common.smk``)."""

AMPLITUDE_KINDS = ("noise_squared", "target", "one")
"""How ``scale = sqrt(ratio × A)`` gets its amplitude: ε², the cluster's target, 1."""

CONTINUUM_KINDS = ("coulomb_gas", "theory")
"""Where the continuum slope ⟨S⟩/scale comes from: the two-level Coulomb gas (√π for a pair
of singular values), or the continuum limit of the model's own theory, point by point."""


def coulomb_gas_slope(observable: str, target: np.ndarray) -> np.ndarray:
    """Continuum Coulomb-gas ⟨S⟩ / scale of a degenerate pair (β = 1).

    With a quadratic well of width σ² = ratio × amplitude for the singular
    values (Aarts, Lucini & Park 2025) or the levels themselves (Dyson model),
    ``⟨S⟩ = √π σ``: slope ``√π``. Eigenvalues ``x = λ²`` of ``X = WᵀW`` near
    ``x* = λ*²`` spread ``dx = 2λ* dλ``, giving ``2√π sqrt(x*)``.
    """
    target = np.asarray(target, dtype=float)
    if observable == "gram_eigenvalues":
        return 2 * np.sqrt(np.pi) * np.sqrt(target)
    return np.full(target.shape, np.sqrt(np.pi))


class Model:
    """The interface of a model, with the behaviour simulated models share.

    Subclasses set the class attributes and override what differs. Methods
    take the validated experiment (its config mapping) and, where they are
    per point, the sweep point (a row of the sweep table as a dictionary).
    """

    name: str
    """The config's ``model:`` value."""
    title: str
    """How the report names the model."""
    parameters: tuple[str, ...]
    """The swept parameters; together they identify a point."""
    run: type | None = None
    """The run dataclass whose fields are one point's simulation settings; None: not simulated."""
    amplitude_kind: str | None = None
    """`AMPLITUDE_KINDS` entry of the scaling variable (None: read from the experiment)."""

    # --- configuration -------------------------------------------------------------

    def check_given(self, key: str, experiment: dict) -> None:
        """Raise `ConfigError` for what the user wrote, before the schema fills its defaults."""

    def check(self, key: str, experiment: dict) -> None:
        """Raise `ConfigError` naming the key for what the schema cannot state."""
        steps = experiment["steps"]
        for setting in ("snapshot_every", "burn_in"):
            value = experiment[setting]
            if value not in ("final", "auto") and value > steps:
                raise ConfigError(
                    f"config: {key}.{setting} = {value} exceeds {key}.steps = {steps}"
                )
        for index, grid in enumerate(experiment["sweep"]):
            for parameter in self.parameters:
                values = grid[parameter]
                if len(set(values)) != len(values):
                    raise ConfigError(
                        f"config: {key}.sweep[{index}].{parameter} lists a value twice: {values}"
                    )

    def points(self, key: str, experiment: dict) -> list[dict]:
        """The distinct points of the union of the grids, each with the ``scans`` holding it.

        Ordered by their swept parameters, with the run lengths of the experiment.
        """
        scans: dict[tuple, list[str]] = {}
        for grid in experiment["sweep"]:
            for values in itertools.product(*(grid[p] for p in self.parameters)):
                values = tuple(  # None: a parameter this experiment does not have
                    None if v is None else POINT_TYPES[p](v)
                    for p, v in zip(self.parameters, values, strict=True)
                )
                scans.setdefault(values, []).append(scan_name(grid, self.parameters))
        return [
            {
                **dict(zip(self.parameters, values, strict=True)),
                "scans": in_scans,
                "steps": experiment["steps"],
                "replicas": experiment["replicas"],
                "dataset_draws": self.dataset_draws(experiment),
            }
            for values, in_scans in sorted(scans.items())
        ]

    def dataset_draws(self, experiment: dict) -> int:
        """Independent dataset draws per point (1: the model has no dataset)."""
        return 1

    def snapshot_every(self, experiment: dict) -> int:
        """Steps between kept snapshots (``final``: only the last step is kept)."""
        value = experiment["snapshot_every"]
        return experiment["steps"] if value == "final" else value

    def burn_in(self, experiment: dict) -> int | str:
        """The first step whose snapshots are statistics (``final``: the last step only).

        ``auto`` stays ``auto``: the spectrum and fit stages choose the step from
        the levels of each point (`stationarity.stationary_start`).
        """
        value = experiment["burn_in"]
        return experiment["steps"] if value == "final" else value

    # --- simulation ----------------------------------------------------------------

    @property
    def simulated(self) -> bool:
        """Whether the workflow trains this model (else its weights are read from files)."""
        return self.run is not None

    def run_settings(self, experiment: dict, point: dict) -> dict:
        """The fields of `run` for one point: the experiment's, the point's and its seeds.

        Plain SGD has no ``optimizer`` key: the settings of its runs (the simulate rule's
        params, the checkpoints' fingerprints) are those from before other optimisers.
        """
        fields = {field.name for field in dataclasses.fields(self.run)}
        settings = {key: experiment.get(key) for key in fields - {*self.parameters, *SEEDS}}
        settings.update({key: point[key] for key in (*self.parameters, *SEEDS)})
        if "snapshot_every" in settings:
            settings["snapshot_every"] = self.snapshot_every(experiment)
        if "optimizer" in settings and optimizers.is_plain_sgd(settings["optimizer"]):
            del settings["optimizer"]
        return settings

    def simulate(self, settings: dict, checkpoint: Checkpoint | None = None) -> Snapshots:
        """Train the replicas of one point; ``settings`` from `run_settings`."""
        raise NotImplementedError(f"model {self.name} is not simulated")

    def matrix_size(self, experiment: dict) -> int:
        """The size n of the n × n trained matrix."""
        return experiment["size"]

    def weight_elements(self, experiment: dict) -> int:
        """Trained weights per replica: n² of the n × n matrix."""
        return self.matrix_size(experiment) ** 2

    def work(self, experiment: dict, point: dict) -> float:
        """Cost of a point's simulation in work units: replicas × steps × n²."""
        return experiment["replicas"] * experiment["steps"] * self.weight_elements(experiment)

    chunk_elements: int = 2**22
    """Bound on the elements of one chunk's per-step random arrays (the module's CHUNK_ELEMENTS)."""

    def step_elements(self, experiment: dict, point: dict) -> int:
        """Elements of one step's random arrays: a chunk holds at least one step of them."""
        return experiment["replicas"] * self.weight_elements(experiment)

    def extra_elements(self, experiment: dict, point: dict) -> int:
        """Elements of the model's own long-lived arrays (chains, datasets); none by default."""
        return 0

    def memory_bytes(self, experiment: dict, point: dict) -> int:
        """Peak memory of one point's simulation job, in bytes (an upper estimate).

        With ``E = replicas × n²`` the elements of the weights and ``S`` the kept
        snapshots (`snapshot_steps`): ``8 × [KEPT_COPIES × S × E`` (the kept
        per-step copies, the stack of the survivors, the table column and its
        Arrow buffer, the checkpoint's stack) ``+ (WORKING_COPIES + O) × E`` (the
        state, the update's temporaries, the divergence check, and the ``O``
        arrays of the optimiser, `optimizers.held_arrays`) ``+ 2 ×
        max(chunk_elements, step_elements)`` (a chunk's random arrays, drawn and
        transformed) ``+ extra_elements]`` plus `STARTUP_BYTES` of interpreter
        and libraries. Read off the models' ``simulate`` functions.
        """
        elements = experiment["replicas"] * self.weight_elements(experiment)
        kept = len(snapshot_steps(experiment["steps"], self.snapshot_every(experiment)))
        chunk = max(self.chunk_elements, self.step_elements(experiment, point))
        working = WORKING_COPIES + optimizers.held_arrays(experiment.get("optimizer"))
        total = (KEPT_COPIES * kept + working) * elements + 2 * chunk
        return STARTUP_BYTES + 8 * (total + self.extra_elements(experiment, point))

    # --- analysis ------------------------------------------------------------------

    def targets(self, experiment: dict) -> list[float] | str:
        """Where the analysed matrix's singular values should sit, ascending (or ``auto``)."""
        raise NotImplementedError

    def layer_targets(self, experiment: dict) -> list[tuple[int, list[float] | str]]:
        """``(layer, targets)`` of every analysed weight matrix: one matrix, layer 0."""
        return [(0, self.targets(experiment))]

    def amplitude(self, experiment: dict) -> str:
        """The `AMPLITUDE_KINDS` entry of the scaling variable."""
        return self.amplitude_kind

    def continuum(self, experiment: dict) -> str | None:
        """The `CONTINUUM_KINDS` entry of the continuum slope, or None if none is known."""
        return None

    def has_theory(self, experiment: dict) -> bool:
        """Whether the theory stage predicts this experiment's stationary spectrum."""
        return False

    def has_wide_limit(self, experiment: dict) -> bool:
        """Whether the wide-limit stage compares this experiment's levels with their laws
        (`stages.wide_limit`; a model with `initial_snapshots`)."""
        return False

    def initial_snapshots(self, settings: dict) -> Snapshots:
        """The weights of every replica at step 0, as `simulate` starts (``settings`` of it)."""
        raise NotImplementedError(f"model {self.name} has no initial weights to analyse")

    def has_phase_diagram(self, experiment: dict) -> bool:
        """Whether the phase stage maps this experiment's cells (`stages.phase`)."""
        return False

    def theory_settings(self, experiment: dict, point: dict) -> dict:
        """What `stationary_law` reads of the experiment and the point (beyond the common keys)."""
        return {}

    def stationary_law(self, settings: dict, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(center, moments)``: the stationary mean matrix and the second moments about it.

        ``moments`` is ``(n, n, n, n)``, ``E[D_ij D_kl]`` of ``D = W − center``;
        ``exact=False`` gives the continuum limit. Raises ``ValueError`` where
        there is no stationary state.
        """
        raise NotImplementedError(f"model {self.name} has no theory")

    def predicted_levels(
        self, settings: dict, exact: bool, generator: np.random.Generator
    ) -> np.ndarray:
        """``settings["samples"]`` draws of the stationary law's levels, ``(samples, levels)``.

        The levels of every analysed layer in turn, each ascending. By default
        Gaussian weights with the `stationary_law` (`theory.predicted_levels`).
        Raises ``ValueError`` (`theory.NoPredictionError` with its reason) where
        there is no prediction.
        """
        center, moments = self.stationary_law(settings, exact)
        return theory.predicted_levels(
            center, moments, settings["samples"], generator, settings["observable"]
        )

    def theory_remark(self, name: str, experiment: dict, root_seed: int) -> str:
        """A sentence on the theory that the front page prints under the experiment ``name``
        (computed in the front-page job, since it may take seconds); none by default."""
        return ""

    def labels(self, experiment: dict) -> Labels:
        """How figures, captions and the report name this experiment's quantities."""
        raise NotImplementedError


def run_of(run: type, settings: dict):
    """The run dataclass ``run`` of canonical ``settings`` (lists become tuples)."""
    return run(**with_tuples(settings))


def scan_name(grid: dict, parameters: tuple[str, ...]) -> str:
    """A grid's label: its ``name``, else what it varies (``"learning_rate scan"``)."""
    if "name" in grid:
        return grid["name"]
    varied = [p for p in parameters if len(grid[p]) > 1]
    return " × ".join(varied) + " scan" if varied else "single point"


def simulated_description(title: str, experiment: dict, steps: str = "updates") -> str:
    """``"<title>, 3000 replicas per point, 5000 updates"`` for the captions.

    An optimiser other than plain SGD follows the title: ``"<title>, Adam (β1 0.9, β2
    0.999, ε 1e-08), …"`` (`optimizers.optimizer_label`).
    """
    optimizer = experiment.get("optimizer")
    if not optimizers.is_plain_sgd(optimizer):
        title = f"{title}, {optimizers.optimizer_label(optimizer)}"
    return f"{title}, {experiment['replicas']} replicas per point, {experiment['steps']} {steps}"


__all__ = ["Labels", "Model", "sgd_labels"]
