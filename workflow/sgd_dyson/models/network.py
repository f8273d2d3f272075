"""The feed-forward teacher–student network trained by mini-batch SGD (`model: network`).

The simulation is `sgd_dyson.networks` (forward pass, hand-written
backpropagation, data and noise, vectorised over replicas); this module
declares the model to the workflow: its config rules, its sweep points
(learning rate, batch size, noise and the initial width σ_W, ``init_width``, the
config's ``init_scale``), its run settings (the update rule among them: `optimizers`,
plain SGD by default) and cost, and the targets of every learnable matrix, each of
which is analysed as its own layer (the spectrum table's ``layer`` column).
One weight matrix with the identity activation, a given teacher and injected
noise is the linear `teacher_student` model in law (`tests/test_networks.py`).
"""

import numpy as np

from .. import linearised, networks
from ..network_data import dataset_elements, learnable_views, step_elements
from ..optimizers import is_plain_sgd, no_theory_reason
from ..phase import phase_architecture
from ..seeding import draw_of_replica
from ..simulation import Checkpoint, LayeredSnapshots, Snapshots
from ..theory import NoPredictionError
from .base import (
    SECONDS_PER_WORK_UNIT,
    ConfigError,
    Labels,
    Model,
    run_of,
    sgd_labels,
    simulated_description,
)

SECONDS_PER_REPLICA_STEP = 1.1e-6
"""Measured cost of one SGD step of one replica of the phase-diagram network (3 → 32 → 16 → 1,
tanh, |B| = 4, 100 replicas): the reference of `NetworkModel.work`."""
REFERENCE_STEP_ELEMENTS = 4 * (3 * 32 + 32 * 16 + 16)
"""|B| × Σ n_k n_{k+1} of that network: the matrix products of one step."""

NO_THEORY = (
    "the linearised theory needs a given teacher (the targets of its clusters) and noise "
    "(without noise the stationary state is the teacher itself)"
)
THEORY_NOTE = (
    "Small black crosses: the linearised stationary prediction at the teacher (the Hessian and "
    "the gradient noise by Monte Carlo over inputs, the discrete-time equation with its "
    "multiplicative mini-batch term, Gaussian weights through the spectrum). It holds near the "
    "teacher: it misses where the noise or the learning rate carries the weights out of the "
    "quadratic region."
)
SWITCHED_OFF = (
    "the linearised theory is switched off (linearised_theory: false; a network of more than "
    "1024 learnable entries must)"
)
LINEARISED_MAX_PARAMETERS = 1024
"""Largest P (learnable entries) the linearised theory takes: its Jacobians hold samples × n_L × P
numbers and each GMRES step costs samples · n_L · P² (`linearised`)."""
TEACHER_NOTE = (
    "No continuum line: behind fixed layers and activations the levels of a cluster relax at "
    "different speeds, so the slope is not the Coulomb gas's √π."
)


