"""The models the workflow trains, by their config name."""

from . import dyson, gaussian_rbm, teacher_student
from .simulation import Checkpoint, Snapshots

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


def simulate(model: str, settings: dict, checkpoint: Checkpoint | None = None) -> Snapshots:
    """Simulate one sweep point of ``model``; ``settings`` are its run class's fields.

    With a ``checkpoint``, save the loop state every so often and resume from
    an earlier save of the same run (`simulation.Trajectory`).
    """
    return SIMULATIONS[model](RUN_SETTINGS[model](**settings), checkpoint)
