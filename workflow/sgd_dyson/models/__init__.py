"""The models, by their config name: each is one module holding a `base.Model` subclass.

Adding a model is writing its module (see ``CONTRIBUTING.md``) and one line in
`MODELS`.
"""

from . import dyson, external, gaussian_rbm, network, teacher_student
from .base import Labels, Model

MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        teacher_student.MODEL,
        gaussian_rbm.MODEL,
        dyson.MODEL,
        network.MODEL,
        external.MODEL,
    )
}


def model_of(experiment: dict) -> Model:
    """The `Model` an experiment of the validated config names."""
    return MODELS[experiment["model"]]


__all__ = ["MODELS", "Labels", "Model", "model_of"]
