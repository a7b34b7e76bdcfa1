"""`flask models monitor`: population stability of a policy's score and scorecard characteristics
over stored decisions, as JSON and as an HTML page."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from jinja2 import Environment

from app.extensions import services
from app.services.errors import ServiceError

models_cli = click.Group("models", help="Monitor the models beside the rules.")

_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model monitoring: {{ r.policy }}</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th{background:#f4f4f4}
.act{background:#f8d0d0}.watch{background:#fbeec0}.stable{background:#d8f0d8}</style></head><body>
<h1>Model monitoring: {{ r.policy }}</h1>
<p>Period {{ r.period.from }} to {{ r.period.to }} ({{ r.period.decisions }} decisions) against the
baseline {{ r.baseline.from }} to {{ r.baseline.to }} ({{ r.baseline.decisions }} decisions).
Thresholds: {{ r.thresholds.watch }} watch, {{ r.thresholds.act }} act.</p>
<h2>Flags</h2>{% if r.flags %}<ul>{% for f in r.flags %}<li>{{ f }}</li>{% endfor %}</ul>
{% else %}<p>No drift over the thresholds.</p>{% endif %}
<h2 class="{{ r.score.status }}">Score PSI {{ "%.4f"|format(r.score.psi) }} ({{ r.score.status }})</h2>
<table><tr><th>score bin</th><th>baseline share</th><th>share</th></tr>
{% for b in r.score.bins %}<tr><td>{{ b.bin }}</td><td>{{ "%.4f"|format(b.baseline_share) }}</td>
<td>{{ "%.4f"|format(b.share) }}</td></tr>{% endfor %}</table>
<h2>Score bands</h2>
<table><tr><th>band</th><th>decisions</th><th>baseline share</th><th>share</th>
<th>baseline approval rate</th><th>approval rate</th></tr>
{% for b in r.bands %}<tr><td>{{ b.band }}</td><td>{{ b.decisions }}</td>
<td>{{ "%.4f"|format(b.baseline_share) }}</td><td>{{ "%.4f"|format(b.share) }}</td>
<td>{{ b.baseline_approval_rate if b.baseline_approval_rate is not none else "-" }}</td>
<td>{{ b.approval_rate if b.approval_rate is not none else "-" }}</td></tr>{% endfor %}</table>
<h2>Characteristics (CSI)</h2>
{% for c in r.characteristics %}<h3 class="{{ c.status }}">{{ c.stage }} / {{ c.characteristic }}:
{{ "%.4f"|format(c.csi) }} ({{ c.status }})</h3>
<table><tr><th>bin</th><th>baseline share</th><th>share</th></tr>
{% for b in c.bins %}<tr><td>{{ b.bin }}</td><td>{{ "%.4f"|format(b.baseline_share) }}</td>
<td>{{ "%.4f"|format(b.share) }}</td></tr>{% endfor %}</table>{% endfor %}
</body></html>
""")


def render_html(report: dict) -> str:
    return _PAGE.render(r=report)


@models_cli.command("monitor")
@click.option("--policy", "policy_name", required=True, help="e.g. zhishandai.application")
@click.option("--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First decision date of the period (YYYY-MM-DD).")
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last decision date of the period, included.")
@click.option("--baseline-from", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day of the baseline (default: the as long period just before).")
@click.option("--baseline-to", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write the report here (default: print it).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as an HTML page.")
@with_appcontext
def monitor(policy_name: str, first_day: datetime.datetime, last_day: datetime.datetime,
            baseline_from: datetime.datetime | None, baseline_to: datetime.datetime | None,
            json_out: str | None, html_out: str | None) -> None:
    """PSI of the score and CSI of every characteristic against a baseline; band mix, approvals."""
    if (baseline_from is None) != (baseline_to is None):
        raise click.UsageError("give both --baseline-from and --baseline-to, or neither")
    try:
        report = services().monitoring.monitor(
            policy_name, first_day.date(), last_day.date(),
            baseline_from.date() if baseline_from else None,
            baseline_to.date() if baseline_to else None)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if json_out:
        Path(json_out).write_text(text + "\n", encoding="utf-8")
        for flag in report["flags"] or ["no drift over the thresholds"]:
            click.echo(flag)
    else:
        click.echo(text)
    if html_out:
        Path(html_out).write_text(render_html(report), encoding="utf-8")


@models_cli.command("compare")
@click.option("--policy", "policy_name", required=True, help="The champion policy.")
@click.option("--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@with_appcontext
def compare(policy_name: str, first_day: datetime.datetime, last_day: datetime.datetime,
            as_json: bool) -> None:
    """Champion/challenger: outcomes per arm and the swap matrix (champion rows, shadow columns)."""
    try:
        report = services().comparing.compare(policy_name, first_day.date(), last_day.date())
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for arm, counts in report["arms"].items():
        outcomes = ", ".join(f"{o} {n}" for o, n in counts["outcomes"].items())
        click.echo(f"{arm:<11} {counts['decisions']:>7} decisions ({', '.join(counts['policies'])}): {outcomes}")
    matrix = report["swap_matrix"]
    click.echo(f"\nswap matrix over {report['shadow_pairs']} shadowed applications "
               "(rows: champion, columns: challenger)")
    click.echo(f"{'':<10}" + "".join(f"{o:>10}" for o in matrix))
    for champion, row in matrix.items():
        click.echo(f"{champion:<10}" + "".join(f"{n:>10}" for n in row.values()))
    if report["agreement"] is not None:
        click.echo(f"agreement {report['agreement']:.2%}; swap-in {report['swap_in']}, "
                   f"swap-out {report['swap_out']}")
