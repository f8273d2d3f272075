"""The report: its front page and tables, and the finished report rendered in Chromium.

The rendering tests skip, saying why, where Chromium is not installed;
`.ci/run` installs it and sets SGD_DYSON_REQUIRE_CHROMIUM=1, which turns that
skip into a failure.
"""

import base64
import html
import os
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from browser import console_errors, rendered_dom, unavailable_reason
from workflow_runs import REPOSITORY, TINY_CONFIG

from sgd_dyson import plotting
from sgd_dyson.models import MODELS, Labels, Model
from sgd_dyson.report.front_page import (
    BATCH_EXPONENT,
    LR_EXPONENT,
    front_page,
    headline_exponents,
    headline_line,
    summary_row,
    theory_agreement,
)
from sgd_dyson.report.tables import fits_display, table_page, with_error
from sgd_dyson.stages import front_page as front_page_stage
from sgd_dyson.stages.scaling import ALL_PAIRS
from sgd_dyson.tables import column_names, read_table, write_table

EXPERIMENTS = sorted(yaml.safe_load(TINY_CONFIG.read_text())["experiments"])
SLOPE = "slope a of ⟨S⟩ = a · scale"
COULOMB_GAS_PAIR_SLOPE = np.sqrt(np.pi)
"""The continuum ⟨S⟩/scale of a pair in a Coulomb gas (β = 1)."""


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (1.87312, 0.01234, "1.873 ± 0.012"),
        (0.0308765, 0.000489, "0.03088 ± 0.00049"),
        (123.4, 5.6, "123.4 ± 5.6"),
        (2.0, np.nan, "2"),
        (np.nan, 0.1, "–"),
    ],
)
def test_values_are_written_to_the_precision_of_their_error(value, error, text):
    assert with_error(value, error) == text


