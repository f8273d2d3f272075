"""The report: its front page and tables, and the finished report rendered in Chromium.

The rendering tests skip, saying why, where Chromium is not installed;
`.ci/run` installs it and sets SGD_DYSON_REQUIRE_CHROMIUM=1, which turns that
skip into a failure.
"""

import html
import os
import re

import numpy as np
import pandas as pd
import pytest
from browser import console_errors, rendered_dom, unavailable_reason

from sgd_dyson.analysis import ALL_PAIRS
from sgd_dyson.config import FIGURES
from sgd_dyson.report import (
    front_page,
    headline_line,
    summary_row,
    table_page,
    theory_agreement,
    with_error,
)
from sgd_dyson.tables import read_table

EXPERIMENTS = ["dyson", "hidden", "online", "paper", "rbm", "unstable"]


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


def lines(*rows) -> pd.DataFrame:
    columns = ["quantity", "cluster", "slope", "slope_err", "chi2_dof", "n_points"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(experiment="toy", continuum_slope=np.sqrt(np.pi))


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


def test_front_page_and_table_pages_are_complete(tiny_run):
    experiments = []
    for name in ["online", "rbm"]:
        root = tiny_run / "results" / name
        experiments.append(
            {
                "name": name,
                "model": "teacher_student" if name == "online" else "gaussian_rbm",
                "scaling": read_table(root / "scaling.parquet", "scaling"),
                "scaling_fit": read_table(root / "scaling_fit.parquet", "scaling_fit"),
                "scaling_png": (root / "plots" / "scaling.png").read_bytes(),
                "flow_png": (root / "plots" / "eigenvalue_flow.png").read_bytes(),
            }
        )
    page = front_page(experiments)
    assert page.count("<img ") == 4
    for experiment in experiments:
        row = summary_row(
            experiment["name"],
            experiment["model"],
            experiment["scaling"],
            experiment["scaling_fit"],
        )
        line = headline_line(experiment["scaling_fit"])
        assert row["slope a of ⟨S⟩ = a · scale"].startswith(
            with_error(line["slope"], line["slope_err"])
        )
        assert f"{experiment['name']}: a = {html.escape(row['slope a of ⟨S⟩ = a · scale'])}" in page
    online = summary_row(
        "online", "teacher_student", *[experiments[0][k] for k in ("scaling", "scaling_fit")]
    )
    assert online["continuum theory"] == "1.772" and online["exact theory Σr²/n"] != "–"
    empty = table_page("t", {"nothing": pd.DataFrame()}, note="This model has no theory.")
    assert "<p>none</p>" in empty and "no theory" in empty


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
    expected = set(FIGURES) - {"eigenvalue_flow"} | {"table: fits", "table: residuals"}
    assert expected <= entries
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
