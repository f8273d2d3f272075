"""Tests of the figures (sgd_dyson.plotting) on small synthetic tables.

The tables are built by hand in the schemas of `sgd_dyson.tables` and passed
through a Parquet write and read, so that they look exactly like the ones the
rule script reads (list columns come back as arrays, integers as int64).
"""

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from sgd_dyson import plotting
from sgd_dyson.config import point_id
from sgd_dyson.distributions import surmise_pdf, two_level_density
from sgd_dyson.fits import coulomb_gas_width, neighbour_spacings, surmise_beta
from sgd_dyson.tables import column_names, read_table, write_table

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


def goe_pair(rng: np.random.Generator, center: float, sigma: float, samples: int) -> np.ndarray:
    """``(samples, 2)`` ascending eigenvalues of ``center + H``, H a 2×2 GOE matrix of width σ.

    Their joint law is the two-level Coulomb gas ``|x1 − x2| e^{−Σ(x_i − x0)²/2σ²}``.
    """
    diagonal = rng.normal(0.0, sigma, size=(samples, 2))
    off_diagonal = rng.normal(0.0, sigma / np.sqrt(2), size=samples)
    mean = diagonal.mean(axis=1)
    radius = np.hypot((diagonal[:, 0] - diagonal[:, 1]) / 2, off_diagonal)
    return center + np.column_stack([mean - radius, mean + radius])


def spectrum_frame(levels: np.ndarray, targets: list[float], clusters: list[int]) -> pd.DataFrame:
    """A spectrum table of ``(samples, n)`` levels, one snapshot per replica at step 100."""
    samples, n = levels.shape
    return pd.DataFrame(
        {
            "replica": np.repeat(np.arange(samples), n),
            "draw": np.zeros(samples * n, dtype=int),
            "step": np.full(samples * n, 100),
            "level": np.tile(np.arange(n), samples),
            "singular_value": levels.ravel(),
            "gram_eigenvalue": levels.ravel() ** 2,
            "cluster": np.tile(clusters, samples),
            "target_singular_value": np.tile(targets, samples),
            "learning_rate": np.full(samples * n, 0.1),
            "batch_size": np.full(samples * n, 16),
            "noise": np.full(samples * n, 0.1),
        }
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
    }
    if status != "ok":
        return row | dict.fromkeys(STATISTICS, np.nan)
    center, sigma = coulomb_gas_width(levels)
    row |= {"center": center, "center_err": 0.01 * sigma, "sigma": sigma, "sigma_err": 0.02 * sigma}
    row |= {"surmise_chi2": 15.0, "surmise_dof": 18, "surmise_pvalue": 0.6, "beta_err": 0.1}
    if levels.shape[1] < 2:
        return row | {"mean_spacing": np.nan, "mean_spacing_err": np.nan, "beta": np.nan}
    spacing = neighbour_spacings(levels).ravel()
    return row | {
        "mean_spacing": spacing.mean(),
        "mean_spacing_err": spacing.std() / np.sqrt(spacing.size),
        "beta": surmise_beta(spacing / spacing.mean()),
    }


def round_trip(frame: pd.DataFrame | dict, kind: str, folder) -> pd.DataFrame:
    """Write a table of ``kind`` and read it back, as the rule script sees it."""
    path = folder / f"{kind}.parquet"
    write_table(frame, path, kind)
    return read_table(path, kind)


@pytest.fixture
def experiment(tmp_path) -> dict:
    """Scaling, scaling-fit and spectra of a small experiment with a two-level teacher."""
    rng = np.random.default_rng(2024)
    rows, spectra = [], {}
    for index, (rate, batch, noise, scans, status) in enumerate(POINTS):
        point = point_id(rate, batch, noise)
        scale = np.sqrt(rate / batch * noise**2)
        levels = goe_pair(rng, TARGET, scale, SAMPLES if status == "ok" else 0)
        spectrum = spectrum_frame(levels, [TARGET, TARGET], [0, 0])
        spectra[point] = round_trip(spectrum, "spectrum", tmp_path / str(index))
        rows.append(
            {
                "experiment": EXPERIMENT,
                "point": point,
                "learning_rate": rate,
                "batch_size": batch,
                "noise": noise,
                "ratio": rate / batch,
                "amplitude": noise**2,
                "scale": scale,
                "scans": scans,
                "cluster": 0,
                "continuum_slope": np.sqrt(np.pi),
                **cluster_row(levels, TARGET, status),
            }
        )
    scaling = round_trip(pd.DataFrame(rows)[column_names("scaling")], "scaling", tmp_path)
    fit = {
        "experiment": [EXPERIMENT] * 2,
        "quantity": ["mean_spacing", "sqrt_pi_sigma"],
        "cluster": [0, 0],
        "slope": [FIT["slope"], 1.7],
        "slope_err": [FIT["slope_err"], 0.03],
        "chi2_dof": [1.1, 0.9],
        "n_points": [5, 5],
        "continuum_slope": [np.sqrt(np.pi)] * 2,
    }
    return {
        "scaling": scaling,
        "scaling_fit": round_trip(fit, "scaling_fit", tmp_path),
        "spectra": spectra,
    }


def ok_points(scaling: pd.DataFrame) -> pd.DataFrame:
    return scaling[scaling["status"] == "ok"]


def figure_texts(figure: Figure) -> str:
    """Every text of the figure (titles, labels, legends, notes), joined."""
    return "\n".join(text.get_text() for text in figure.findobj(lambda a: hasattr(a, "get_text")))


def legend_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def assert_labelled(axes) -> None:
    assert axes.get_xlabel().strip(), "x axis without label"
    assert axes.get_ylabel().strip(), "y axis without label"


