"""How a model's quantities are named: the `Labels` figures, captions and the report print.

Every model declares its labels (`models.base.Model.labels`); the figures and
the report read them and never ask which model they draw.
"""

import dataclasses
from dataclasses import dataclass


def with_tuples(settings: dict) -> dict:
    """``settings`` with its lists as tuples: canonical params back as dataclass fields."""
    return {key: tuple(v) if isinstance(v, list) else v for key, v in settings.items()}


@dataclass(frozen=True)
class Labels:
    """How the figures, their captions and the report name a model's quantities.

    Plain text (the captions escape it for reST). The short fields label
    axes and titles; the notes are whole sentences of the captions.
    """

    parameters: tuple[str, ...]
    """The swept point parameters (keys of `POINT_TYPES`)."""
    ratio: str = "α/|B|"
    """Symbol of the effective temperature."""
    ratio_name: str = "α/|B|"
    """The effective temperature as an axis names it."""
    scale: str = "√(α ε²/|B|)"
    """The scaling variable sqrt(ratio × A)."""
    amplitude: str = "A = ε²"
    step: str = "training step"
    process: str = "training"
    """What moves the levels, as in "the levels during training"."""
    cluster_scale: bool = False
    """The amplitude is the cluster's target: points are placed by ratio, not by scale."""
    simulated: bool = True
    """The flow is a rerun with fine snapshots (False: the snapshots of the data)."""
    discrete_time: bool = True
    """The exact theory departs from its continuum limit by O(α) (SGD)."""
    description: str = ""
    """What was run, for the captions: "teacher–student model, online dataset, ..."."""
    continuum_note: str = ""
    """The continuum prediction drawn dashed, or why there is none."""
    theory_note: str = ""
    """What the theory's crosses are; empty without a theory."""
    no_theory_reason: str = "this model has no theory"
    centres_note: str = (
        "The centres should sit on their targets within errors; a systematic offset growing "
        "with the ratio would be a bias of the noise."
    )

    def as_params(self) -> dict:
        """The labels as a plain dictionary (Snakemake params, JSON)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_params(cls, params: dict) -> "Labels":
        """The `Labels` back from `as_params` (lists become tuples again)."""
        return cls(**with_tuples(params))


SGD_SCALES = {"noise_squared": "√(α ε²/|B|)", "target": "√(α x*/|B|)", "one": "√(α/|B|)"}
SGD_AMPLITUDES = {"noise_squared": "A = ε²", "target": "A = x*", "one": "A = 1"}


def sgd_labels(parameters: tuple[str, ...], amplitude: str, **notes) -> Labels:
    """`Labels` of a model trained by SGD-like updates at ratio α/|B| with ``amplitude``."""
    return Labels(
        parameters=parameters,
        scale=SGD_SCALES[amplitude],
        amplitude=SGD_AMPLITUDES[amplitude],
        cluster_scale=amplitude == "target",
        **notes,
    )
