"""The HTML report page (app/reports.py): self-contained, charts present, and what the charts and
tables show equal to report.json."""
import html
import json
from html.parser import HTMLParser

import pytest

from app.services.simulation import Simulating, SimulationRequest
from support.settings import POLICY_ROOT
from support.simulation import CANDIDATE_EDITS, POLICY, candidate_folder, example_rows, rename_in_report, write_jsonl


class Page(HTMLParser):
    """Collects the chart data scripts, the external resources and the tables' cells."""

    def __init__(self):
        super().__init__()
        self.charts, self.external, self.tables = {}, [], {}
        self._chart = self._table = None
        self._cell, self._text = None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("class") == "chart-data":
            self._chart, self._text = attrs["data-chart"], []
        if tag in ("script", "link", "img") and (attrs.get("src") or attrs.get("href")):
            self.external.append(attrs.get("src") or attrs.get("href"))
        if tag == "table":
            self._table = attrs.get("class", "")
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        if tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "script" and self._chart:
            self.charts[self._chart] = json.loads("".join(self._text))
            self._chart = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._chart:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def written(tmp_path):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    path = write_jsonl(tmp_path / "a.jsonl", example_rows())
    Simulating(POLICY_ROOT, None).simulate(
        SimulationRequest(POLICY, path, candidate=str(candidate), out=tmp_path / "out"))
    return tmp_path / "out"


def test_the_run_writes_the_report_the_changes_and_the_page(written):
    assert sorted(p.name for p in written.iterdir()) == ["changes.jsonl", "report.html", "report.json"]
    changes = [json.loads(line) for line in (written / "changes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [c["row"] for c in changes] == [2, 4]


def test_the_page_is_self_contained_and_its_charts_show_report_json(written):
    report = json.loads((written / "report.json").read_text(encoding="utf-8"))
    text = (written / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    assert page.external == []  # plotly.js and the data are inline: the page opens offline
    assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js itself is in the page
    assert {"outcomes", "swap", "by-customer_group", "by-region_tier", "by-channel", "limit", "score",
            "reasons"} <= set(page.charts)
    outcomes = page.charts["outcomes"]["data"]
    assert [trace["y"] for trace in outcomes] == [
        [report[side]["outcomes"][o]["count"] for o in ("APPROVE", "DECLINE", "REFER")]
        for side in ("baseline", "candidate")]
    assert outcomes[0]["x"] == ["批准 APPROVE", "拒绝 DECLINE", "转人工 REFER"]
    matrix = report["comparison"]["swap_matrix"]
    assert page.charts["swap"]["data"][0]["z"] == [[matrix[a][b] for b in matrix[a]] for a in matrix]
    limit_bars = page.charts["limit"]["data"][0]["y"]
    assert limit_bars == [bar["count"] for bar in report["baseline"]["limit"]["histogram"]]


def test_the_pages_tables_hold_report_jsons_numbers(written):
    report = json.loads((written / "report.json").read_text(encoding="utf-8"))
    page = Page()
    page.feed((written / "report.html").read_text(encoding="utf-8"))
    outcomes = {row[0]: row[1:] for row in page.tables["outcomes"][1:]}
    assert outcomes["批准 APPROVE"] == [str(report["baseline"]["outcomes"]["APPROVE"]["count"]),
                                      report["baseline"]["outcomes"]["APPROVE"]["rate"],
                                      str(report["candidate"]["outcomes"]["APPROVE"]["count"]),
                                      report["candidate"]["outcomes"]["APPROVE"]["rate"]]
    limits = {row[0]: row[1:] for row in page.tables["limits"][1:]}
    down = report["comparison"]["limits"]["down"]
    assert limits["额度下调 Limit down"] == [str(down["count"]), str(down["total"]), down["average"]]
    changes = page.tables["changes"][1:]
    assert [row[0] for row in changes] == ["2", "4"]
    assert "EL-17" in changes[0][-1]


# What a policy author (reason codes, outcome names, customer groups) or a channel (a value it sends
# that the page groups by) may write, and the page shows in its charts' data.
HOSTILE = ("<!--<script>", "</script><img src=x onerror=alert(1)>", "</SCRIPT ><script>alert(2)</script>")


def test_text_in_the_charts_data_cannot_end_or_swallow_its_script_element(written):
    """A chart's JSON sits in a <script> element: `</script` would end it early (and what follows
    would run), `<!--<script>` would keep it open past its own end tag, swallowing the charts and
    tables after it. No `<` at all in the data: the JSON escapes it, and reads back the same."""
    from app import reports
    report = json.loads((written / "report.json").read_text(encoding="utf-8"))
    rename_in_report(report, HOSTILE)
    text = reports.render_html(report, [])
    page = Page()
    page.feed(text)
    charts = text.split('<script type="application/json" class="chart-data"')[1:]
    assert len(charts) == len(page.charts) >= 8
    for chart in charts:
        data = chart.split(">", 1)[1].split("</script>", 1)[0]
        assert "<" not in data, data[:200]
    # plotly.js reads a label as its own HTML: the labels go to it escaped, and it shows them as written
    shown = {html.unescape(label) for label in page.charts["by-customer_group"]["data"][0]["x"]}
    assert set(HOSTILE) <= shown and "<" not in "".join(page.charts["by-customer_group"]["data"][0]["x"])
    assert set(HOSTILE) <= {html.unescape(label) for label in page.charts["reasons"]["data"][0]["y"]}