class NetworkModel(Model):
    """Teacher–student feed-forward networks ``h_{k+1} = f_k(W_k h_k)``, some matrices trained."""

    name = "network"
    title = "feed-forward network SGD"
    parameters = ("learning_rate", "batch_size", "noise", "init_width")
    run = networks.NetworkRun

    # --- configuration -------------------------------------------------------------

    def check(self, key: str, experiment: dict) -> None:
        super().check(key, point_grids(experiment))
        layers, learnable = experiment["layers"], experiment["learnable"]
        matrices = len(layers) - 1
        if learnable != sorted(set(learnable)) or learnable[-1] >= matrices:
            raise ConfigError(
                f"config: {key}.learnable = {learnable} must name distinct weight matrices in "
                f"ascending order, each below {matrices} (the matrices of {key}.layers = {layers})"
            )
        try:
            networks.activations_of(experiment["activation"], matrices)
        except ValueError as error:
            raise ConfigError(f"config: {key}.{error}") from None
        self._check_teacher(key, experiment)
        for index, grid in enumerate(experiment["sweep"]):
            noisy = experiment["noise_kind"] != "none"
            if noisy != ("noise" in grid):
                need = "needs" if noisy else "must not have"
                raise ConfigError(
                    f"config: {key}.sweep[{index}] {need} a noise list with "
                    f"{key}.noise_kind = {experiment['noise_kind']}"
                )
        if experiment["dataset"] == "paper" and experiment["noise_kind"] == "label":
            raise ConfigError(
                f"config: {key}.noise_kind = label with {key}.dataset = paper gives every "
                "replica of a draw the same data and labels, so replicas differ only by their "
                "initial weights and have no stationary spread; use dataset per_replica or online"
            )
        if experiment["phase_diagram"] is not None:
            self._check_phase_diagram(key, experiment)
        if self.has_theory(experiment) and self.weight_elements(experiment) > (
            LINEARISED_MAX_PARAMETERS
        ):
            raise ConfigError(
                f"config: {key} has {self.weight_elements(experiment)} learnable entries, more "
                f"than the linearised theory takes ({LINEARISED_MAX_PARAMETERS}); set "
                f"{key}.linearised_theory = false"
            )
        if experiment["wide_limit"] is not None:
            self._check_wide_limit(key, experiment)
        if experiment["dataset_draws"] > experiment["replicas"]:
            raise ConfigError(
                f"config: {key}.dataset_draws = {experiment['dataset_draws']} exceeds "
                f"{key}.replicas = {experiment['replicas']}"
            )

    @staticmethod
    def _check_wide_limit(key: str, experiment: dict) -> None:
        """The wide-limit stage: levels of X, a teacher's clusters, noise to spread them."""
        needs = {
            "observable = gram_eigenvalues (the levels of X = W Wᵀ)": experiment["observable"]
            == "gram_eigenvalues",
            "a teacher (its degenerate clusters)": experiment["teacher"] is not None,
            "noise (a stationary spread)": experiment["noise_kind"] != "none",
        }
        missing = [need for need, met in needs.items() if not met]
        if missing:
            raise ConfigError(
                f"config: {key}.wide_limit = {experiment['wide_limit']!r} needs "
                + " and ".join(missing)
            )

    def _check_phase_diagram(self, key: str, experiment: dict) -> None:
        """The phase stage's architecture (`phase.phase_architecture`)."""
        try:
            phase_architecture(self._run(experiment, self.points(key, experiment)[0]))
        except ValueError as error:
            raise ConfigError(f"config: {key}.phase_diagram: {error}") from None

    @staticmethod
    def _check_teacher(key: str, experiment: dict) -> None:
        teacher = experiment["teacher"]
        if teacher is None:
            return
        expected = [levels_of(experiment, k) for k in experiment["learnable"]]
        given = teacher_lists(experiment)
        if [len(values) for values in given] != expected:
            raise ConfigError(
                f"config: {key}.teacher = {teacher} must give {expected} singular values "
                f"(min(rows, cols) of each learnable matrix {experiment['learnable']}; a list "
                "of lists when several are learnable)"
            )

    def points(self, key: str, experiment: dict) -> list[dict]:
        """`Model.points` of the grids of `point_grids`."""
        return super().points(key, point_grids(experiment))

    def dataset_draws(self, experiment: dict) -> int:
        return experiment["dataset_draws"]

    # --- simulation ----------------------------------------------------------------

    def run_settings(self, experiment: dict, point: dict) -> dict:
        """`Model.run_settings` plus the activation of every matrix and the teacher as lists."""
        settings = super().run_settings(experiment, point)
        settings["activations"] = list(
            networks.activations_of(experiment["activation"], len(experiment["layers"]) - 1)
        )
        teacher = experiment["teacher"]
        settings["teacher"] = None if teacher is None else teacher_lists(experiment)
        settings["noise"] = 0.0 if point["noise"] is None else point["noise"]
        return settings

    def simulate(self, settings: dict, checkpoint: Checkpoint | None = None) -> LayeredSnapshots:
        run = run_of(networks.NetworkRun, settings)
        return LayeredSnapshots(
            dict(zip(run.learnable, networks.simulate(run, checkpoint), strict=True))
        )

    def initial_snapshots(self, settings: dict) -> LayeredSnapshots:
        """The students' learnable matrices at step 0 (`networks.initial_weights`, the weights
        `simulate` starts from), every replica, as one snapshot at step 0 per layer."""
        run = run_of(networks.NetworkRun, settings)
        weights = networks.initial_weights(run)
        replicas = np.arange(run.replicas)
        draws = draw_of_replica(run.replicas, run.dataset_draws)
        return LayeredSnapshots(
            {
                k: Snapshots(np.array([0]), view[np.newaxis], replicas, draws, 0, None)
                for k, view in zip(run.learnable, learnable_views(run, weights), strict=True)
            }
        )

    def _run(self, experiment: dict, point: dict) -> networks.NetworkRun:
        """The run of ``point`` (seeds or not): to check its shapes and size its arrays."""
        return run_of(networks.NetworkRun, self.run_settings(experiment, {**SEEDLESS, **point}))

    def weight_elements(self, experiment: dict) -> int:
        """Learnable entries per replica: Σ rows × cols of the learnable matrices."""
        layers = experiment["layers"]
        return sum(layers[k] * layers[k + 1] for k in experiment["learnable"])

    def work(self, experiment: dict, point: dict) -> float:
        """Work units: replicas × steps × the measured step cost scaled by its matrix products."""
        products = point["batch_size"] * matrix_entries(experiment)
        seconds = SECONDS_PER_REPLICA_STEP * max(1.0, products / REFERENCE_STEP_ELEMENTS)
        return experiment["replicas"] * experiment["steps"] * seconds / SECONDS_PER_WORK_UNIT

    chunk_elements = networks.CHUNK_ELEMENTS

    def step_elements(self, experiment: dict, point: dict) -> int:
        return step_elements(self._run(experiment, point))

    def extra_elements(self, experiment: dict, point: dict) -> int:
        """The paper protocol's datasets, and the fixed matrices and teacher of every replica."""
        replica_matrices = 2 * experiment["replicas"] * matrix_entries(experiment)
        return dataset_elements(self._run(experiment, point)) + replica_matrices

    # --- analysis ------------------------------------------------------------------

    def targets(self, experiment: dict) -> list[float] | str:
        """The first learnable matrix's targets (`layer_targets` has every layer's)."""
        return self.layer_targets(experiment)[0][1]

    def layer_targets(self, experiment: dict) -> list[tuple[int, list[float] | str]]:
        """Per learnable matrix: the teacher's singular values, or ``auto`` for a Gaussian
        teacher (found in the data: the teacher is drawn per dataset draw)."""
        learnable = experiment["learnable"]
        if experiment["teacher"] is None:
            return [(k, "auto") for k in learnable]
        return [
            (k, sorted(float(value) for value in values))
            for k, values in zip(learnable, teacher_lists(experiment), strict=True)
        ]

    def amplitude(self, experiment: dict) -> str:
        return "one" if experiment["noise_kind"] == "none" else "noise_squared"

    def has_phase_diagram(self, experiment: dict) -> bool:
        return experiment["phase_diagram"] is not None

    def has_theory(self, experiment: dict) -> bool:
        """The linearised theory: a given teacher (targets to cluster by), noise, plain SGD
        (the theory's), and not switched off (``linearised_theory``)."""
        return (
            experiment["linearised_theory"]
            and experiment["teacher"] is not None
            and experiment["noise_kind"] != "none"
            and is_plain_sgd(experiment.get("optimizer"))
        )

    @staticmethod
    def _no_theory_reason(experiment: dict) -> str:
        """Why `has_theory` is false, the first condition that fails."""
        if not is_plain_sgd(experiment.get("optimizer")):
            return no_theory_reason(experiment["optimizer"])
        return NO_THEORY if experiment["linearised_theory"] else SWITCHED_OFF

    def has_wide_limit(self, experiment: dict) -> bool:
        return experiment["wide_limit"] is not None

    def theory_settings(self, experiment: dict, point: dict) -> dict:
        """The run of the point, without what the stationary law does not depend on."""
        run = self.run_settings(experiment, point)
        run.update(steps=1, snapshot_every=1, replicas=experiment["dataset_draws"])
        return {"run": run}

    def predicted_levels(
        self, settings: dict, exact: bool, generator: np.random.Generator
    ) -> np.ndarray:
        """The linearised stationary law at the teacher (`linearised.stationary_laws`), per draw,
        from ``samples`` Monte-Carlo inputs; its levels per learnable matrix, layer after layer."""
        run = run_of(networks.NetworkRun, settings["run"])
        samples, observable = settings["samples"], settings["observable"]
        try:
            laws = linearised.stationary_laws(run, samples, exact)
        except linearised.LinearisationError as error:
            raise NoPredictionError(str(error), status="not_linearisable") from None
        if laws is None:
            raise NoPredictionError("SGD is not mean-square stable at the teacher")
        return np.hstack(
            [
                linearised.predicted_levels(run, laws, index, samples, generator, observable)
                for index in range(len(run.learnable))
            ]
        )

    def labels(self, experiment: dict) -> Labels:
        layers = " → ".join(map(str, experiment["layers"]))
        activation = experiment["activation"]
        activation = activation if isinstance(activation, str) else "/".join(activation)
        trained = ", ".join(f"W{k}" for k in experiment["learnable"])
        return sgd_labels(
            self.parameters,
            self.amplitude(experiment),
            description=simulated_description(
                f"{layers} {activation} network trained in {trained}, "
                f"{experiment['dataset']} dataset, {experiment['noise_kind']} noise",
                experiment,
            ),
            continuum_note=TEACHER_NOTE,
            theory_note=THEORY_NOTE if self.has_theory(experiment) else "",
            no_theory_reason=self._no_theory_reason(experiment),
        )


