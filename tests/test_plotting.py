"""Tests of the figures (sgd_dyson.plotting) on small synthetic tables.

The tables are built by hand in the schemas of `sgd_dyson.tables` and passed
through a Parquet write and read, so that they look exactly like the ones the
rule script reads (list columns come back as arrays, integers as int64, null
integers as NaN). Three synthetic experiments: a teacher–student pair
(``experiment``), an RBM-like spectrum of four pairs and two single levels
without a continuum prediction (``many_clusters``), and a Dyson-model
spectrum of a pair, a triplet and a single level (``dyson``). The
teacher–student and Dyson tables carry the theory columns (`theory_columns`);
the RBM-like one has none (NaN), as the pipeline writes it. Each experiment
comes with the `Labels` its model declares (`TEACHER_STUDENT`, `RBM`,
`DYSON`), and every figure is drawn through the registry (`draw`).
"""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from docutils.core import publish_parts
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from sgd_dyson import plotting
from sgd_dyson.config import point_id
from sgd_dyson.distributions import (
    semicircle_density,
    surmise_pdf,
    two_component_density,
    two_level_density,
)
from sgd_dyson.fits import coulomb_gas_width, neighbour_spacings, surmise_beta
from sgd_dyson.labels import Labels, sgd_labels
from sgd_dyson.models import MODELS
from sgd_dyson.plotting import FigureData, Flow, layout, selection
from sgd_dyson.plotting.series import NO_CONTINUUM
from sgd_dyson.report.tables import with_error
from sgd_dyson.stages import plots
from sgd_dyson.stages.scaling import ALL_PAIRS, scaling_exponents
from sgd_dyson.tables import (
    SCHEMAS,
    column_names,
    read_arrow,
    read_table,
    weight_matrices,
    write_table,
)

EXPERIMENT = "synthetic"
TARGET = 2.0
SAMPLES = 400
COLUMN = "singular_value"
# (learning rate, batch size, noise, scans, status); one point is in two scans,
# "lonely" has a single point, and the last point lost every replica.
POINTS = [
    (0.1, 16, 0.1, ["α scan", "|B| scan"], "ok"),
    (0.2, 16, 0.1, ["α scan"], "ok"),
    (0.1, 8, 0.1, ["|B| scan"], "ok"),
    (0.1, 4, 0.1, ["|B| scan"], "ok"),
    (0.3, 64, 0.05, ["lonely"], "ok"),
    (0.8, 16, 0.1, ["α scan"], "all_diverged"),
]
FIT = {"slope": 1.8123, "slope_err": 0.0234}
STATISTICS = [
    *(
        f"{name}{suffix}"
        for name in ["mean_spacing", "center", "sigma", "beta"]
        for suffix in ["", "_err"]
    ),
    "surmise_chi2",
    "surmise_dof",
    "surmise_pvalue",
]
# RBM-like: x* = 9 − κ_k of a 10-site lattice, four pairs between two single levels.
RBM_TARGETS = [1.0, 1.382, 1.382, 2.382, 2.382, 3.618, 3.618, 4.618, 4.618, 5.0]
RBM_POINTS = [  # (learning rate, batch size, scans)
    (0.02, 16, ["α scan"]),
    (0.05, 16, ["α scan"]),
    (0.1, 16, ["α scan", "|B| scan"]),
    (0.1, 4, ["|B| scan"]),
]
POOLED = {"slope": 2.275, "slope_err": 0.033}
DYSON_TARGETS = [1.0, 1.0, 2.0, 2.0, 2.0, 3.5]
DYSON_TEMPERATURES = [1e-4, 4e-4, 1.6e-3]
UNSTABLE = (0.3, 64)
"""(α, |B|) of the teacher–student point without a theory prediction (SGD unstable there)."""
THEORY_ERROR = 0.003
"""Relative Monte-Carlo error of the synthetic theory."""
THEORY_COLUMNS = ["mean_spacing_theory", "mean_spacing_continuum", "residual", "residual_continuum"]
"""Columns of the scaling table that the theory stage fills (NaN without a theory)."""
TEACHER_STUDENT = sgd_labels(
    ("learning_rate", "batch_size", "noise"),
    "noise_squared",
    theory_note="Small black crosses: the exact discrete-time stationary prediction.",
)
"""Labels of the teacher–student experiment: A = ε², an exact discrete-time theory."""
RBM = sgd_labels(
    ("learning_rate", "batch_size"), "target", no_theory_reason="the synthetic RBM has no theory"
)
"""Labels of the RBM-like experiment: A = x* (the scale depends on the cluster), no theory."""
DYSON = MODELS["dyson"].labels({"replicas": 60, "steps": 40})
"""Labels of the Dyson experiment: temperature only, an exact continuous-time theory."""
FLOW_SETTINGS = {"replicas": 4, "snapshots": 200}
MODEL_NAMES = ("teacher_student", "gaussian_rbm", "dyson", "external", "sgd")


def goe_pair(rng: np.random.Generator, center: float, sigma: float, samples: int) -> np.ndarray:
    """``(samples, 2)`` ascending eigenvalues of ``center + H``, H a 2×2 GOE matrix of width σ.

    Their joint law is the two-level Coulomb gas ``|x1 − x2| e^{−Σ(x_i − x0)²/2σ²}``.
    """
    diagonal = rng.normal(0.0, sigma, size=(samples, 2))
    off_diagonal = rng.normal(0.0, sigma / np.sqrt(2), size=samples)
    mean = diagonal.mean(axis=1)
    radius = np.hypot((diagonal[:, 0] - diagonal[:, 1]) / 2, off_diagonal)
    return center + np.column_stack([mean - radius, mean + radius])


def goe_levels(
    rng: np.random.Generator, center: float, sigma: float, n: int, samples: int
) -> np.ndarray:
    """``(samples, n)`` ascending eigenvalues of ``center + H``, H an n×n GOE matrix of width σ."""
    entries = rng.normal(0.0, sigma, size=(samples, n, n))
    return center + np.linalg.eigvalsh((entries + entries.swapaxes(1, 2)) / 2)


def clusters_of(targets: list[float]) -> list[int]:
    """Cluster label of each sorted target: equal neighbours share one."""
    return np.concatenate([[0], np.cumsum(np.diff(targets) > 1e-9)]).tolist()


def complete(frame: pd.DataFrame | dict, kind: str) -> pd.DataFrame:
    """``frame`` with every column of ``kind`` in schema order; missing ones null."""
    frame = pd.DataFrame(frame)
    for column in SCHEMAS[kind]:
        if column.name not in frame:
            null = None if pa.types.is_string(column.type) else np.nan
            frame[column.name] = pd.Series([null] * len(frame), dtype=object)
    return frame[column_names(kind)]


def spectrum_frame(
    levels: np.ndarray, targets: list[float], clusters: list[int], point: dict | None = None
) -> pd.DataFrame:
    """A spectrum table of ``(samples, n)`` levels, one snapshot per replica at step 100."""
    samples, n = levels.shape
    point = point or {"learning_rate": 0.1, "batch_size": 16, "noise": 0.1}
    return complete(
        {
            "replica": np.repeat(np.arange(samples), n),
            "draw": np.zeros(samples * n, dtype=int),
            "step": np.full(samples * n, 100),
            "level": np.tile(np.arange(n), samples),
            "singular_value": levels.ravel(),
            "gram_eigenvalue": levels.ravel() ** 2,
            "cluster": np.tile(clusters, samples),
            "target_singular_value": np.tile(targets, samples),
            **{
                key: np.full(samples * n, point.get(key, np.nan), dtype=float)
                for key in ["learning_rate", "batch_size", "noise", "temperature"]
            },
        },
        "spectrum",
    )


def cluster_row(levels: np.ndarray, target: float, status: str) -> dict:
    """The statistics columns of a scaling row for one cluster's ``(samples, n)`` levels."""
    row = {
        "levels": levels.shape[1],
        "target": target,
        "n_samples": len(levels),
        "error_groups": 10,
        "error_grouping": "replica",
        "replicas": len(levels),
        "diverged_replicas": 0 if status == "ok" else 100,
        "status": status,
        "best_density": None,
    }
    if status != "ok":
        return row | dict.fromkeys(STATISTICS, np.nan)
    center, sigma = coulomb_gas_width(levels)
    row |= {"center": center, "center_err": 0.01 * sigma, "sigma": sigma, "sigma_err": 0.02 * sigma}
    row |= {"surmise_chi2": 15.0, "surmise_dof": 18, "surmise_pvalue": 0.6, "beta_err": 0.1}
    if levels.shape[1] < 2:
        return row | {"mean_spacing": np.nan, "mean_spacing_err": np.nan, "beta": np.nan}
    spacing = neighbour_spacings(levels).ravel()
    row |= {
        "mean_spacing": spacing.mean(),
        "mean_spacing_err": spacing.std() / np.sqrt(spacing.size),
        "beta": surmise_beta(spacing / spacing.mean()),
        "best_density": "equal_width",
    }
    if levels.shape[1] == 2:
        row |= {"two_component_lr": 1.2, "two_component_pvalue": 0.137}
    return row


