"""The base runs of the model tests, and one cached simulation of any model's run.

Each model's tests vary their base run with `dataclasses.replace`; `simulated`
runs a run through its model's `Model.simulate` (found by the run's type) and
keeps the result, so that tests sharing a run pay for it once.
"""

from dataclasses import asdict
from functools import cache

from sgd_dyson.models import MODELS, Model
from sgd_dyson.models.dyson import DysonRun
from sgd_dyson.models.gaussian_rbm import GaussianRBMRun
from sgd_dyson.models.teacher_student import TeacherStudentRun
from sgd_dyson.networks import NetworkRun, activations_of
from sgd_dyson.simulation import Snapshots

TEACHER_STUDENT = TeacherStudentRun(
    teacher=(2.0, 2.0),
    noise_kind="injected",
    dataset="online",
    dataset_draws=1,
    batches_per_epoch=50,
    steps=200,
    replicas=64,
    init_scale=0.1,
    snapshot_every=50,
    divergence_threshold=1e3,
    learning_rate=0.1,
    batch_size=16,
    noise=0.1,
    root_seed=20240723,
    point_seed=1234567,
)
"""Teacher–student base run: N = 2, online data, injected noise."""

GAUSSIAN_RBM = GaussianRBMRun(
    size=10,
    mass=3.0,
    field_mass=2.0,
    hidden_std=1.0,
    gibbs_steps=3,
    gibbs_sampler="transition",
    steps=60,
    replicas=16,
    init_scale=0.1,
    snapshot_every=20,
    learning_rate=0.1,
    batch_size=4,
    root_seed=20240723,
    point_seed=7654321,
)
"""Gaussian RBM base run: a 10-site lattice field of mass 2."""

DYSON = DysonRun(
    target=(1.0, 1.0, 3.0),
    temperature=0.04,
    time_step=0.5,
    steps=20,
    replicas=64,
    init_scale=1.0,
    snapshot_every=10,
    root_seed=20240723,
    point_seed=7654321,
)
"""Dyson null model base run: a pair and a single level."""

PHASE_NETWORK = NetworkRun(
    layers=(3, 32, 16, 1),
    activations=activations_of("tanh", 3),
    learnable=(1,),
    teacher=None,
    init_width=1.0,
    noise_kind="none",
    dataset="paper",
    dataset_draws=8,
    batches_per_epoch=1000,
    steps=3000,
    replicas=8,
    snapshot_every=1000,
    divergence_threshold=1e6,
    loss_threshold=100.0,
    learning_rate=0.05,
    batch_size=4,
    noise=0.0,
    root_seed=20240723,
    point_seed=99,
)
"""Network base run: the phase diagram's 3 → 32 → 16 → 1 tanh network, middle matrix trained,
a Gaussian teacher, every replica its own network and dataset (arXiv:2509.01349)."""


def model_of_run(run) -> Model:
    """The registered model whose run dataclass (`Model.run`) is the type of ``run``."""
    (model,) = (model for model in MODELS.values() if model.run is type(run))
    return model


@cache
def simulated(run) -> Snapshots:
    """``run`` simulated by its model (`model_of_run`), cached by its settings."""
    return model_of_run(run).simulate(asdict(run))
