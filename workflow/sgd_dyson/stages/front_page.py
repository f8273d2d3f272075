"""Rule front_page: the report's landing page, every experiment's slope next to the theory
and its exponents of α and |B| next to the scaling rules.

`settings` is what the rule reads of the config and the models (its
``experiments`` param, one entry per experiment); `read_experiments` and
`write` are the rule's step: the scaling tables and the two figures of each
experiment in, `sgd_dyson.report.front_page.front_page` out. Its ``unfinished``
param names the experiments a partial report leaves out (empty otherwise).
"""

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

from ..models import MODELS, Model
from ..report.front_page import front_page
from ..tables import atomic_path, read_table

DEFAULT_OPTIMIZER = {"name": "sgd"}
"""The optimiser of an experiment whose config names none: plain SGD."""


def settings(name: str, model: Model, experiment: dict, root_seed: int) -> dict:
    """The front page's param of one experiment: its name, model title, optimiser and scale,
    and what its theory remark reads.

    ``optimizer`` is the name of the experiment's ``optimizer`` (plain SGD
    where the config has none), or None for a model without a learning rate
    (the Dyson process is not trained); ``scale`` the label of the scaling
    variable (`Labels.scale` of the model for this validated ``experiment``);
    ``model``, ``experiment`` and ``root_seed`` what `theory_remarks` passes to
    `Model.theory_remark`.
    """
    trained = "learning_rate" in model.parameters
    return {
        "name": name,
        "title": model.title,
        "optimizer": experiment.get("optimizer", DEFAULT_OPTIMIZER)["name"] if trained else None,
        "scale": model.labels(experiment).scale,
        "model": model.name,
        "experiment": experiment,
        "root_seed": root_seed,
    }


def theory_remark(settings: dict) -> str:
    """`Model.theory_remark` of one experiment's `settings` ("" without ``model``)."""
    if "model" not in settings:
        return ""
    model = MODELS[settings["model"]]
    return model.theory_remark(settings["name"], settings["experiment"], settings["root_seed"])


def read_experiments(
    settings: Sequence[dict],
    scaling: Sequence[str | PathLike],
    scaling_fit: Sequence[str | PathLike],
    scaling_exponents: Sequence[str | PathLike],
    scaling_png: Sequence[str | PathLike],
    flow_png: Sequence[str | PathLike],
) -> list[dict]:
    """The experiments as `front_page` takes them: each one's `settings`, its files read
    and its `theory_remark`.

    The six sequences run in the same order, one entry per experiment: the
    scaling, scaling_fit and scaling_exponents tables (Parquet) and the PNG
    files of the scaling and eigenvalue-flow figures.
    """
    files = zip(
        settings, scaling, scaling_fit, scaling_exponents, scaling_png, flow_png, strict=True
    )
    return [
        {
            **experiment,
            "scaling": read_table(scaling_file, "scaling"),
            "scaling_fit": read_table(scaling_fit_file, "scaling_fit"),
            "scaling_exponents": read_table(exponents_file, "scaling_exponents"),
            "scaling_png": Path(scaling_figure).read_bytes(),
            "flow_png": Path(flow_figure).read_bytes(),
            "theory_remark": theory_remark(experiment),
        }
        for (
            experiment,
            scaling_file,
            scaling_fit_file,
            exponents_file,
            scaling_figure,
            flow_figure,
        ) in files
    ]


def write(
    experiments: list[dict], unfinished: Mapping[str, Sequence[str]], path: str | PathLike
) -> None:
    """Write the front page of ``experiments`` (from `read_experiments`) to ``path`` atomically.

    ``unfinished`` names the experiments left out because a job of theirs did
    not finish, each with its failed jobs' logs (`sgd_dyson.report.partial`).
    """
    with atomic_path(path) as temporary:
        temporary.write_text(front_page(experiments, unfinished), encoding="utf-8")