def theory_columns(row: dict, exact: float, continuum: float) -> dict:
    """The theory columns of a scaling row: exact and continuum ⟨S⟩, σ, and both residuals."""
    error = THEORY_ERROR * exact
    measured, measured_error = row["mean_spacing"], row["mean_spacing_err"]
    return {
        "mean_spacing_theory": exact,
        "mean_spacing_theory_err": error,
        "sigma_theory": exact / np.sqrt(np.pi),
        "sigma_theory_err": error / np.sqrt(np.pi),
        "mean_spacing_continuum": continuum,
        "residual": (measured - exact) / np.hypot(measured_error, error),
        "residual_continuum": (measured - continuum) / measured_error,
    }


def density_rows(levels: np.ndarray, point: str, cluster: int) -> list[dict]:
    """Density-fit rows of one cluster: equal width and two components, or the semicircle."""
    n = levels.shape[1]
    center, sigma = coulomb_gas_width(levels)
    base = {"point": point, "cluster": cluster, "levels": n, "observations": len(levels)}
    rows = [{**base, "density": "equal_width", "center": center, "width": sigma, "delta_aic": 0.0}]
    if n == 2:
        rows.append(
            {
                **base,
                "density": "two_component",
                "center": center,
                "width": 1.3 * sigma,
                "second_width": 0.7 * sigma,
                "delta_aic": 1.7,
            }
        )
    elif n >= 3:
        radius = sigma * np.sqrt(2 * n)
        rows.append(
            {**base, "density": "semicircle", "center": center, "width": radius, "delta_aic": 9.5}
        )
    return rows


def density_table(densities: list[dict], scaling: pd.DataFrame) -> pd.DataFrame:
    """Density-fit rows with the experiment, point columns and ratio of their point."""
    columns = ["experiment", "point", "learning_rate", "batch_size", "noise", "temperature"]
    points = scaling[[*columns, "ratio"]].drop_duplicates("point")
    return pd.DataFrame(densities).merge(points, on="point").assign(parameters=2)


def round_trip(frame: pd.DataFrame | dict, kind: str, folder) -> pd.DataFrame:
    """Write a table of ``kind`` and read it back, as the rule script sees it."""
    path = folder / f"{kind}.parquet"
    write_table(complete(frame, kind), path, kind)
    return read_table(path, kind)