def labelled_lines(axes, prefix: str) -> list:
    return [line for line in axes.lines if line.get_label().startswith(prefix)]


def errorbar_containers(axes) -> list[ErrorbarContainer]:
    return [c for c in axes.containers if isinstance(c, ErrorbarContainer)]


def plotted_points(axes) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every error-bar point of ``axes``, concatenated."""
    lines = [container.lines[0] for container in errorbar_containers(axes)]
    return (
        np.concatenate([line.get_xdata() for line in lines]).astype(float),
        np.concatenate([line.get_ydata() for line in lines]).astype(float),
    )


def test_spectrum_histograms_show_smallest_median_largest_scale(experiment):
    scaling, spectra = experiment["scaling"], experiment["spectra"]
    figure = plotting.spectrum_histograms_figure(scaling, spectra, COLUMN)
    panels = figure.axes
    assert len(panels) == 3
    scales = np.sort(ok_points(scaling)["scale"].to_numpy())
    expected = [scales[0], scales[(len(scales) - 1) // 2], scales[-1]]
    for axes, scale in zip(panels, expected, strict=True):
        assert f"{scale:.3g}" in axes.get_title()
        assert_labelled(axes)
        heights = np.array([patch.get_height() for patch in axes.patches])
        widths = np.array([patch.get_width() for patch in axes.patches])
        assert np.sum(heights * widths) == pytest.approx(1.0)  # density=True
        density, target = axes.lines
        (row,) = (
            row for _, row in scaling.iterrows() if plotting.point_label(row) in axes.get_title()
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
    point = point_id(0.1, 16, 0.1)
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
    scaling = round_trip(scaling[column_names("scaling")], "scaling", tmp_path)
    figure = plotting.spectrum_histograms_figure(scaling, {point: spectrum}, COLUMN)
    single_panel, pair_panel = figure.axes
    assert len(single_panel.lines) == 1  # the target only
    assert single_panel.lines[0].get_xdata()[0] == 1.0
    assert len(pair_panel.lines) == 2  # the fitted density and the target
    assert single_panel.patches and pair_panel.patches


def test_spacing_distribution_pools_unfolded_spacings_per_scan(experiment):
    scaling, spectra = experiment["scaling"], experiment["spectra"]
    figure = plotting.spacing_distribution_figure(scaling, spectra, COLUMN)
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
        heights = np.array([patch.get_height() for patch in axes.patches])
        widths = np.array([patch.get_width() for patch in axes.patches])
        assert np.sum(heights * widths) == pytest.approx(1.0)
    lonely = figure.axes[scans.index("lonely")]
    assert lonely.get_title() == "lonely (1 point)"


def test_unfolded_spacings_have_mean_one():
    levels = goe_pair(np.random.default_rng(1), 2.0, 0.05, 1000)
    s = plotting.unfolded_spacings(levels)
    assert s.shape == (1000,)
    assert s.mean() == pytest.approx(1.0)


def test_scaling_figure_draws_points_fit_and_continuum(experiment):
    scaling, scaling_fit = experiment["scaling"], experiment["scaling_fit"]
    figure = plotting.scaling_figure(scaling, scaling_fit)
    top, bottom = figure.axes
    for axes in (top, bottom):
        assert axes.get_ylabel().strip()
    assert bottom.get_xlabel().strip()
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


def test_scaling_figure_without_fitted_line(experiment):
    scaling, scaling_fit = experiment["scaling"], experiment["scaling_fit"]
    figure = plotting.scaling_figure(scaling, scaling_fit.iloc[0:0])
    top, _ = figure.axes
    assert "no line fitted (no usable point)" in legend_texts(top)
    assert not labelled_lines(top, "fit:")
    (continuum,) = labelled_lines(top, "continuum")
    assert continuum.get_linestyle() == "--"


def test_sigma_vs_spacing_figure_has_points_and_diagonal(experiment):
    scaling = experiment["scaling"]
    figure = plotting.sigma_vs_spacing_figure(scaling)
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


def test_collapse_figure_colours_rates_and_marks_batches(experiment):
    scaling = experiment["scaling"]
    figure = plotting.collapse_figure(scaling)
    top, bottom = figure.axes
    assert top.get_xscale() == "log" and top.get_yscale() == "log"
    assert top.get_ylabel().strip() and bottom.get_ylabel().strip() and bottom.get_xlabel().strip()
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
    legend_labels = [
        t.get_text()
        for legend in top.findobj(lambda a: hasattr(a, "get_texts"))
        for t in legend.get_texts()
    ]
    assert "α = 0.1" in legend_labels and "|B| = 64" in legend_labels


def test_every_figure_survives_an_experiment_without_survivors(experiment):
    scaling = experiment["scaling"].copy()
    scaling["status"] = "all_diverged"
    empty_fit = experiment["scaling_fit"].iloc[0:0]
    spectra = experiment["spectra"]
    figures = [
        plotting.spectrum_histograms_figure(scaling, spectra, COLUMN),
        plotting.spacing_distribution_figure(scaling, spectra, COLUMN),
        plotting.scaling_figure(scaling, empty_fit),
        plotting.sigma_vs_spacing_figure(scaling),
        plotting.collapse_figure(scaling),
    ]
    for figure in figures:
        assert isinstance(figure, Figure)
        assert "all replicas diverged" in figure_texts(figure)
        for axes in figure.axes:
            assert not errorbar_containers(axes)
    assert "no point without diverged replicas" in figure_texts(figures[0])
    assert "no point without diverged replicas" in figure_texts(figures[1])


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
