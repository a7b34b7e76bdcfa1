"""A simulation's HTML report (app/reports.py) opened from a file in headless chromium, as it is
read offline from a mail or a share: no console CSP or sandbox around it, so what the page shows
from a policy author or a channel must stay text."""
from __future__ import annotations

import json

from selenium.webdriver.common.by import By

from app import reports
from app.services.simulation import Simulating, SimulationRequest
from support.settings import POLICY_ROOT
from support.simulation import (CANDIDATE_EDITS, POLICY, candidate_folder, example_rows, rename_in_report,
                                write_jsonl)
from tests.browser.test_console import shot, wait

# Names a policy author gives (reason codes, customer groups) that the page shows in its charts.
HOSTILE = ("<!--<script>", "</script><img id=injected src=x onerror=\"document.title='owned'\">",
           "<a id=lure href=\"https://attacker.example/\">open</a>")


def hostile_report(tmp_path):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    path = write_jsonl(tmp_path / "a.jsonl", example_rows())
    Simulating(POLICY_ROOT, None).simulate(
        SimulationRequest(POLICY, path, candidate=str(candidate), out=tmp_path / "out"))
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    rename_in_report(report, HOSTILE)
    return reports.write_html(tmp_path / "hostile.html", report, [])


def test_a_report_with_hostile_names_draws_every_chart_and_shows_the_names_as_text(browser, tmp_path):
    page = hostile_report(tmp_path)
    browser.get_log("browser")                              # (earlier tests' pages: drained)
    browser.get(page.as_uri())
    charts = page.read_text(encoding="utf-8").count('<div class="chart"')
    # the page draws its charts as it loads (Plotly.newPlot in its last script)
    wait(browser).until(lambda b: b.execute_script("return document.readyState") == "complete")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chart")) == charts      # none swallowed
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chart .main-svg")) >= charts
    assert browser.find_elements(By.ID, "invalid")                              # the last section is there
    assert not browser.find_elements(By.ID, "injected") and browser.title != "owned"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    group_chart = browser.find_element(By.ID, "chart-by-customer_group")
    assert "<!--<script>" in group_chart.text
    # a chart label is plotly's pseudo-HTML: a link there would be a link to anywhere
    assert not browser.find_elements(By.CSS_SELECTOR, ".chart a")
    browser.execute_script("document.getElementById('chart-by-customer_group').scrollIntoView()")
    shot(browser, "report-hostile-names.png", full=False)