def fit_rows(clusters: dict[int, dict], pooled: dict | None = None) -> dict:
    """A scaling-fit table: a mean-spacing and a √π σ line per cluster, optionally pooled (−1)."""
    rows = []
    entries = {**clusters, **({ALL_PAIRS: pooled} if pooled else {})}
    for cluster, fit in entries.items():
        for quantity in ["mean_spacing", "sqrt_pi_sigma"]:
            rows.append(
                {
                    "experiment": EXPERIMENT,
                    "quantity": quantity,
                    "cluster": cluster,
                    "chi2_dof": 1.0,
                    "n_points": 4,
                    "continuum_slope": fit.get("continuum_slope", np.nan),
                    **fit,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def experiment(tmp_path) -> dict:
    """Scaling, scaling-fit, density fits and spectra of a teacher–student pair experiment."""
    rng = np.random.default_rng(2024)
    rows, spectra, densities = [], {}, []
    for index, (rate, batch, noise, scans, status) in enumerate(POINTS):
        values = {"learning_rate": rate, "batch_size": batch, "noise": noise}
        point = point_id(values)
        scale = np.sqrt(rate / batch * noise**2)
        levels = goe_pair(rng, TARGET, scale, SAMPLES if status == "ok" else 0)
        spectrum = spectrum_frame(levels, [TARGET, TARGET], [0, 0], values)
        spectra[point] = round_trip(spectrum, "spectrum", tmp_path / str(index))
        if status == "ok":
            densities += density_rows(levels, point, 0)
        statistics = cluster_row(levels, TARGET, status)
        # the data are drawn from the exact theory; the continuum misses an O(α) term
        # (exaggerated to 1 − α, so that it stands out of the noise of 400 samples)
        exact = np.sqrt(np.pi) * scale
        theory = theory_columns(statistics, exact, exact * (1 - rate))
        rows.append(
            {
                "experiment": EXPERIMENT,
                "point": point,
                **values,
                "ratio": rate / batch,
                "amplitude": noise**2,
                "scale": scale,
                "scans": scans,
                "cluster": 0,
                "continuum_slope": np.sqrt(np.pi),
                **statistics,
                **(theory if (rate, batch) != UNSTABLE else {}),
            }
        )
    scaling = round_trip(pd.DataFrame(rows), "scaling", tmp_path)
    fit = fit_rows({0: {**FIT, "continuum_slope": np.sqrt(np.pi)}})
    fit.loc[fit["quantity"] == "sqrt_pi_sigma", ["slope", "slope_err"]] = [1.7, 0.03]
    density = density_table(densities, scaling)
    return {
        "labels": TEACHER_STUDENT,
        "scaling": scaling,
        "scaling_fit": round_trip(fit, "scaling_fit", tmp_path),
        "scaling_exponents": round_trip(scaling_exponents(scaling), "scaling_exponents", tmp_path),
        "density_fits": round_trip(density, "density_fits", tmp_path),
        "spectra": spectra,
    }


@pytest.fixture
def many_clusters(tmp_path) -> dict:
    """An RBM-like experiment: 4 pairs and 2 singles of X = WᵀW, no continuum, a pooled fit."""
    rng = np.random.default_rng(7)
    clusters = clusters_of(RBM_TARGETS)
    targets = pd.Series(RBM_TARGETS).groupby(clusters).agg(["size", "mean"])
    rows, spectra, densities = [], {}, []
    for index, (rate, batch, scans) in enumerate(RBM_POINTS):
        values = {"learning_rate": rate, "batch_size": batch}
        point = point_id(values)
        ratio = rate / batch
        blocks = []
        for cluster, n, target in targets.itertuples():
            sigma = np.sqrt(ratio * target)
            centre = target * (1 - 2 * ratio)  # below the target, more so at larger α/|B|
            levels = goe_levels(rng, centre, sigma, n, SAMPLES)
            blocks.append(levels)
            densities += density_rows(levels, point, cluster)
            rows.append(
                {
                    "experiment": EXPERIMENT,
                    "point": point,
                    **values,
                    "ratio": ratio,
                    "amplitude": target,
                    "scale": np.sqrt(ratio * target),
                    "scans": scans,
                    "cluster": cluster,
                    "continuum_slope": np.nan,
                    **cluster_row(levels, target, "ok"),
                }
            )
        spectrum = spectrum_frame(np.hstack(blocks), RBM_TARGETS, clusters, values)
        spectra[point] = round_trip(spectrum, "spectrum", tmp_path / str(index))
    scaling = round_trip(pd.DataFrame(rows), "scaling", tmp_path)
    pairs = {cluster: {"slope": 2.0 + 0.1 * cluster, "slope_err": 0.05} for cluster in (1, 2, 3, 4)}
    density = density_table(densities, scaling)
    return {
        "labels": RBM,
        "scaling": scaling,
        "scaling_fit": round_trip(fit_rows(pairs, POOLED), "scaling_fit", tmp_path),
        "scaling_exponents": round_trip(scaling_exponents(scaling), "scaling_exponents", tmp_path),
        "density_fits": round_trip(density, "density_fits", tmp_path),
        "spectra": spectra,
    }


@pytest.fixture
def dyson(tmp_path) -> dict:
    """A Dyson-model experiment: temperature only, a pair, a triplet and a single level."""
    rng = np.random.default_rng(11)
    clusters = clusters_of(DYSON_TARGETS)
    targets = pd.Series(DYSON_TARGETS).groupby(clusters).agg(["size", "mean"])
    rows, spectra, densities = [], {}, []
    # ⟨S⟩ of unit-width GOE blocks of each size, the synthetic exact theory (over √T)
    reference = {
        n: neighbour_spacings(goe_levels(rng, 0.0, 1.0, n, 20_000)).mean()
        for n in set(targets["size"])
        if n >= 2
    }
    for index, temperature in enumerate(DYSON_TEMPERATURES):
        point = point_id({"temperature": temperature})
        blocks = []
        for cluster, n, target in targets.itertuples():
            levels = goe_levels(rng, target, np.sqrt(temperature), n, SAMPLES)
            blocks.append(levels)
            densities += density_rows(levels, point, cluster)
            statistics = cluster_row(levels, target, "ok")
            exact = reference.get(n, np.nan) * np.sqrt(temperature)
            rows.append(
                {
                    "experiment": EXPERIMENT,
                    "point": point,
                    "temperature": temperature,
                    "ratio": temperature,
                    "amplitude": 1.0,
                    "scale": np.sqrt(temperature),
                    "scans": ["temperature scan"],
                    "cluster": cluster,
                    "continuum_slope": np.sqrt(np.pi),
                    **statistics,
                    **(theory_columns(statistics, exact, exact) if n >= 2 else {}),
                }
            )
        values = {"temperature": temperature}
        spectrum = spectrum_frame(np.hstack(blocks), DYSON_TARGETS, clusters, values)
        spectra[point] = round_trip(spectrum, "spectrum", tmp_path / str(index))
    scaling = round_trip(pd.DataFrame(rows), "scaling", tmp_path)
    fits = {0: {"slope": 1.78, "slope_err": 0.02, "continuum_slope": np.sqrt(np.pi)}}
    fits[1] = {"slope": 1.47, "slope_err": 0.02, "continuum_slope": np.sqrt(np.pi)}
    density = density_table(densities, scaling)
    return {
        "labels": DYSON,
        "scaling": scaling,
        "scaling_fit": round_trip(fit_rows(fits), "scaling_fit", tmp_path),
        "scaling_exponents": round_trip(scaling_exponents(scaling), "scaling_exponents", tmp_path),
        "density_fits": round_trip(density, "density_fits", tmp_path),
        "spectra": spectra,
    }


def flow_table(
    tmp_path, targets: list[float], point: dict, replicas: int = 3, steps: int = 60
) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """A simulate table of diagonal-in-a-rotated-frame W whose singular values relax to targets.

    Returns the scalar columns and the weights of its one layer, read back as the rule reads them.
    """
    rng = np.random.default_rng(3)
    n = len(targets)
    rows = []
    weights = []
    for replica in range(replicas):
        start = rng.uniform(0.05, 0.3, size=n)
        for step in range(1, steps + 1):
            values = targets + (start - targets) * np.exp(-step / 8) + rng.normal(0, 0.01, n)
            rotation, _ = np.linalg.qr(rng.normal(size=(n, n)))
            weights.append(rotation @ np.diag(np.abs(values)))
            rows.append(
                {"replica": replica, "draw": 0, "step": step, "layer": 0, "rows": n, "cols": n}
            )
    frame = pd.DataFrame(rows).assign(**{key: point.get(key, np.nan) for key in point})
    frame["weights"] = list(np.array(weights).reshape(len(weights), n * n))
    path = tmp_path / "flow.parquet"
    write_table(complete(frame, "simulate"), path, "simulate")
    table = read_arrow(path, "simulate")
    return table.drop_columns(["weights"]).to_pandas(), {0: weight_matrices(table, path)}


def draw(
    name: str,
    data: dict,
    column: str = COLUMN,
    burn_in: int | None = None,
    flow: Flow | None = None,
) -> Figure:
    """The registered figure ``name`` of a synthetic experiment (``data``: labels, tables)."""
    declared = ("scaling_fit", "scaling_exponents", "density_fits", "spectra")
    tables = {key: data[key] for key in declared if key in data}
    return plotting.FIGURES[name].draw(
        FigureData(
            labels=data["labels"],
            scaling=data["scaling"],
            column=column,
            burn_in=burn_in,
            flow=flow,
            **tables,
        )
    )


def ok_points(scaling: pd.DataFrame) -> pd.DataFrame:
    return scaling[scaling["status"] == "ok"]


def figure_texts(figure: Figure) -> str:
    """Every text of the figure (titles, labels, legends, notes), joined."""
    return "\n".join(text.get_text() for text in figure.findobj(lambda a: hasattr(a, "get_text")))


def legend_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def all_legend_texts(axes) -> list[str]:
    """Texts of every legend drawn on ``axes`` (also those added as artists)."""
    legends = [artist for artist in axes.get_children() if type(artist).__name__ == "Legend"]
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def assert_labelled(axes) -> None:
    assert axes.get_xlabel().strip(), "x axis without label"
    assert axes.get_ylabel().strip(), "y axis without label"


def labelled_lines(axes, prefix: str) -> list:
    return [line for line in axes.lines if line.get_label().startswith(prefix)]


def dotted_lines(axes) -> list:
    return [line for line in axes.lines if line.get_linestyle() == ":"]


def errorbar_containers(axes) -> list[ErrorbarContainer]:
    return [c for c in axes.containers if isinstance(c, ErrorbarContainer)]


def plotted_points(axes) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every error-bar point of ``axes``, concatenated."""
    lines = [container.lines[0] for container in errorbar_containers(axes)]
    return (
        np.concatenate([line.get_xdata() for line in lines]).astype(float),
        np.concatenate([line.get_ydata() for line in lines]).astype(float),
    )


def theory_markers(axes) -> list:
    """The small black crosses of the exact theory on ``axes``."""
    return [line for line in axes.lines if line.get_marker() == "x"]


def theory_points(axes) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every theory cross of ``axes``, concatenated."""
    lines = theory_markers(axes)
    if not lines:
        return np.array([]), np.array([])
    return (
        np.concatenate([line.get_xdata() for line in lines]).astype(float),
        np.concatenate([line.get_ydata() for line in lines]).astype(float),
    )


def with_theory(scaling: pd.DataFrame) -> pd.DataFrame:
    """The ok rows of clusters of ≥ 2 levels that carry an exact theory prediction."""
    rows = scaling[(scaling["status"] == "ok") & (scaling["levels"] >= 2)]
    return rows[np.isfinite(rows["mean_spacing_theory"].to_numpy(dtype=float))]


def residual_lines(axes, column: str) -> list:
    return [line for line in axes.lines if line.get_label() == f"_{column}"]


def histogram_area(axes) -> float:
    return sum(patch.get_height() * patch.get_width() for patch in axes.patches)


# --- Labels and models ---------------------------------------------------------------


def test_point_label_names_only_the_swept_parameters():
    assert (
        layout.point_label(
            pd.Series(
                {"learning_rate": 0.1, "batch_size": 16.0, "noise": 0.1, "temperature": np.nan}
            )
        )
        == "α = 0.1, |B| = 16, ε = 0.1"
    )
    rbm = {"learning_rate": 0.02, "batch_size": 4, "noise": None, "temperature": None}
    assert layout.point_label(rbm) == "α = 0.02, |B| = 4"
    dyson = {"learning_rate": np.nan, "batch_size": np.nan, "noise": np.nan, "temperature": 1e-4}
    assert layout.point_label(dyson) == "T = 0.0001"


def test_labels_come_back_from_the_rule_params():
    for labels in (TEACHER_STUDENT, RBM, DYSON):
        assert Labels.from_params(labels.as_params()) == labels


def test_cluster_names():
    assert layout.cluster_name(2, 1.382) == "pair at 1.382"
    assert layout.cluster_name(3, 2.0) == "triplet at 2"
    assert layout.cluster_name(1, 3.5) == "single level at 3.5"
    assert layout.cluster_name(5, 1.0) == "5 levels at 1"


# --- Spectrum histograms ---------------------------------------------------------------


def test_spectrum_histograms_show_smallest_median_largest_scale(experiment):
    scaling = experiment["scaling"]
    figure = draw("spectrum_histograms", experiment)
    panels = figure.axes
    assert len(panels) == 3
    scales = np.sort(ok_points(scaling)["scale"].to_numpy())
    expected = [scales[0], scales[(len(scales) - 1) // 2], scales[-1]]
    for axes, scale in zip(panels, expected, strict=True):
        assert f"{scale:.3g}" in axes.get_title()
        assert_labelled(axes)
        assert histogram_area(axes) == pytest.approx(1.0)  # density=True
        density, target = axes.lines
        (row,) = (
            row for _, row in scaling.iterrows() if layout.point_label(row) in axes.get_title()
        )
        x = density.get_xdata()
        np.testing.assert_allclose(
            density.get_ydata(), two_level_density(x, row["center"], row["sigma"])
        )
        assert target.get_xdata()[0] == TARGET
    assert EXPERIMENT in figure_texts(figure)
    assert figure.axes[0].get_legend() is not None


def test_spectrum_histograms_plot_a_single_level_without_the_pair_density(tmp_path):
    rng = np.random.default_rng(5)
    pair = goe_pair(rng, 2.0, 0.01, SAMPLES)
    single = rng.normal(1.0, 0.01, size=(SAMPLES, 1))
    levels = np.hstack([single, pair])
    spectrum = round_trip(spectrum_frame(levels, [1.0, 2.0, 2.0], [0, 1, 1]), "spectrum", tmp_path)
    point = point_id({"learning_rate": 0.1, "batch_size": 16, "noise": 0.1})
    base = {
        "experiment": EXPERIMENT,
        "point": point,
        "learning_rate": 0.1,
        "batch_size": 16,
        "noise": 0.1,
        "ratio": 0.1 / 16,
        "amplitude": 0.01,
        "scale": 0.0079,
        "scans": ["single point"],
        "continuum_slope": np.sqrt(np.pi),
    }
    scaling = pd.DataFrame(
        [
            {**base, "cluster": 0, **cluster_row(single, 1.0, "ok")},
            {**base, "cluster": 1, **cluster_row(pair, 2.0, "ok")},
        ]
    )
    scaling = round_trip(scaling, "scaling", tmp_path)
    figure = draw(
        "spectrum_histograms",
        {"labels": TEACHER_STUDENT, "scaling": scaling, "spectra": {point: spectrum}},
    )
    single_panel, pair_panel = figure.axes
    assert len(single_panel.lines) == 1  # the target only
    assert single_panel.lines[0].get_xdata()[0] == 1.0
    assert len(pair_panel.lines) == 2  # the fitted density and the target
    assert single_panel.patches and pair_panel.patches
    assert "pair at 2" in pair_panel.get_title()


def test_spectrum_histograms_of_many_clusters_show_every_level_per_point(many_clusters):
    figure = draw("spectrum_histograms", many_clusters, "gram_eigenvalue")
    panels = figure.axes
    assert len(panels) == 3  # one per chosen point, not one per cluster
    # the RBM's α scan at |B| = 16 has three learning rates: smallest, median, largest
    for axes, rate in zip(panels, [0.02, 0.05, 0.1], strict=True):
        assert axes.get_title().startswith(f"α = {rate:g}, |B| = 16")
        assert axes.get_ylabel().strip()
        targets = sorted(line.get_xdata()[0] for line in dotted_lines(axes))
        assert targets == pytest.approx(sorted(set(RBM_TARGETS)))
        assert histogram_area(axes) == pytest.approx(1.0)
        colours = {patch.get_facecolor()[:3] for patch in axes.patches}
        assert len(colours) == 6  # one colour per cluster
        assert len(labelled_lines(axes, "pair fit")) == 4
    assert "eigenvalue x of X" in panels[-1].get_xlabel()
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "pair at 1.382" in labels and "single level at 5" in labels and "targets" in labels


def test_spectrum_histograms_of_the_dyson_model_are_labelled_by_temperature(dyson):
    figure = draw("spectrum_histograms", dyson)
    assert len(figure.axes) == 3
    for axes, temperature in zip(figure.axes, DYSON_TEMPERATURES, strict=True):
        assert axes.get_title().startswith(f"T = {temperature:g}")
        assert "√T" in axes.get_title()
        assert len(dotted_lines(axes)) == 3
        assert "α" not in axes.get_title()


# --- Spacing distribution ----------------------------------------------------------------


def test_spacing_distribution_pools_unfolded_spacings_per_scan(experiment):
    figure = draw("spacing_distribution", experiment)
    scans = sorted({scan for *_, scans, _ in POINTS for scan in scans})
    assert [axes.get_title().split(" (")[0] for axes in figure.axes] == scans
    ok_in_scan = {
        scan: sum(scan in scans and status == "ok" for *_, scans, status in POINTS)
        for scan in scans
    }
    for axes, scan in zip(figure.axes, scans, strict=True):
        assert_labelled(axes)
        texts = legend_texts(axes)
        assert f"{ok_in_scan[scan] * SAMPLES} spacings" in texts
        assert "GOE surmise (β = 1)" in texts
        assert any("fitted β" in text for text in texts)
        (surmise,) = axes.lines
        s = surmise.get_xdata()
        np.testing.assert_allclose(surmise.get_ydata(), surmise_pdf(s, 1.0))
        assert histogram_area(axes) == pytest.approx(1.0)
    lonely = figure.axes[scans.index("lonely")]
    assert lonely.get_title() == "lonely (1 point)"


def test_spacing_distribution_pools_every_cluster_of_two_or_more_levels(dyson):
    # one pair (and a triplet): the per-scan layout, pooling both clusters
    figure = draw("spacing_distribution", dyson)
    (axes,) = figure.axes
    assert axes.get_title() == "temperature scan (3 points)"
    # a pair (one spacing) and a triplet (two) per sample, at three temperatures
    assert f"{3 * 3 * SAMPLES} spacings of 2 clusters" in legend_texts(axes)
    assert histogram_area(axes) == pytest.approx(1.0)


def test_spacing_distribution_draws_one_panel_per_pair_when_there_are_several(many_clusters):
    scaling = many_clusters["scaling"]
    figure = draw("spacing_distribution", many_clusters, "gram_eigenvalue")
    pairs = ["1.382", "2.382", "3.618", "4.618"]
    assert [axes.get_title() for axes in figure.axes] == [f"pair at x* = {x}" for x in pairs]
    points = len(RBM_POINTS)  # every point, whatever its scans; the singles get no panel
    for axes, cluster in zip(figure.axes, (1, 2, 3, 4), strict=True):
        assert_labelled(axes)
        texts = legend_texts(axes)
        # one spacing per sample and point, pooled over the experiment's points
        assert f"{points * SAMPLES} spacings at {points} points" in texts
        assert "GOE surmise (β = 1)" in texts
        betas = scaling.loc[scaling["cluster"] == cluster, "beta"]
        assert f"P_β(s), fitted β ∈ [{betas.min():.2f}, {betas.max():.2f}]" in texts
        (surmise,) = axes.lines
        np.testing.assert_allclose(surmise.get_ydata(), surmise_pdf(surmise.get_xdata(), 1.0))
        assert histogram_area(axes) == pytest.approx(1.0)
    # each point is unfolded by its own mean spacing: the pooled spacings average to one
    heights = np.array([patch.get_height() for patch in figure.axes[0].patches])
    centres = np.array([patch.get_x() + patch.get_width() / 2 for patch in figure.axes[0].patches])
    widths = np.array([patch.get_width() for patch in figure.axes[0].patches])
    assert np.sum(heights * widths * centres) == pytest.approx(1.0, abs=0.05)
    # with singular values, the target is λ*
    figure = draw("spacing_distribution", many_clusters)
    assert figure.axes[1].get_title() == "pair at λ* = 2.382"


def test_unfolded_spacings_have_mean_one():
    levels = goe_pair(np.random.default_rng(1), 2.0, 0.05, 1000)
    s = selection.unfolded_spacings(levels)
    assert s.shape == (1000,)
    assert s.mean() == pytest.approx(1.0)


# --- Scaling ---------------------------------------------------------------------------


def test_scaling_figure_draws_points_fit_and_continuum(experiment):
    scaling = experiment["scaling"]
    figure = draw("scaling", experiment)
    top, bottom = figure.axes
    for axes in (top, bottom):
        assert axes.get_ylabel().strip()
    assert "√(α ε²/|B|)" in bottom.get_xlabel()
    # one series per scan; a point in two scans is drawn once for each
    containers = errorbar_containers(top)
    assert sorted(c.get_label() for c in containers) == sorted(["lonely", "α scan", "|B| scan"])
    x, y = plotted_points(top)
    memberships = sum(len(scans) for *_, scans, status in POINTS if status == "ok")
    assert x.size == memberships
    assert np.all(np.isfinite(y))
    ok = ok_points(scaling)
    assert set(np.round(y, 12)) == set(np.round(ok["mean_spacing"], 12))
    (fitted,) = labelled_lines(top, "fit:")
    (continuum,) = labelled_lines(top, "continuum")
    fit_x, fit_y = fitted.get_xdata(), fitted.get_ydata()
    assert fit_y[-1] / fit_x[-1] == pytest.approx(FIT["slope"])
    assert continuum.get_linestyle() == "--"
    assert continuum.get_ydata()[-1] / continuum.get_xdata()[-1] == pytest.approx(np.sqrt(np.pi))
    assert f"fit: slope = {FIT['slope']:.3f} ± {FIT['slope_err']:.3f}" in legend_texts(top)
    _, ratio = plotted_points(bottom)
    assert set(np.round(ratio, 9)) == set(np.round(ok["mean_spacing"] / ok["scale"], 9))
    texts = figure_texts(figure)
    assert "α = 0.8, |B| = 16, ε = 0.1 (all replicas diverged)" in texts
    assert EXPERIMENT in texts


def test_scaling_axis_names_the_scale_the_labels_declare_not_the_noise_column(experiment):
    # external weights with amplitude "target": the table has a noise column, A = x*
    labels = sgd_labels(("learning_rate", "batch_size", "noise"), "target")
    assert experiment["scaling"]["noise"].notna().all()
    _, bottom = draw("scaling", {**experiment, "labels": labels}).axes
    assert "√(α x*/|B|)" in bottom.get_xlabel()
    assert "ε²" not in bottom.get_xlabel()


def test_scaling_figure_without_fitted_line(experiment):
    scaling_fit = experiment["scaling_fit"]
    figure = draw("scaling", {**experiment, "scaling_fit": scaling_fit.iloc[0:0]})
    top, _ = figure.axes
    assert "no line fitted (no usable point)" in legend_texts(top)
    assert not labelled_lines(top, "fit:")
    (continuum,) = labelled_lines(top, "continuum")
    assert continuum.get_linestyle() == "--"


def test_scaling_figure_of_many_pairs_draws_the_pooled_line_and_no_continuum(many_clusters):
    scaling = many_clusters["scaling"]
    figure = draw("scaling", many_clusters)
    top, bottom = figure.axes
    assert "√(α x*/|B|)" in bottom.get_xlabel()
    (pooled,) = labelled_lines(top, "fit: all pairs")
    assert pooled.get_ydata()[-1] / pooled.get_xdata()[-1] == pytest.approx(POOLED["slope"])
    per_cluster = labelled_lines(top, "fit, pair at")
    assert len(per_cluster) == 4
    assert all(line.get_linewidth() < pooled.get_linewidth() for line in per_cluster)
    assert len({line.get_color() for line in per_cluster}) == 4
    # no continuum prediction: no dashed line, a legend entry says so
    assert not [line for line in top.lines if line.get_linestyle() == "--"]
    assert not [line for line in bottom.lines if line.get_linestyle() == "--"]
    texts = all_legend_texts(top)
    assert NO_CONTINUUM in texts
    assert "pair at 2.382" in texts and "α scan" in texts
    # markers by scan, colour by cluster: one series per (scan, pair cluster)
    containers = errorbar_containers(top)
    assert len(containers) == 2 * 4
    assert {c.lines[0].get_marker() for c in containers} == {"o", "s"}
    assert len({c.lines[0].get_color() for c in containers}) == 4
    pairs = scaling[scaling["levels"] == 2]
    memberships = sum(len(scans) for scans in pairs["scans"])
    x, y = plotted_points(top)
    assert x.size == memberships
    assert set(np.round(y, 12)) == set(np.round(pairs["mean_spacing"], 12))
    # the pooled fit's band, and a thin line per cluster in the lower panel
    assert len(bottom.patches) == 1
    (band,) = bottom.patches
    assert band.get_y() == pytest.approx(POOLED["slope"] - POOLED["slope_err"])
    assert band.get_height() == pytest.approx(2 * POOLED["slope_err"])
    thin = [line for line in bottom.lines if line.get_linestyle() == "-"]
    assert len(thin) == 4 + 1  # a line per cluster, and the pooled one


def test_scaling_figure_marks_the_exact_theory_of_each_point(experiment):
    scaling = experiment["scaling"]
    figure = draw("scaling", experiment)
    top, bottom = figure.axes
    expected = with_theory(scaling)
    assert len(expected) == 4  # not the unstable point; the diverged one is not drawn
    (crosses,) = theory_markers(top)
    assert crosses.get_label() == "exact stationary theory"
    assert crosses.get_color() == "k" and crosses.get_linestyle() == "None"
    assert "exact stationary theory" in legend_texts(top)
    x, y = theory_points(top)
    np.testing.assert_allclose(np.sort(x), np.sort(expected["scale"]))
    np.testing.assert_allclose(np.sort(y), np.sort(expected["mean_spacing_theory"]))
    x, y = theory_points(bottom)
    assert x.size == len(expected)
    np.testing.assert_allclose(y, np.sqrt(np.pi))  # the synthetic theory is √π × scale
    assert all(line.get_label().startswith("_") for line in theory_markers(bottom))


def test_scaling_figure_marks_the_theory_of_every_cluster_of_the_dyson_model(dyson):
    scaling = dyson["scaling"]
    figure = draw("scaling", dyson)
    top, bottom = figure.axes
    x, y = theory_points(top)
    assert x.size == 2 * len(DYSON_TEMPERATURES)  # the pair and the triplet
    assert set(np.round(y, 12)) == set(np.round(with_theory(scaling)["mean_spacing_theory"], 12))
    assert "exact stationary theory" in all_legend_texts(top)
    assert theory_points(bottom)[0].size == x.size


def test_scaling_figure_without_theory_draws_no_crosses(many_clusters):
    figure = draw("scaling", many_clusters)
    for axes in figure.axes:
        assert not theory_markers(axes)
    assert "exact stationary theory" not in figure_texts(figure)


# --- Width against spacing ----------------------------------------------------------------


def test_sigma_vs_spacing_figure_has_points_and_diagonal(experiment):
    scaling = experiment["scaling"]
    figure = draw("sigma_vs_spacing", experiment)
    (axes,) = figure.axes
    assert_labelled(axes)
    x, y = plotted_points(axes)
    ok = ok_points(scaling)
    assert set(np.round(x, 12)) == set(np.round(ok["mean_spacing"], 12))
    assert set(np.round(y, 12)) == set(np.round(np.sqrt(np.pi) * ok["sigma"], 12))
    for container in errorbar_containers(axes):
        assert container.has_xerr and container.has_yerr
    (diagonal,) = (line for line in axes.lines if line.get_linestyle() == "--")
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())


def test_sigma_vs_spacing_takes_pairs_only(many_clusters, dyson):
    figure = draw("sigma_vs_spacing", many_clusters)
    (axes,) = figure.axes
    pairs = many_clusters["scaling"].query("levels == 2")
    x, _ = plotted_points(axes)
    assert set(np.round(x, 12)) == set(np.round(pairs["mean_spacing"], 12))
    assert len({c.lines[0].get_color() for c in errorbar_containers(axes)}) == 4
    figure = draw("sigma_vs_spacing", dyson)
    x, _ = plotted_points(figure.axes[0])
    assert x.size == len(DYSON_TEMPERATURES)  # the triplet is left out


# --- Collapse ----------------------------------------------------------------------------


def test_collapse_figure_colours_rates_and_marks_batches(experiment):
    scaling = experiment["scaling"]
    figure = draw("collapse", experiment)
    top, bottom = figure.axes
    assert top.get_xscale() == "log" and top.get_yscale() == "log"
    assert top.get_ylabel().strip() and bottom.get_ylabel().strip()
    assert bottom.get_xlabel().startswith("α/|B|")
    ok = ok_points(scaling)
    containers = errorbar_containers(top)
    assert len(containers) == len(ok.groupby(["learning_rate", "batch_size"]))
    for container in containers:
        (x,), (y,) = container.lines[0].get_xdata(), container.lines[0].get_ydata()
        row = ok[np.isclose(ok["ratio"], x)]
        collapsed = row["mean_spacing"] ** 2 / row["amplitude"]
        assert np.isclose(collapsed, y).any()
    markers = {c.lines[0].get_marker() for c in containers}
    colours = {c.lines[0].get_color() for c in containers}
    assert len(markers) == ok["batch_size"].nunique()
    assert len(colours) == ok["learning_rate"].nunique()
    (continuum,) = (line for line in top.lines if line.get_linestyle() == "--")
    np.testing.assert_allclose(continuum.get_ydata(), np.pi * continuum.get_xdata())
    _, normalised = plotted_points(bottom)
    expected = ok["mean_spacing"] ** 2 / (ok["amplitude"] * ok["ratio"])
    assert set(np.round(normalised, 9)) == set(np.round(expected, 9))
    legend_labels = all_legend_texts(top)
    assert "α = 0.1" in legend_labels and "|B| = 64" in legend_labels


def test_collapse_figure_of_many_pairs_colours_clusters_without_continuum(many_clusters):
    scaling = many_clusters["scaling"]
    figure = draw("collapse", many_clusters)
    top, _ = figure.axes
    containers = errorbar_containers(top)
    assert len({c.lines[0].get_color() for c in containers}) == 4
    assert {c.lines[0].get_marker() for c in containers} == {"o", "s"}  # |B| = 4, 16
    assert not [line for line in top.lines if line.get_linestyle() == "--"]
    labels = all_legend_texts(top)
    assert NO_CONTINUUM in labels
    assert "pair at 4.618" in labels and "|B| = 4" in labels
    _, y = plotted_points(top)
    pairs = scaling[scaling["levels"] == 2]
    expected = pairs["mean_spacing"] ** 2 / pairs["target"]  # A = x*
    assert set(np.round(y, 12)) == set(np.round(expected, 12))


def test_collapse_figure_of_the_dyson_model_uses_the_temperature(dyson):
    figure = draw("collapse", dyson)
    top, bottom = figure.axes
    assert bottom.get_xlabel().startswith("temperature T")
    assert "T" in bottom.get_ylabel() and "α" not in bottom.get_ylabel()
    x, _ = plotted_points(top)
    assert sorted(set(x)) == pytest.approx(DYSON_TEMPERATURES)
    assert x.size == 2 * len(DYSON_TEMPERATURES)  # the pair and the triplet
    (continuum,) = (line for line in top.lines if line.get_linestyle() == "--")
    np.testing.assert_allclose(continuum.get_ydata(), np.pi * continuum.get_xdata())
    labels = all_legend_texts(top)
    assert "pair at 1" in labels and "triplet at 2" in labels
    assert not any(label.startswith("|B|") for label in labels)


def test_collapse_figure_marks_the_predicted_collapse(experiment, many_clusters):
    scaling = experiment["scaling"]
    figure = draw("collapse", experiment)
    top, bottom = figure.axes
    expected = with_theory(scaling)
    predicted = expected["mean_spacing_theory"] ** 2 / expected["amplitude"]
    (crosses,) = theory_markers(top)
    assert crosses.get_label() == "exact theory" and crosses.get_color() == "k"
    assert "exact theory" in all_legend_texts(top)
    x, y = theory_points(top)
    order = np.argsort(expected["ratio"].to_numpy())
    np.testing.assert_allclose(np.sort(x), expected["ratio"].to_numpy()[order])
    assert set(np.round(y, 12)) == set(np.round(predicted, 12))
    _, normalised = theory_points(bottom)
    assert set(np.round(normalised, 9)) == set(np.round(predicted / expected["ratio"], 9))
    # without theory: no crosses, no legend entry
    figure = draw("collapse", many_clusters)
    assert not any(theory_markers(axes) for axes in figure.axes)
    assert "exact theory" not in all_legend_texts(figure.axes[0])


# --- Which scaling rule holds ----------------------------------------------------------------


def test_scaling_rules_figure_draws_the_fitted_points_against_both_variables(experiment):
    scaling, exponents = experiment["scaling"], experiment["scaling_exponents"]
    # the ε = 0.05 point is not mixed into the ε = 0.1 fit; the diverged point is out
    assert exponents["noise"].tolist() == [0.1] and exponents["n_points"].tolist() == [4]
    fitted = ok_points(scaling)[ok_points(scaling)["noise"] == 0.1]
    figure = draw("scaling_rules", experiment)
    left, right = figure.axes
    for axes, power in ((left, 1.0), (right, 0.5)):
        assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
        x, y = plotted_points(axes)
        variable = fitted["learning_rate"] / fitted["batch_size"] ** power
        np.testing.assert_allclose(np.sort(x), np.sort(variable))
        np.testing.assert_allclose(np.sort(y), np.sort(fitted["mean_spacing"]))
        (guide,) = dotted_lines(axes)
        slope = np.diff(np.log(guide.get_ydata())) / np.diff(np.log(guide.get_xdata()))
        np.testing.assert_allclose(slope, 0.5)
    assert left.get_xlabel().startswith("α/|B|") and right.get_xlabel().startswith("α/√|B|")
    assert "linear rule (p = 0.5, q = 0.5)" in left.get_title()
    assert "square-root rule (p = 0.5, q = 0.25)" in right.get_title()
    containers = errorbar_containers(left)
    assert len({c.lines[0].get_marker() for c in containers}) == fitted["batch_size"].nunique()
    assert len({c.lines[0].get_color() for c in containers}) == fitted["learning_rate"].nunique()
    fit = exponents.iloc[0]
    p = with_error(fit["lr_exponent"], fit["lr_exponent_err"])
    q = with_error(fit["batch_exponent"], fit["batch_exponent_err"])
    assert any(text.startswith(f"fit: p = {p}, q = {q}") for text in all_legend_texts(left))
    assert "α = 0.2" in all_legend_texts(left) and "|B| = 4" in all_legend_texts(right)


def test_scaling_rules_figure_of_many_pairs_colours_and_names_each_fit(many_clusters):
    scaling, exponents = many_clusters["scaling"], many_clusters["scaling_exponents"]
    assert exponents["cluster"].tolist() == [1, 2, 3, 4]  # the pairs; single levels have no ⟨S⟩
    left, _ = draw("scaling_rules", many_clusters).axes
    _, y = plotted_points(left)
    assert y.size == exponents["n_points"].sum() == 4 * len(RBM_POINTS)
    assert len({c.lines[0].get_color() for c in errorbar_containers(left)}) == 4
    labels = selection.cluster_table(scaling).set_index("cluster")["label"]
    texts = all_legend_texts(left)
    for fit in exponents.itertuples():
        p = with_error(fit.lr_exponent, fit.lr_exponent_err)
        assert any(text.startswith(f"{labels[fit.cluster]}: p = {p}") for text in texts)


def test_scaling_rules_figure_says_when_the_sweep_does_not_vary_both(experiment, dyson):
    alpha_scan = experiment["scaling"][experiment["scaling"]["batch_size"] == 16]
    data = {**experiment, "scaling": alpha_scan, "scaling_exponents": scaling_exponents(alpha_scan)}
    for case in (data, dyson):
        assert case["scaling_exponents"].empty
        figure = draw("scaling_rules", case)
        assert "no power law fitted" in figure_texts(figure)
        assert not any(errorbar_containers(axes) for axes in figure.axes)


def test_power_law_points_are_the_rows_each_fit_used(experiment, many_clusters):
    points = selection.power_law_points(experiment["scaling"], experiment["scaling_exponents"])
    assert sorted(points["noise"].unique()) == [0.1] and (points["status"] == "ok").all()
    assert len(points) == experiment["scaling_exponents"]["n_points"].sum()
    # null ε (not swept) matches null
    pairs = selection.power_law_points(many_clusters["scaling"], many_clusters["scaling_exponents"])
    assert (
        pairs.groupby("fit").size().tolist()
        == many_clusters["scaling_exponents"]["n_points"].tolist()
    )


# --- Residuals -------------------------------------------------------------------------


def test_residuals_figure_against_exact_and_continuum_theory(experiment):
    scaling = experiment["scaling"]
    figure = draw("residuals", experiment)
    axes, key = figure.axes  # the residuals, and a blank panel holding the legends
    assert not key.axison and not key.lines
    assert_labelled(axes)
    assert axes.get_xscale() == "log"
    assert axes.get_xlabel().startswith("α/|B|")
    ok = ok_points(scaling)
    for column, filled in [("residual", True), ("residual_continuum", False)]:
        lines = residual_lines(axes, column)
        assert lines
        for line in lines:
            hollow = line.get_markerfacecolor() == "none"
            assert hollow != filled
        x = np.concatenate([line.get_xdata() for line in lines]).astype(float)
        y = np.concatenate([line.get_ydata() for line in lines]).astype(float)
        values = ok[column].to_numpy(dtype=float)
        finite = np.isfinite(values)
        assert np.isfinite(y).sum() == finite.sum() == 4  # the unstable point has none
        assert set(np.round(y[np.isfinite(y)], 9)) == set(np.round(values[finite], 9))
        assert set(np.round(x, 12)) <= set(np.round(ok["ratio"], 12))
    # the continuum misses the O(α) term: its residuals are large and grow with α
    continuum = ok["residual_continuum"].dropna()
    assert (continuum > 2).all()
    assert np.abs(ok["residual"].dropna()).max() < continuum.min()
    # ±1 and ±2 bands, zero line
    spans = sorted((patch.get_y(), patch.get_y() + patch.get_height()) for patch in axes.patches)
    assert spans == [pytest.approx((-2, 2)), pytest.approx((-1, 1))]
    low, high = axes.get_ylim()
    assert low <= -2 and high >= 2 and high >= continuum.max()
    # mean and spread of each set in the legend
    texts = all_legend_texts(key)
    for column, against in [("residual", "exact"), ("residual_continuum", "continuum")]:
        values = ok[column].dropna()
        expected = f"mean {values.mean():+.2f}, s.d. {values.std(ddof=1):.2f} (4 points)"
        assert any(against in text and expected in text for text in texts), (column, texts)
    assert "α = 0.1" in texts and "|B| = 4" in texts
    assert "α = 0.8, |B| = 16, ε = 0.1 (all replicas diverged)" in figure_texts(figure)


def test_residuals_figure_of_the_dyson_model_colours_clusters(dyson):
    figure = draw("residuals", dyson)
    axes, key = figure.axes
    assert axes.get_xlabel().startswith("temperature T")
    lines = residual_lines(axes, "residual")
    x = np.concatenate([line.get_xdata() for line in lines]).astype(float)
    assert x.size == 2 * len(DYSON_TEMPERATURES)  # pair and triplet, no single level
    assert len({line.get_color() for line in lines}) == 2
    texts = all_legend_texts(key)
    assert "pair at 1" in texts and "triplet at 2" in texts
    assert any("(6 points)" in text for text in texts)


def test_residuals_figure_says_when_there_is_no_theory(experiment, many_clusters):
    figure = draw("residuals", many_clusters)
    texts = figure_texts(figure)
    assert RBM.no_theory_reason in texts and EXPERIMENT in texts
    for axes in figure.axes:
        assert not axes.lines and not axes.patches and not axes.collections
        assert not errorbar_containers(axes)
    # a model with a theory whose ok points all lack a prediction (SGD unstable)
    scaling = experiment["scaling"].copy()
    ok = (scaling["status"] == "ok").to_numpy()
    scaling.loc[ok, THEORY_COLUMNS] = np.nan
    figure = draw("residuals", {**experiment, "scaling": scaling})
    assert "has a theory prediction" in figure_texts(figure)
    assert not any(axes.lines for axes in figure.axes)


# --- Centres ---------------------------------------------------------------------------


def test_centres_figure_draws_relative_offsets_per_cluster(many_clusters):
    scaling = many_clusters["scaling"]
    figure = draw("centres", many_clusters)
    (axes,) = figure.axes
    assert_labelled(axes)
    assert "(x0 − target) / target" in axes.get_ylabel()
    assert axes.get_xlabel().startswith("α/|B|")
    containers = errorbar_containers(axes)
    assert [c.get_label() for c in containers] == [
        layout.cluster_name(n, target)
        for n, target in scaling.drop_duplicates("cluster")[["levels", "target"]].to_numpy()
    ]
    for container, (_, rows) in zip(containers, scaling.groupby("cluster"), strict=True):
        x = np.asarray(container.lines[0].get_xdata(), dtype=float)
        y = np.asarray(container.lines[0].get_ydata(), dtype=float)
        expected = ((rows["center"] - rows["target"]) / rows["target"]).to_numpy()
        np.testing.assert_allclose(np.sort(y), np.sort(expected))
        np.testing.assert_allclose(np.sort(x), np.sort(rows["ratio"].to_numpy()))
        assert np.all(y < 0)  # centres below targets, as built
    (zero,) = labelled_lines(axes, "centre = target")
    assert set(zero.get_ydata()) == {0.0}


def test_centres_figure_marks_the_theorys_centre_of_each_point_and_cluster(many_clusters):
    scaling = many_clusters["scaling"].copy()
    assert not theory_markers(draw("centres", many_clusters).axes[0])
    scaling["center_theory"] = scaling["target"] * (1 - 2 * scaling["ratio"])
    scaling["center_theory_err"] = 1e-4
    (axes,) = draw("centres", {**many_clusters, "scaling": scaling}).axes
    (crosses,) = theory_markers(axes)
    ok = scaling[scaling["status"] == "ok"]
    np.testing.assert_allclose(np.sort(crosses.get_xdata()), np.sort(ok["ratio"]))
    np.testing.assert_allclose(crosses.get_ydata(), -2 * np.asarray(crosses.get_xdata()))


def test_centres_figure_of_the_dyson_model(dyson):
    figure = draw("centres", dyson)
    (axes,) = figure.axes
    assert axes.get_xlabel().startswith("temperature T")
    assert len(errorbar_containers(axes)) == 3  # pair, triplet, single


# --- Pair densities -----------------------------------------------------------------------


def test_pair_densities_overlay_equal_width_and_two_component(experiment):
    scaling, fits = experiment["scaling"], experiment["density_fits"]
    figure = draw("pair_densities", experiment)
    assert len(figure.axes) == 3  # one pair, three points
    for axes in figure.axes:
        assert_labelled(axes)
        assert histogram_area(axes) == pytest.approx(1.0)
        (row,) = (
            row
            for _, row in ok_points(scaling).iterrows()
            if layout.point_label(row) in axes.get_title()
        )
        point_fits = fits[fits["point"] == row["point"]].set_index("density")
        (equal,) = labelled_lines(axes, "equal width")
        (two,) = labelled_lines(axes, "two-component")
        x = equal.get_xdata()
        equal_fit, two_fit = point_fits.loc["equal_width"], point_fits.loc["two_component"]
        np.testing.assert_allclose(
            equal.get_ydata(), two_level_density(x, equal_fit["center"], equal_fit["width"])
        )
        np.testing.assert_allclose(
            two.get_ydata(),
            two_component_density(x, two_fit["center"], two_fit["width"], two_fit["second_width"]),
        )
        texts = legend_texts(axes)
        assert "equal width, ΔAIC = 0.0" in texts
        assert "two-component, σ1/σ2 = 1.86, ΔAIC = 1.7" in texts
        assert "σ1 = σ2 likelihood-ratio p = 0.14" in texts
        assert dotted_lines(axes)[0].get_xdata()[0] == TARGET


def test_pair_densities_show_at_most_four_pairs(many_clusters):
    figure = draw("pair_densities", many_clusters, "gram_eigenvalue")
    assert len(figure.axes) == 4 * 3
    titles = [axes.get_title() for axes in figure.axes]
    for target in ["1.382", "2.382", "3.618", "4.618"]:
        assert sum(f"pair at {target}" in title for title in titles) == 3
    assert not any("single level" in title for title in titles)


def test_pair_densities_overlay_the_semicircle_on_a_triplet(dyson):
    fits = dyson["density_fits"]
    figure = draw("pair_densities", dyson)
    assert len(figure.axes) == 2 * 3  # the pair and the triplet, three temperatures
    triplets = [axes for axes in figure.axes if "triplet at 2" in axes.get_title()]
    assert len(triplets) == 3
    for axes in triplets:
        (semicircle,) = labelled_lines(axes, "semicircle")
        (row,) = (
            row
            for _, row in fits[fits["density"] == "semicircle"].iterrows()
            if layout.point_label(row) in axes.get_title()
        )
        x = semicircle.get_xdata()
        np.testing.assert_allclose(
            semicircle.get_ydata(), semicircle_density(x, row["center"], row["width"])
        )
        assert "equal width, ΔAIC = 0.0 (no curve)" in legend_texts(axes)
        assert "semicircle, ΔAIC = 9.5" in legend_texts(axes)


def test_pair_densities_without_any_cluster_of_two_levels(tmp_path):
    rng = np.random.default_rng(2)
    levels = rng.normal(2.0, 0.01, size=(SAMPLES, 1))
    values = {"learning_rate": 0.1, "batch_size": 16, "noise": 0.1}
    point = point_id(values)
    scaling = round_trip(
        pd.DataFrame(
            [
                {
                    "experiment": EXPERIMENT,
                    "point": point,
                    **values,
                    "ratio": 0.1 / 16,
                    "amplitude": 0.01,
                    "scale": 0.008,
                    "scans": ["single point"],
                    "cluster": 0,
                    "continuum_slope": np.nan,
                    **cluster_row(levels, 2.0, "ok"),
                }
            ]
        ),
        "scaling",
        tmp_path,
    )
    spectrum = spectrum_frame(levels, [2.0], [0], values)
    figure = draw(
        "pair_densities",
        {
            "labels": TEACHER_STUDENT,
            "scaling": scaling,
            "density_fits": pd.DataFrame(),
            "spectra": {point: spectrum},
        },
    )
    assert "no cluster of two or more levels" in figure_texts(figure)


# --- Eigenvalue flow ----------------------------------------------------------------------


def test_eigenvalue_flow_draws_every_level_of_every_replica(tmp_path, experiment):
    point = {"learning_rate": 0.1, "batch_size": 16, "noise": 0.1}
    snapshots, weights = flow_table(tmp_path, [TARGET, TARGET], point, replicas=3, steps=60)
    figure = draw("eigenvalue_flow", experiment, burn_in=30, flow=Flow(snapshots, weights))
    flow, pair, spacing = figure.axes
    assert flow.get_xscale() == "log"
    assert flow.get_xlabel().startswith("training step")
    assert flow.get_ylabel().startswith("singular value λ of W")
    assert "α = 0.1, |B| = 16, ε = 0.1" in figure_texts(figure)
    solid = [line for line in flow.lines if line.get_linestyle() == "-"]
    assert len(solid) == 3 * 2  # a line per level per replica
    assert len({line.get_color() for line in solid}) == 3  # a colour per replica
    assert [line.get_ydata()[0] for line in dotted_lines(flow)] == [TARGET]
    # the first replica's lines are its singular values at every step
    first = snapshots["replica"].to_numpy() == 0
    expected = np.linalg.svd(weights[0][first], compute_uv=False)[:, ::-1]
    np.testing.assert_allclose(solid[0].get_ydata(), expected[:, 0])
    np.testing.assert_allclose(solid[1].get_ydata(), expected[:, 1])
    assert {"replica 0", "replica 2", "targets"} <= set(legend_texts(flow))
    # the zoom: steps ≥ burn_in, linear; the pair of one replica, every replica's spacing
    assert pair.get_xscale() == "linear"
    assert spacing.get_xlim() == pytest.approx((30, 60))
    assert len([line for line in pair.lines if line.get_linestyle() == "-"]) == 2
    assert "pair at 2" in pair.get_title()
    gaps = [line for line in spacing.lines if line.get_linestyle() == "-"]
    assert len(gaps) == 3
    assert np.all(np.concatenate([line.get_ydata() for line in gaps]) >= 0)
    assert spacing.get_xlabel() == "training step"


def test_eigenvalue_flow_of_the_dyson_model_marks_every_target(tmp_path, dyson):
    snapshots, weights = flow_table(tmp_path, DYSON_TARGETS, {"temperature": 1e-4}, replicas=2)
    figure = draw("eigenvalue_flow", dyson, burn_in=30, flow=Flow(snapshots, weights))
    flow, pair, _ = figure.axes
    assert flow.get_xlabel().startswith("time step")
    assert "T = 0.0001" in figure_texts(figure)
    assert sorted(line.get_ydata()[0] for line in dotted_lines(flow)) == [1.0, 2.0, 3.5]
    assert len([line for line in flow.lines if line.get_linestyle() == "-"]) == 2 * 6
    assert "pair at 1" in pair.get_title() or "triplet at 2" in pair.get_title()
    (measured,) = [line for line in figure.axes[2].lines if line.get_linestyle() == "--"]
    zoomed = 0 if "pair" in pair.get_title() else 1
    scaling = dyson["scaling"]
    rows = scaling[(scaling["temperature"] == 1e-4) & (scaling["cluster"] == zoomed)]
    assert measured.get_ydata()[0] == pytest.approx(rows["mean_spacing"].iloc[0])


def test_eigenvalue_flow_of_eigenvalues_of_x(tmp_path, many_clusters):
    point = {"learning_rate": 0.02, "batch_size": 16}
    snapshots, weights = flow_table(tmp_path, list(np.sqrt(RBM_TARGETS)), point, replicas=2)
    figure = draw(
        "eigenvalue_flow", many_clusters, "gram_eigenvalue", flow=Flow(snapshots, weights)
    )
    flow = figure.axes[0]
    assert flow.get_ylabel().startswith("eigenvalue x of X")
    solid = [line for line in flow.lines if line.get_linestyle() == "-"]
    assert len(solid) == 2 * 10
    assert solid[-1].get_ydata()[-1] == pytest.approx(5.0, rel=0.05)  # x = λ², near x* = 5
    assert "pair at" in figure.axes[1].get_title()


def test_eigenvalue_flow_without_survivors(tmp_path, experiment):
    snapshots, _ = flow_table(tmp_path, [TARGET, TARGET], {"learning_rate": 0.1})
    figure = draw(
        "eigenvalue_flow",
        experiment,
        burn_in=30,
        flow=Flow(snapshots.iloc[0:0], {0: np.empty((0, 0, 0))}),
    )
    assert "no surviving replica in the flow run" in figure_texts(figure)


# --- Registry, captions and the rule's data ----------------------------------------------


def test_figures_are_registered_in_report_order_with_the_tables_they_read():
    assert list(plotting.FIGURES) == [
        "eigenvalue_flow",
        "spectrum_histograms",
        "spacing_distribution",
        "pair_densities",
        "scaling",
        "sigma_vs_spacing",
        "collapse",
        "scaling_rules",
        "residuals",
        "centres",
        "phase_maps",
        "ordered_fraction",
        "initial_spectrum",
        "semicircle",
        "wide_limit",
    ]
    for name, entry in plotting.FIGURES.items():
        assert entry.name == name
        assert "scaling" in entry.inputs and set(entry.inputs) <= set(plotting.INPUTS)
    assert plotting.FIGURES["eigenvalue_flow"].inputs == ("scaling", "flow")
    assert plotting.FIGURES["scaling"].inputs == ("scaling", "scaling_fit")
    assert plotting.FIGURES["collapse"].inputs == ("scaling",)
    assert plotting.FIGURES["scaling_rules"].inputs == ("scaling", "scaling_exponents")
    assert plotting.FIGURES["phase_maps"].inputs == ("scaling", "phase_cells")


def test_a_figure_refuses_data_without_a_table_it_declared(experiment):
    data = FigureData(labels=TEACHER_STUDENT, scaling=experiment["scaling"])
    with pytest.raises(ValueError, match="scaling_fit"):
        plotting.FIGURES["scaling"].draw(data)


def rendered(caption: str) -> str:
    """The caption as HTML, as Snakemake's report renders it; raises on any reST warning."""
    settings = {"report_level": 2, "halt_level": 2, "warning_stream": False}
    return publish_parts(caption, writer="html", settings_overrides=settings)["body"]


def test_every_caption_opens_with_the_experiment_and_renders_its_labels_as_written():
    labels = dataclasses.replace(RBM, description="weights of runs/*_final.parquet")
    for name in plotting.FIGURES:
        caption = plotting.caption(name, labels, "rbm_run", 6000, FLOW_SETTINGS, "gram_eigenvalues")
        html = rendered(caption)  # raises on any reST warning
        assert html.startswith(
            "<p>Experiment <strong>rbm_run</strong> (weights of runs/*_final.parquet, "
            "statistics at steps ≥ 6000). "
        ), (name, html)
        assert "\\" not in html, name
        assert not any(model in caption for model in MODEL_NAMES), name
    scaling = plotting.caption(
        "scaling", labels, "rbm_run", 6000, FLOW_SETTINGS, "gram_eigenvalues"
    )
    assert "the scaling variable √(α x*/|B|)" in rendered(scaling)


def test_captions_take_their_model_specific_sentences_from_the_labels():
    def caption(name: str, labels: Labels) -> str:
        return plotting.caption(name, labels, EXPERIMENT, 100, FLOW_SETTINGS, "singular_values")

    assert RBM.no_theory_reason in caption("residuals", RBM)
    assert "left empty" not in caption("residuals", DYSON)
    assert DYSON.theory_note in caption("scaling", DYSON)
    assert RBM.centres_note in caption("centres", RBM)
    continuum = dataclasses.replace(TEACHER_STUDENT, continuum_note="Dashed: a = √π.")
    assert "Dashed: a = √π." in caption("scaling", continuum)
    # the ratio, the step and the colours of the Dyson model
    assert "temperature T" in caption("centres", DYSON)
    assert "time step" in caption("eigenvalue_flow", DYSON)
    assert "Colour: the cluster." in caption("collapse", DYSON)
    assert "hollow marker: \\|B\\|" in caption("collapse", TEACHER_STUDENT)  # escaped
    assert "it should be flat" in caption("collapse", DYSON)
    assert "O(α) discrete-time departures" in caption("collapse", TEACHER_STUDENT)
    # the histogram points: by scale, or by learning rate where the scale is the cluster's
    assert "scaling variable √T" in caption("spectrum_histograms", DYSON)
    assert "learning rate at the batch size" in caption("spectrum_histograms", RBM)
    # the flow: a rerun with fine snapshots, or the first replicas of external data
    assert "200 evenly spaced snapshots" in caption("eigenvalue_flow", TEACHER_STUDENT)
    external = dataclasses.replace(TEACHER_STUDENT, simulated=False)
    assert "The first 4 replicas" in caption("eigenvalue_flow", external)
    assert "at the snapshots of the files" in caption("eigenvalue_flow", external)


def test_plotting_never_names_a_model():
    package = Path(plotting.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for model in MODEL_NAMES:
            assert f'"{model}"' not in text and f"'{model}'" not in text, (source.name, model)


def test_first_replicas_keeps_the_rows_of_the_smallest_replica_numbers():
    frame = pd.DataFrame({"replica": [3, 1, 0, 2, 1, 0], "step": range(6)})
    assert sorted(selection.first_replicas(frame, 2)["replica"]) == [0, 0, 1, 1]
    table = pa.Table.from_pandas(frame)
    assert sorted(selection.first_replicas(table, 2).column("replica").to_pylist()) == [0, 0, 1, 1]
    assert selection.first_replicas(table, 10).num_rows == 6


def test_the_rule_reads_only_the_declared_tables(tmp_path, experiment):
    scaling_path, fit_path = tmp_path / "scaling.parquet", tmp_path / "scaling_fit.parquet"
    write_table(complete(experiment["scaling"], "scaling"), scaling_path, "scaling")
    write_table(complete(experiment["scaling_fit"], "scaling_fit"), fit_path, "scaling_fit")
    settings = {"burn_in": 50, "observable": "gram_eigenvalues"}
    inputs = {"scaling": scaling_path, "scaling_fit": fit_path}
    data = plots.read_figure_data("scaling", inputs, TEACHER_STUDENT.as_params(), settings)
    assert data.labels == TEACHER_STUDENT
    assert data.column == "gram_eigenvalue" and data.burn_in == 50
    assert len(data.scaling) == len(experiment["scaling"])
    assert data.spectra is None and data.density_fits is None and data.flow is None


def test_the_rule_keeps_the_statistics_steps_and_the_first_flow_replicas(tmp_path, experiment):
    point = experiment["scaling"]["point"].iloc[0]
    spectrum = tmp_path / "spectra" / f"{point}.parquet"
    spectrum.parent.mkdir()
    write_table(complete(experiment["spectra"][point], "spectrum"), spectrum, "spectrum")
    flow_table(tmp_path, [TARGET, TARGET], {"learning_rate": 0.1}, replicas=3, steps=5)
    inputs = {"scaling": tmp_path / "scaling.parquet", "spectra": [spectrum]}
    inputs["flow"] = tmp_path / "flow.parquet"
    settings = {"burn_in": 100, "observable": "singular_values", "flow_replicas": 2}
    labels = TEACHER_STUDENT.as_params()
    data = plots.read_figure_data("spectrum_histograms", inputs, labels, settings)
    assert list(data.spectra) == [point] and len(data.spectra[point]) == 2 * SAMPLES
    later = plots.read_figure_data(
        "spectrum_histograms", inputs, labels, {**settings, "burn_in": 101}
    )
    assert later.spectra[point].empty  # every synthetic snapshot is at step 100
    flow = plots.read_figure_data("eigenvalue_flow", inputs, labels, settings).flow
    assert sorted(set(flow.snapshots["replica"])) == [0, 1]
    assert list(flow.weights) == [0] and flow.weights[0].shape == (2 * 5, 2, 2)


# --- Every figure ------------------------------------------------------------------------


def every_figure(data: dict, column: str, flow: tuple) -> dict[str, Figure]:
    """Every registered figure (`plotting.FIGURES`) of one synthetic experiment, in order."""
    return {
        name: draw(name, data, column, burn_in=30, flow=Flow(*flow))
        for name in plotting.figures_of(phase_diagram=False)  # no phase or wide-limit figures
    }


def test_every_figure_of_every_model_is_drawn_and_saved(tmp_path, many_clusters, dyson):
    cases = [
        (many_clusters, "gram_eigenvalue", list(np.sqrt(RBM_TARGETS)), {"learning_rate": 0.02}),
        (dyson, COLUMN, DYSON_TARGETS, {"temperature": 1e-4}),
    ]
    for index, (data, column, targets, point) in enumerate(cases):
        folder = tmp_path / str(index)
        flow = flow_table(folder, targets, point, replicas=2, steps=40)
        for name, figure in every_figure(data, column, flow).items():
            assert EXPERIMENT in figure_texts(figure), name
            plotting.save_figure(figure, folder / f"{name}.png", folder / f"{name}.pdf")
            assert (folder / f"{name}.png").stat().st_size > 0


def test_every_figure_survives_an_experiment_without_survivors(tmp_path, experiment):
    scaling = experiment["scaling"].copy()
    scaling["status"] = "all_diverged"
    data = {
        **experiment,
        "scaling": scaling,
        "scaling_fit": experiment["scaling_fit"].iloc[0:0],
        "scaling_exponents": scaling_exponents(scaling),
    }
    flow = flow_table(tmp_path, [TARGET, TARGET], {"learning_rate": 0.1, "batch_size": 16})
    figures = every_figure(data, COLUMN, flow)
    for name, figure in figures.items():
        assert isinstance(figure, Figure)
        if name != "eigenvalue_flow":  # the flow run has its own replicas
            assert "all replicas diverged" in figure_texts(figure), name
        for axes in figure.axes:
            assert not errorbar_containers(axes)
    names = ["spectrum_histograms", "spacing_distribution", "pair_densities", "residuals"]
    for name in [*names, "centres"]:
        assert "no point without diverged replicas" in figure_texts(figures[name]), name


def test_save_figure_writes_png_and_pdf_and_leaves_no_temporary(tmp_path):
    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1])
    png, pdf = tmp_path / "plots" / "a.png", tmp_path / "plots" / "a.pdf"
    plotting.save_figure(figure, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert sorted(path.name for path in png.parent.iterdir()) == ["a.pdf", "a.png"]
    assert not figure.axes  # cleared


def test_save_figure_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    figure = Figure()
    png, pdf = tmp_path / "a.png", tmp_path / "a.pdf"
    png.write_bytes(b"old")

    def fail(path, **_):
        with open(path, "wb") as partial:
            partial.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        plotting.save_figure(figure, png, pdf)
    assert png.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["a.png"]


def test_clusters_are_named_by_their_matrix_only_when_several_are_trained():
    one = pd.DataFrame({"cluster": [0, 1], "levels": [2, 1], "target": [1.0, 2.0], "layer": 0})
    assert list(selection.cluster_table(one)["label"]) == ["pair at 1", "single level at 2"]
    two = one.assign(layer=[0, 1])
    assert list(selection.cluster_table(two)["label"]) == [
        "pair at 1 in W0",
        "single level at 2 in W1",
    ]
