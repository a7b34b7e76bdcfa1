"""Report files of a simulation or a backtest: report.json for machines, changes.jsonl (one
changed decision a line) and one self-contained HTML page for people.

The page carries its data and plotly.js inline, so it opens offline from a file or a mail; every
chart is a Plotly figure (built with plotly's Python API, drawn by plotly.js), its data kept in a
<script type="application/json" class="chart-data"> beside it, so what a chart shows can be read
back and checked against report.json (its labels HTML-escaped, as plotly.js reads them; no `<` in
it, so no text from a policy or a channel can end or reopen the script element). Labels are Chinese and English. An adapter: it renders and
writes what it is given and decides nothing.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Iterable

OUTCOME_LABELS = {"APPROVE": "批准 APPROVE", "DECLINE": "拒绝 DECLINE", "REFER": "转人工 REFER",
                  # the periodic review's actions (policies/zhishandai/review.yaml)
                  "NONE": "无需处置 NONE", "WATCH": "关注 WATCH", "REDUCE": "降额 REDUCE",
                  "FREEZE": "冻结 FREEZE", "CALL": "约谈催收 CALL"}
OUTCOME_COLOURS = {"APPROVE": "#2e7d32", "DECLINE": "#c62828", "REFER": "#f9a825"}
OTHER_COLOURS = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#4e342e", "#546e7a"]
SIDE_LABELS = {"baseline": "现行版本 Baseline", "candidate": "候选版本 Candidate"}
DIMENSION_LABELS = {"customer_group": "客群 Customer group", "region_tier": "地区层级 Region tier",
                    "channel": "渠道 Channel"}
CHANGED_SHOWN = 500   # changed decisions listed on the page (all are in changes.jsonl)


def write_json(path: Path, report: dict[str, Any]) -> Path:
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return path


def write_html(path: Path, report: dict[str, Any], changed: list[dict[str, Any]]) -> Path:
    path.write_text(render_html(report, changed), encoding="utf-8")
    return path


def render_html(report: dict[str, Any], changed: list[dict[str, Any]]) -> str:
    """The whole page as text."""
    from plotly.offline import get_plotlyjs  # the page's one script library, inlined

    page = _Page(report)
    body = "\n".join([page.header(), page.outcomes(), page.comparison(), page.breakdowns(),
                      page.distributions(), page.reasons(), page.coverage(), page.changes(changed),
                      page.invalid()])
    title = "策略回测报告 Backtest report" if report.get("kind") == "backtest" else "策略模拟报告 Simulation report"
    return (f"<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n<h1>{_e(title)}</h1>\n"
            f"{body}\n<script>{get_plotlyjs()}</script>\n<script>{_DRAW}</script>\n</body></html>\n")


def _script_json(value: Any) -> str:
    """JSON to sit inside a <script> element: with no `<`, `>` or `&` at all, so that no text in
    it (a reason code, a group's name, a value a channel sent) can end the element (`</script`)
    or keep it open past its end tag (`<!--<script>`); JSON.parse reads the same values back."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# A trace's texts that come from a policy or the data (a group's name, a reason code, an outcome):
# plotly.js reads them as its own HTML (<a href>, <span style>, <br>), so they go to it escaped and
# it shows them as written (it turns &lt; &gt; &amp; back into < > &).
_TRACE_TEXTS = ("x", "y", "name", "text")


def _as_text(trace: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return html.escape(value, quote=False)
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value
    return {key: plain(value) if key in _TRACE_TEXTS else value for key, value in trace.items()}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Any]], css: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class=\"{css}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Page:
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.sides = [s for s in ("baseline", "candidate") if report.get(s)]
        self.charts = 0
        # the policy's outcome vocabulary (reports before it listed the default one)
        self.outcome_names = report.get("outcome_names") or list(OUTCOME_LABELS)
        others = iter(OTHER_COLOURS * 4)
        self.labels = {o: OUTCOME_LABELS.get(o, o) for o in self.outcome_names}
        self.colours = {o: OUTCOME_COLOURS.get(o) or next(others) for o in self.outcome_names}

    def chart(self, name: str, figure: Any) -> str:
        """A chart: its div and its figure's JSON (drawn by plotly.js when the page opens)."""
        self.charts += 1
        figure.update_layout(template="simple_white", margin={"l": 60, "r": 20, "t": 50, "b": 60},
                             height=360, font={"family": "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"})
        drawn = figure.to_plotly_json()
        drawn["data"] = [_as_text(trace) for trace in drawn["data"]]
        data = _script_json(drawn)
        return (f"<div class=\"chart\" id=\"chart-{name}\"></div>"
                f"<script type=\"application/json\" class=\"chart-data\" data-chart=\"{name}\" "
                f"data-target=\"chart-{name}\">{data}</script>")

    def header(self) -> str:
        r = self.report
        source = r["source"]
        rows = [["文件 / 来源 Source", source.get("file") or source.get("selection", "")],
                ["读取行数 Rows read", source["rows"]], ["已决策 Decided", source["decided"]],
                ["无效行 Invalid rows", source["invalid"]]]
        for side in self.sides:
            version = r["versions"].get(side)
            if isinstance(version, list):
                shown = "; ".join(f"{v['name']} {v['version']} {v['hash'][:12]}" for v in version)
            else:
                shown = f"{version['name']} {version['version']} {version['hash'][:12]}"
            rows.append([SIDE_LABELS[side], shown])
        if "not_reproduced" in source:
            rows.append(["未能按存储结果重现 Not reproduced as stored", len(source["not_reproduced"])])
        if source.get("altered"):
            rows.append(["未通过完整性校验，未计入 Failing their integrity check, left out", len(source["altered"])])
        return "<section id=\"summary\"><h2>概要 Summary</h2>" + _table(["", ""], rows, "summary") + \
            f"<p class=\"note\">{_e(r['rounding'])}</p></section>"

    def outcomes(self) -> str:
        import plotly.graph_objects as go
        r = self.report
        outcomes = self.outcome_names
        rows = [[self.labels[o]] + sum(([r[s]["outcomes"][o]["count"], r[s]["outcomes"][o]["rate"]]
                                           for s in self.sides), []) for o in outcomes]
        headers = ["结果 Outcome"] + sum(([f"{SIDE_LABELS[s]} 笔数 count", "占比 rate"] for s in self.sides), [])
        figure = go.Figure([go.Bar(name=SIDE_LABELS[s], x=[self.labels[o] for o in outcomes],
                                   y=[r[s]["outcomes"][o]["count"] for o in outcomes]) for s in self.sides])
        figure.update_layout(title="决策结果 Outcomes", barmode="group", yaxis_title="笔数 Decisions")
        return "<section id=\"outcomes\"><h2>决策结果 Outcomes</h2>" + _table(headers, rows, "outcomes") + \
            self.chart("outcomes", figure) + "</section>"

    def comparison(self) -> str:
        import plotly.graph_objects as go
        c = self.report.get("comparison")
        if not c:
            return ""
        outcomes = self.outcome_names
        matrix = c["swap_matrix"]
        rows = [[self.labels[a]] + [matrix[a][b] for b in outcomes] for a in outcomes]
        figure = go.Figure(go.Heatmap(z=[[matrix[a][b] for b in outcomes] for a in outcomes],
                                      x=[self.labels[b] for b in outcomes], y=[self.labels[a] for a in outcomes],
                                      text=[[matrix[a][b] for b in outcomes] for a in outcomes],
                                      texttemplate="%{text}", colorscale="Blues", showscale=False))
        figure.update_layout(title="调整矩阵 Swap matrix (行：现行 rows: baseline；列：候选 columns: candidate)",
                             xaxis_title="候选 Candidate", yaxis_title="现行 Baseline", yaxis_autorange="reversed")
        limits = c["limits"]
        limit_rows = [["额度上调 Limit up", limits["up"]["count"], limits["up"]["total"], limits["up"]["average"]],
                      ["额度下调 Limit down", limits["down"]["count"], limits["down"]["total"], limits["down"]["average"]],
                      ["额度不变 Unchanged", limits["unchanged"], 0, None],
                      ["净变化 Net change", limits["both_approved"], limits["net_change"], limits["average_change"]]]
        totals = c["approved_limit_total"]
        return ("<section id=\"comparison\"><h2>版本对比 Baseline vs candidate</h2>"
                f"<p>对比 Compared: {c['compared']}；变化 Changed: {c['changed']}；"
                f"不变 Unchanged: {c['unchanged']}</p>"
                + _table(["现行 \\ 候选 Baseline \\ Candidate"] + [self.labels[b] for b in outcomes], rows, "swap")
                + self.chart("swap", figure)
                + "<h3>双方均批准的额度变化 Limits where both approve（元 yuan）</h3>"
                + _table(["", "笔数 count", "合计 total", "平均 average"], limit_rows, "limits")
                + _table(["批准额度合计 Approved limits total", "现行 Baseline", "候选 Candidate", "变化 Change"],
                         [["", totals["baseline"], totals["candidate"], totals["change"]]], "limit-totals")
                + "</section>")

    def breakdowns(self) -> str:
        import plotly.graph_objects as go
        parts = ["<section id=\"breakdowns\"><h2>分组 Breakdowns</h2>"]
        for name, label in DIMENSION_LABELS.items():
            values = sorted({v for s in self.sides for v in self.report[s]["by"][name]})
            rated = "APPROVE" in self.outcome_names
            headers = [label] + sum(([f"{SIDE_LABELS[s]} 笔数", *(self.labels[o] for o in self.outcome_names)]
                                     + (["批准率 approve rate"] if rated else []) for s in self.sides), [])
            rows = []
            for value in values:
                row: list[Any] = [value]
                for s in self.sides:
                    cell = self.report[s]["by"][name].get(value)
                    row += ([cell["count"], *(cell[o] for o in self.outcome_names)]
                            + ([cell["approve_rate"]] if rated else [])
                            if cell else [0] * (1 + len(self.outcome_names)) + ([None] if rated else []))
                rows.append(row)
            traces = []
            for s in self.sides:
                for outcome, text in self.labels.items():
                    by = self.report[s]["by"][name]
                    traces.append(go.Bar(name=f"{text} · {SIDE_LABELS[s]}", x=values,
                                         y=[by[v][outcome] if v in by else 0 for v in values],
                                         offsetgroup=s, marker_color=self.colours[outcome],
                                         marker_opacity=1.0 if s == "baseline" else 0.6))
            figure = go.Figure(traces)
            figure.update_layout(title=label, barmode="relative", yaxis_title="笔数 Decisions")
            parts += [f"<h3>{_e(label)}</h3>", _table(headers, rows, f"by-{name}"), self.chart(f"by-{name}", figure)]
        return "\n".join(parts) + "</section>"

    def distributions(self) -> str:
        import plotly.graph_objects as go
        parts = ["<section id=\"distributions\"><h2>额度与评分分布 Limit and score distributions</h2>"]
        for key, label, unit in (("limit", "批准额度 Approved limit", "元 yuan"), ("score", "评分 Score", "分 points")):
            figure = go.Figure([go.Bar(name=SIDE_LABELS[s],
                                       x=[f"{b['from']}–{b['to']}" for b in self.report[s][key]["histogram"]],
                                       y=[b["count"] for b in self.report[s][key]["histogram"]]) for s in self.sides])
            figure.update_layout(title=f"{label}（{unit}）", barmode="group", yaxis_title="笔数 Decisions")
            stats = ["count", "total", "min", "p10", "p25", "median", "p75", "p90", "max", "mean"]
            rows = [[stat] + [self.report[s][key].get(stat) for s in self.sides] for stat in stats]
            parts += [f"<h3>{_e(label)}</h3>", _table([""] + [SIDE_LABELS[s] for s in self.sides], rows, key),
                      self.chart(key, figure)]
        return "\n".join(parts) + "</section>"

    def reasons(self) -> str:
        import plotly.graph_objects as go
        codes: dict[str, dict[str, Any]] = {}
        for s in self.sides:
            for reason in self.report[s]["reasons"]:
                codes.setdefault(reason["code"], {"zh": reason["zh"], "en": reason["en"]})[s] = reason["count"]
        ordered = sorted(codes, key=lambda c: (-max(codes[c].get(s, 0) for s in self.sides), c))
        rows = [[code, codes[code]["zh"], codes[code]["en"]] + [codes[code].get(s, 0) for s in self.sides]
                for code in ordered]
        top = ordered[:20][::-1]
        figure = go.Figure([go.Bar(name=SIDE_LABELS[s], y=top, x=[codes[c].get(s, 0) for c in top], orientation="h")
                            for s in self.sides])
        figure.update_layout(title="原因码（前 20）Reason codes (top 20)", barmode="group",
                             height=max(360, 22 * len(top) * len(self.sides) + 120))
        return ("<section id=\"reasons\"><h2>原因码 Reason codes</h2>"
                + _table(["代码 Code", "中文", "English"] + [SIDE_LABELS[s] for s in self.sides], rows, "reasons")
                + self.chart("reasons", figure) + "</section>")

    def coverage(self) -> str:
        parts = ["<section id=\"coverage\"><h2>规则覆盖 Rule coverage</h2>"]
        for s in self.sides:
            cov = self.report[s]["coverage"]
            parts.append(f"<h3>{_e(SIDE_LABELS[s])}: {cov['fired']} / {cov['total']} 触发 fired</h3>")
            parts.append("<p>从未触发 Never fired: " + (_e(", ".join(cov["never_fired"])) or "—") + "</p>")
            parts.append(_table(["编号 Id", "类别 Kind", "阶段 Stage", "名称 Name", "命中 Hits"],
                                [[i["id"], i["kind"], i["stage"], " ".join(x for x in (i["zh"], i["en"]) if x),
                                  i["hits"]] for i in cov["items"]], f"coverage-{s}"))
        return "\n".join(parts) + "</section>"

    def changes(self, changed: list[dict[str, Any]]) -> str:
        if not self.report.get("comparison"):
            return ""
        rows = []
        for change in changed[:CHANGED_SHOWN]:
            b, c = change["baseline"], change["candidate"]
            rows.append([change["row"], b["outcome"], b["limit"], " ".join(r["code"] for r in b["reasons"]),
                         c["outcome"], c["limit"], " ".join(r["code"] for r in c["reasons"]),
                         ", ".join(f"{f['id']} {_flag(f['baseline'])}→{_flag(f['candidate'])}"
                                   for f in change["rules_changed"])])
        more = (f"<p>仅列出前 {CHANGED_SHOWN} 笔；全部见 changes.jsonl. The first {CHANGED_SHOWN} of "
                f"{len(changed)} are listed; all are in changes.jsonl.</p>" if len(changed) > CHANGED_SHOWN else "")
        return ("<section id=\"changes\"><h2>变化的决策 Changed decisions</h2>" + more
                + _table(["行 Row", "现行结果 Baseline", "额度 Limit", "原因 Reasons", "候选结果 Candidate",
                          "额度 Limit", "原因 Reasons", "命中变化的规则 Rules whose match changed"], rows, "changes")
                + "</section>")

    def invalid(self) -> str:
        rows = [[i["row"], i["version"], "; ".join(f"{path}: {' '.join(messages)}"
                                                 for path, messages in i["errors"].items())]
                for i in self.report["invalid_rows"]]
        return ("<section id=\"invalid\"><h2>无效行 Invalid rows</h2>"
                + (_table(["行 Row", "版本 Version", "原因 Reason"], rows, "invalid") if rows else "<p>无 None</p>")
                + "</section>")


def _flag(value: Any) -> str:
    return {True: "命中 hit", False: "未命中 miss", None: "无 absent"}[value]


_STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}thead{background:#f3f3f3}.chart{width:100%;min-height:360px}
.note{color:#666;font-size:.85em}table.changes td,table.invalid td,table.coverage-baseline td{text-align:left}
"""

_DRAW = """
document.querySelectorAll('script.chart-data').forEach(function (s) {
  var f = JSON.parse(s.textContent);
  Plotly.newPlot(s.dataset.target, f.data, f.layout, {responsive: true, displaylogo: false});
});
"""