SEEDLESS = {"root_seed": 0, "point_seed": 0}
"""Seeds for a run built only to size its arrays (`NetworkModel.step_elements`)."""


def point_grids(experiment: dict) -> dict:
    """``experiment`` with every grid giving all the point parameters: ``noise`` (none without
    a noise kind) and the initial width ``init_width`` σ_W (the grid's ``init_scale``, else the
    experiment's)."""
    grids = [
        {
            "noise": [None],
            "init_width": grid.get("init_scale", [experiment["init_scale"]]),
            **{name: values for name, values in grid.items() if name != "init_scale"},
        }
        for grid in experiment["sweep"]
    ]
    return {**experiment, "sweep": grids}


def levels_of(experiment: dict, matrix: int) -> int:
    """Singular values of weight matrix ``matrix``: min(rows, cols)."""
    layers = experiment["layers"]
    return min(layers[matrix], layers[matrix + 1])


def matrix_entries(experiment: dict) -> int:
    """Entries of all the network's weight matrices: Σ n_k n_{k+1}."""
    layers = experiment["layers"]
    return sum(a * b for a, b in zip(layers[:-1], layers[1:], strict=True))


def teacher_lists(experiment: dict) -> list[list[float]]:
    """The teacher's singular values per learnable matrix (a flat list: the one matrix; a
    number: every singular value of every learnable matrix)."""
    teacher = experiment["teacher"]
    if isinstance(teacher, int | float):
        return [[float(teacher)] * levels_of(experiment, k) for k in experiment["learnable"]]
    if all(isinstance(value, int | float) for value in teacher):
        return [[float(value) for value in teacher]]
    return [[float(value) for value in values] for values in teacher]


MODEL = NetworkModel()
