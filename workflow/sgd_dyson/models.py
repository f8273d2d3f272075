"""The models the workflow trains, by their config name."""

from . import dyson, gaussian_rbm, teacher_student
from .simulation import Snapshots

RUN_SETTINGS = {
    "teacher_student": teacher_student.TeacherStudentRun,
    "gaussian_rbm": gaussian_rbm.GaussianRBMRun,
    "dyson": dyson.DysonRun,
}
SIMULATIONS = {
    "teacher_student": teacher_student.simulate,
    "gaussian_rbm": gaussian_rbm.simulate,
    "dyson": dyson.simulate,
}


def simulate(model: str, settings: dict) -> Snapshots:
    """Simulate one sweep point of ``model``; ``settings`` are its run class's fields."""
    return SIMULATIONS[model](RUN_SETTINGS[model](**settings))
