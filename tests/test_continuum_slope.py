"""The continuum slope a model predicts: the Coulomb gas's √π, or its theory's own continuum.

Behind a hidden layer ``Z`` the continuum limit of the teacher–student model is
the Lyapunov solution with ``G = ZᵀZ``: the two levels of a pair relax at
different speeds, the pair is no equal-width Coulomb gas, and its ⟨S⟩/scale is
not √π. The scaling table must take that slope from the model's theory.
"""

import numpy as np
import pandas as pd
import pytest

from sgd_dyson.config import point_id
from sgd_dyson.models import MODELS
from sgd_dyson.seeding import point_seed
from sgd_dyson.stages import scaling, theory
from sgd_dyson.tables import column_names

from tolerances import bonferroni_z

ROOT_SEED = 11
POINTS = [{"learning_rate": rate, "batch_size": 16, "noise": 0.1} for rate in (0.05, 0.1, 0.2)]


def experiment(hidden: list[float] | None) -> dict:
    settings = {
        "model": "teacher_student",
        "size": 2,
        "teacher": [2.0, 2.0],
        "noise_kind": "injected",
        "observable": "singular_values",
        "cluster_tolerance": 1.0e-6,
        "theory": {"samples": 20000},
    }
    return settings if hidden is None else {**settings, "hidden": hidden}


def theory_table(hidden: list[float] | None) -> pd.DataFrame:
    """The theory table (exact and continuum rows) of the three points."""
    setup = experiment(hidden)
    tables = []
    for point in POINTS:
        row = {**point, "point": point_id(point), "root_seed": ROOT_SEED}
        row["point_seed"] = point_seed("continuum", row["point"])
        tables.append(theory.table(theory.settings(setup, row), row))
    return pd.concat(tables, ignore_index=True)


def theory_rows(hidden: list[float] | None) -> pd.DataFrame:
    """The continuum rows of `theory_table`, in the order of the points."""
    predictions = theory_table(hidden)
    return predictions[predictions["prediction"] == "continuum"].reset_index(drop=True)


def predicted_scaling(hidden: list[float] | None) -> pd.DataFrame:
    """The scaling table of the three points, with the theory's ⟨S⟩ standing in for the fits."""
    setup = experiment(hidden)
    model = MODELS["teacher_student"]
    predictions = theory_table(hidden)
    fits, sweep = [], []
    for point in POINTS:
        identifier = point_id(point)
        exact_rows = predictions[
            (predictions["point"] == identifier) & (predictions["prediction"] == "exact")
        ]
        exact = exact_rows.iloc[0]
        fits.append(
            {
                **point,
                "point": identifier,
                "cluster": 0,
                "levels": 2,
                "target": 2.0,
                "mean_spacing": exact["mean_spacing"],
                "mean_spacing_err": exact["mean_spacing_err"],
                "status": "ok",
            }
        )
        ratio = point["learning_rate"] / point["batch_size"]
        sweep.append({"experiment": "continuum", "point": identifier, "ratio": ratio, "scans": []})
    return scaling.scaling_table(
        pd.DataFrame(sweep),
        pd.DataFrame(fits).reindex(columns=column_names("fit")),
        model.amplitude(setup),
        setup["observable"],
        model.continuum(setup),
        theory=predictions,
    )


def continuum_spacing(hidden: list[float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The theory's continuum ⟨S⟩, its Monte-Carlo error and the scale, at the three points."""
    table = predicted_scaling(hidden)
    continuum = theory_rows(hidden)
    return (
        continuum["mean_spacing"].to_numpy(),
        continuum["mean_spacing_err"].to_numpy(),
        table["scale"].to_numpy(),
    )


def test_the_model_declares_where_its_continuum_slope_comes_from():
    model = MODELS["teacher_student"]
    assert model.continuum(experiment(None)) == "coulomb_gas"
    assert model.continuum(experiment([1.5, 0.5])) == "theory"
    assert MODELS["gaussian_rbm"].continuum({}) == "theory"
    assert MODELS["dyson"].continuum({}) == "coulomb_gas"


def test_without_hidden_layer_the_continuum_slope_is_the_coulomb_gas_sqrt_pi():
    table = predicted_scaling(None)
    np.testing.assert_array_equal(table["continuum_slope"], np.sqrt(np.pi))


@pytest.mark.parametrize("hidden", [None, [1.5, 0.5]])
def test_hidden_layer_continuum_slope_is_the_theorys_continuum_spacing_over_the_scale(hidden):
    table = predicted_scaling(hidden)
    continuum = MODELS["teacher_student"].continuum(experiment(hidden))
    from_theory = scaling.continuum_slopes(table, "theory", "singular_values")
    expected = from_theory if continuum == "theory" else np.full(len(table), np.sqrt(np.pi))
    np.testing.assert_allclose(table["continuum_slope"], expected, rtol=1e-12)


def test_the_theorys_continuum_without_hidden_layer_is_the_coulomb_gas_sqrt_pi():
    """The "theory" kind agrees with the Coulomb gas where both apply (4σ, Bonferroni)."""
    spacing, error, scale = continuum_spacing(None)
    assert np.all(np.abs(spacing / scale - np.sqrt(np.pi)) < bonferroni_z(3) * error / scale)


def test_behind_a_hidden_layer_the_continuum_slope_is_not_sqrt_pi():
    spacing, error, scale = continuum_spacing([1.5, 0.5])
    assert np.all(np.abs(spacing / scale - np.sqrt(np.pi)) > 10 * error / scale)


def test_the_fitted_line_takes_the_mean_continuum_slope_of_its_cluster():
    table = predicted_scaling([1.5, 0.5])
    lines = scaling.scaling_fits(table)
    np.testing.assert_allclose(lines["continuum_slope"], table["continuum_slope"].mean())