def lines(*rows, continuum_slope=COULOMB_GAS_PAIR_SLOPE) -> pd.DataFrame:
    columns = ["quantity", "cluster", "slope", "slope_err", "chi2_dof", "n_points"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(experiment="toy", continuum_slope=continuum_slope)


def test_the_headline_is_the_line_through_all_pairs_when_there_is_one():
    pooled = lines(
        ("mean_spacing", 2, 2.0, 0.1, 1.0, 3),
        ("mean_spacing", 0, 1.0, 0.1, 1.0, 3),
        ("sqrt_pi_sigma", ALL_PAIRS, 3.0, 0.1, 1.0, 6),
        ("mean_spacing", ALL_PAIRS, 1.5, 0.1, 1.0, 6),
    )
    assert headline_line(pooled)["slope"] == 1.5
    assert headline_line(pooled.iloc[:2])["slope"] == 1.0  # else the lowest cluster
    assert headline_line(pooled.iloc[2:3]) is None  # no line of ⟨S⟩


def test_theory_agreement_is_the_mean_squared_residual_of_ok_points():
    scaling = pd.DataFrame(
        {"status": ["ok", "ok", "ok", "diverged"], "residual": [1.0, -2.0, np.nan, 9.0]}
    )
    assert theory_agreement(scaling) == (2.5, 2)
    assert np.isnan(theory_agreement(scaling.iloc[2:])[0])


def test_centres_agreement_is_the_mean_squared_centre_residual_and_missing_without_a_theory():
    scaling = pd.DataFrame(
        {
            "point": ["a", "b", "c"],
            "status": ["ok", "ok", "diverged"],
            "residual": 1.0,
            "residual_center": [2.0, 0.0, 9.0],
        }
    )
    assert theory_agreement(scaling, "residual_center") == (2.0, 2)
    assert np.isnan(theory_agreement(scaling.drop(columns="residual_center"), "residual_center")[0])
    row = summary_row({**toy_experiment("toy"), "scaling": scaling})
    assert row["centres Σr²/n"] == "2.00 (2 points)"
    assert summary_row(toy_experiment("toy"))["centres Σr²/n"] == "–"


def exponents(*rows) -> pd.DataFrame:
    """A scaling_exponents table of ``(cluster, p, p error, q, q error, χ²/dof, points)`` rows."""
    columns = [
        "cluster",
        "lr_exponent",
        "lr_exponent_err",
        "batch_exponent",
        "batch_exponent_err",
        "chi2_dof",
        "n_points",
    ]
    frame = pd.DataFrame(rows, columns=columns).assign(experiment="toy", noise=0.1)
    return frame.assign(init_width=np.nan)[column_names("scaling_exponents")]


def toy_experiment(name: str, continuum_slope: float = COULOMB_GAS_PAIR_SLOPE) -> dict:
    """An experiment as `front_page` takes it: two ok points and one diverged, one pair."""
    return {
        "name": name,
        "title": f"{name} model",
        "optimizer": "adam",
        "scale": "√(α ε²/|B|)",
        "scaling": pd.DataFrame(
            {"point": ["a", "b", "c"], "status": ["ok", "ok", "diverged"], "residual": 1.0}
        ),
        "scaling_fit": lines(
            ("mean_spacing", 0, 1.87312, 0.01234, 0.5, 2), continuum_slope=continuum_slope
        ),
        "scaling_exponents": exponents((0, 0.4913, 0.0123, 0.3187, 0.0094, 1.3, 30)),
        "scaling_png": f"{name} scaling".encode(),
        "flow_png": f"{name} flow".encode(),
    }


def test_the_summary_row_names_the_model_and_scale_it_is_given_and_the_headline_continuum():
    row = summary_row(toy_experiment("toy", continuum_slope=1.5))
    assert row["model"] == "toy model" and row["scaling variable"] == "√(α ε²/|B|)"
    assert row[SLOPE] == "1.873 ± 0.012" and row["points"] == 2
    assert row["continuum theory"] == "1.500"
    assert row["exact theory Σr²/n"] == "1.00 (2 points)" and row["excluded (diverged)"] == 1
    assert summary_row(toy_experiment("toy", continuum_slope=np.nan))["continuum theory"] == "–"
    unfitted = {**toy_experiment("toy"), "scaling_fit": lines()}
    assert summary_row(unfitted)[SLOPE] == "no fit"


def test_the_summary_row_puts_the_optimiser_and_its_exponents_next_to_both_rules():
    row = summary_row(toy_experiment("toy"))
    assert row["optimiser"] == "adam"
    assert row[LR_EXPONENT] == "0.491 ± 0.012" and row[BATCH_EXPONENT] == "0.3187 ± 0.0094"
    assert row["power-law fit"] == "cluster 0, 30 points, χ²/dof 1.30"
    assert row["linear rule (p, q)"] == "(0.5, 0.5)"
    assert row["square-root rule (p, q)"] == "(0.5, 0.25)"
    unfitted = {**toy_experiment("toy"), "optimizer": None, "scaling_exponents": exponents()}
    row = summary_row(unfitted)
    assert row["optimiser"] == row[LR_EXPONENT] == row[BATCH_EXPONENT] == "–"
    assert row["power-law fit"] == "–"
    assert row["linear rule (p, q)"] == "(0.5, 0.5)"  # the rules are there to compare with


def test_the_headline_exponents_are_the_fit_through_the_most_points_lowest_cluster_first():
    fits = exponents(
        (3, 0.3, 0.1, 0.3, 0.1, 1.0, 12),
        (1, 0.5, 0.1, 0.5, 0.1, 1.0, 20),
        (2, 0.4, 0.1, 0.4, 0.1, 1.0, 20),
    )
    assert headline_exponents(fits)["cluster"] == 1
    assert headline_exponents(fits.iloc[[0]])["cluster"] == 3
    assert headline_exponents(fits.iloc[0:0]) is None


def test_the_front_page_heads_each_experiments_two_figures_with_its_slope_and_model():
    experiments = [toy_experiment("first"), toy_experiment("second")]
    page = front_page(experiments)
    assert page.count("<img ") == 4
    assert page.count("<table") == 1  # the summary
    assert "<th>optimiser</th>" in page and "<td>0.3187 ± 0.0094</td>" in page
    for experiment in experiments:
        row = summary_row(experiment)
        heading = f"{experiment['name']}: a = {html.escape(row[SLOPE])} ({experiment['title']})"
        assert heading in page
        for figure in ("scaling_png", "flow_png"):
            assert base64.b64encode(experiment[figure]).decode() in page
    empty = table_page("t", {"nothing": pd.DataFrame()}, note="This model has no theory.")
    assert "<p>none</p>" in empty and "no theory" in empty


class ToyModel(Model):
    name = "toy"
    title = "toy model"
    parameters = ("temperature",)

    def labels(self, experiment: dict) -> Labels:
        return Labels(parameters=self.parameters, scale=f"√({experiment['amplitude']} T)")


class TrainedToyModel(ToyModel):
    parameters = ("learning_rate", "batch_size")


def test_the_front_page_rule_takes_title_and_scale_from_the_model_and_the_optimiser():
    settings = front_page_stage.settings("toy run", ToyModel(), {"amplitude": 2}, 7)
    expected = {
        "name": "toy run",
        "title": "toy model",
        "optimizer": None,
        "scale": "√(2 T)",
        "model": "toy",
        "experiment": {"amplitude": 2},
        "root_seed": 7,
    }
    assert settings == expected  # a temperature, no learning rate: nothing is trained
    trained = TrainedToyModel()
    assert front_page_stage.settings("toy run", trained, {"amplitude": 2}, 7)["optimizer"] == "sgd"
    adam = {"amplitude": 2, "optimizer": {"name": "adam", "beta1": 0.9}}
    assert front_page_stage.settings("toy run", trained, adam, 7)["optimizer"] == "adam"


def test_the_front_page_prints_a_models_theory_remark_under_its_heading():
    page = front_page([{**toy_experiment("toy"), "theory_remark": "Slope 2.3 < 2.5 & more."}])
    heading = page.split('<h3 id="front-toy">')[1]
    assert heading.split("</h3>")[1].startswith("\n<p>Slope 2.3 &lt; 2.5 &amp; more.</p>")
    assert "<p></p>" not in front_page([toy_experiment("toy")])


def test_the_front_page_stage_reads_each_experiments_tables_and_figures(tmp_path):
    files = {}
    tables = ("scaling", "scaling_fit", "scaling_exponents")
    for kind in tables:
        files[kind] = tmp_path / f"{kind}.parquet"
        write_table({column: [] for column in column_names(kind)}, files[kind], kind)
    for figure in ("scaling_png", "flow_png"):
        files[figure] = tmp_path / f"{figure}.png"
        files[figure].write_bytes(figure.encode())
    settings = {"name": "unfitted", "title": "toy model", "optimizer": "sgd", "scale": "√(2 T)"}
    experiments = front_page_stage.read_experiments(
        [settings], *([files[kind]] for kind in (*tables, "scaling_png", "flow_png"))
    )
    assert experiments[0]["flow_png"] == b"flow_png" and experiments[0]["scaling"].empty
    assert experiments[0]["scaling_exponents"].empty
    front_page_stage.write(experiments, {}, tmp_path / "front_page.html")
    page = (tmp_path / "front_page.html").read_text(encoding="utf-8")
    assert "unfitted: a = no fit (toy model)" in page and "√(2 T)" in page
    assert "<td>sgd</td>" in page
    assert "Not in this report" not in page


def test_a_partial_front_page_names_each_unfinished_experiment_with_its_failed_logs():
    unfinished = {"broken": ["results/logs/spectrum/broken/p.log"], "waiting": []}
    page = front_page([toy_experiment("fine")], unfinished)
    notice = page.split('<div id="unfinished">')[1].split("</div>")[0]
    assert "<strong>broken</strong>: failed jobs' logs: " in notice
    assert "<code>results/logs/spectrum/broken/p.log</code>" in notice
    assert "<strong>waiting</strong>: waiting for a failed job" in notice
    assert "fine" not in notice and "fine: a = " in page


def test_the_report_names_a_model_only_through_the_model():
    sources = [
        *(REPOSITORY / "workflow" / "sgd_dyson" / "report").glob("*.py"),
        REPOSITORY / "workflow" / "sgd_dyson" / "stages" / "front_page.py",
        *(
            REPOSITORY / "workflow" / "report" / f"{table}_table.rst"
            for table in ("fits", "residuals")
        ),
    ]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for name in MODELS:
            assert f'"{name}"' not in text and f"'{name}'" not in text, (path, name)


def tiny_experiments(tiny_run, names: list[str]) -> list[dict]:
    """Experiments of the tiny run as `front_page` takes them (title and scale made up)."""
    root = tiny_run / "results"
    return front_page_stage.read_experiments(
        [
            {"name": name, "title": f"{name} model", "optimizer": "sgd", "scale": "√(α ε²/|B|)"}
            for name in names
        ],
        [root / name / "scaling.parquet" for name in names],
        [root / name / "scaling_fit.parquet" for name in names],
        [root / name / "scaling_exponents.parquet" for name in names],
        [root / name / "plots" / "scaling.png" for name in names],
        [root / name / "plots" / "eigenvalue_flow.png" for name in names],
    )


@pytest.mark.workflow
def test_the_front_page_of_the_tiny_run_shows_each_headline_slope(tiny_run):
    experiments = tiny_experiments(tiny_run, ["online", "rbm"])
    page = front_page(experiments)
    assert page.count("<img ") == 4
    for experiment in experiments:
        row = summary_row(experiment)
        line = headline_line(experiment["scaling_fit"])
        assert row[SLOPE].startswith(with_error(line["slope"], line["slope_err"]))
        assert f"{experiment['name']}: a = {html.escape(row[SLOPE])}" in page
    online = summary_row(experiments[0])
    assert online["continuum theory"] == "1.772" and online["exact theory Σr²/n"] != "–"
    assert online["power-law fit"].startswith("cluster 0, 4 points")  # the 2 × 2 grid
    assert summary_row(experiments[1])[LR_EXPONENT] == "–"  # rbm: one learning rate


# --- The finished report in a browser --------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("SGD_DYSON_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"SGD_DYSON_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)


TITLE_POSITION = (
    "setTimeout(function () { document.body.dataset.titleTop = "
    "document.querySelector('h1.title').getBoundingClientRect().top; }, 2000);"
)


@pytest.mark.workflow
def test_the_report_opens_on_the_answer_for_every_experiment(browser, tiny_run):
    report = tiny_run / "results" / "report.html"
    # A short window: the front page is taller, and its top must stay in view.
    dom, log = rendered_dom(report, TITLE_POSITION, window=(1400, 500))
    assert not console_errors(log), console_errors(log)
    assert '<h1 class="title">Stochastic gradient descent as Dyson Brownian motion</h1>' in dom
    assert float(re.search(r'data-title-top="([-\d.]+)"', dom).group(1)) >= 0
    front = dom[dom.index('<div id="front-page">') :]
    assert "The answer at a glance" in front
    for name in EXPERIMENTS:
        line = headline_line(
            read_table(tiny_run / "results" / name / "scaling_fit.parquet", "scaling_fit")
        )
        slope = "no fit" if line is None else with_error(line["slope"], line["slope_err"])
        assert f'<h3 id="front-{name}">{name}: a = {slope}' in front
        assert f"<span>{name}</span>" in dom  # its section in the menu
    assert front.count('<img alt="') == 2 * len(EXPERIMENTS)  # scaling and flow
    assert "<span>1. Eigenvalue flow</span>" in dom


@pytest.mark.workflow
def test_each_section_lists_every_figure_and_table_with_its_caption(browser, tiny_run):
    report = tiny_run / "results" / "report.html"
    dom, log = rendered_dom(report, "app.showCategory('paper');")
    assert not console_errors(log), console_errors(log)
    entries = set(re.findall(r"<td[^>]*>([^<]+)</td>", dom))
    phase_maps = set(plotting.figures_of(phase_diagram=True)) - set(plotting.figures_of(False))
    wide = set(plotting.figures_of(False, wide_limit=True)) - set(plotting.figures_of(False))
    expected = set(plotting.figures_of(False)) - {"eigenvalue_flow"}
    assert expected | {"table: fits", "table: residuals"} <= entries
    assert not (phase_maps | wide | {"table: wide limit"}) & entries
    dom, log = rendered_dom(report, "app.showCategory('phase');")
    assert phase_maps <= set(re.findall(r"<td[^>]*>([^<]+)</td>", dom))
    result = "results/paper/tables/fits.html"
    dom, log = rendered_dom(
        report,
        f"app.setView({{navbarMode: 'resultinfo', content: 'html', "
        f"contentPath: results['{result}'].data_uri, resultPath: '{result}'}});",
    )
    assert not console_errors(log), console_errors(log)
    assert '<iframe src="data:text/html' in dom
    assert "The fits of" in dom  # the caption


@pytest.mark.workflow
def test_the_tables_of_the_report_render_as_tables(browser, tiny_run):
    page = tiny_run / "results" / "paper" / "tables" / "fits.html"
    dom, _ = rendered_dom(page)
    scaling = read_table(tiny_run / "results" / "paper" / "scaling.parquet", "scaling")
    fits = read_table(tiny_run / "results" / "paper" / "scaling_fit.parquet", "scaling_fit")
    assert dom.count("<table") == 2
    assert dom.count("<tr") == len(fits) + len(scaling) + 2  # and a header row each
    first = scaling.iloc[0]
    assert f"<td>{with_error(first['mean_spacing'], first['mean_spacing_err'])}</td>" in dom


def test_the_fits_table_has_a_layer_column_only_for_several_trained_matrices():
    scaling = pd.DataFrame({column: [np.nan, np.nan] for column in column_names("scaling")})
    scaling = scaling.assign(point="p", layer=[1, 1], cluster=[0, 1], levels=2, status="ok")
    lines = pd.DataFrame(columns=column_names("scaling_fit"))
    assert "layer" not in fits_display(scaling, lines)[1].columns
    points = fits_display(scaling.assign(layer=[0, 2]), lines)[1]
    assert list(points.columns[:3]) == ["point", "layer", "cluster"]
    assert list(points["layer"]) == [0, 2]
