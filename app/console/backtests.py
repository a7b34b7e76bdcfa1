"""Backtest reports in the console: a job's state and its candidate's rule coverage, and the job's
self-contained HTML report (app/reports.py) served in a sandbox, so that its chart script runs
with no access to the console's origin, cookies or forms."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, render_template, url_for

from app.console.access import READ_BACKTESTS, RUN_BACKTESTS, current, principal, signed_in
from app.console.audit import viewed
from app.console.blueprint import bp
from app.extensions import services
from app.services.errors import Conflict, NotFound

# The report page inlines plotly.js and draws its charts from JSON in the page: scripts of the page
# itself, in an opaque origin (`sandbox` without allow-same-origin), and nothing fetched.
REPORT_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
              "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; form-action 'none'; "
              "base-uri 'none'; frame-ancestors 'none'")


@bp.get("/backtests/<backtest_id>")
@signed_in(*READ_BACKTESTS)
def backtest(backtest_id: str) -> str:
    """One backtest job: what it tried, its state, and once done the rules its candidate never fired."""
    try:
        job = services().backtesting.summary(backtest_id)
    except NotFound:
        abort(404)
    viewed("backtest", backtest_id=job["backtest_id"])
    return render_template("console/backtest.html", job=job, may_rerun=current().role in RUN_BACKTESTS)


@bp.post("/backtests/<backtest_id>/rerun")
@signed_in(*RUN_BACKTESTS)
def rerun_backtest(backtest_id: str) -> Response:
    """Run a failed backtest again (its worker died, or it failed): a new job, on its page."""
    try:
        job = services().backtesting.rerun(backtest_id, principal().name)
    except NotFound:
        abort(404)
    except Conflict:
        abort(409)
    return redirect(url_for("console.backtest", backtest_id=job["backtest_id"]), 303)


@bp.get("/backtests/<backtest_id>/report.html")
@signed_in(*READ_BACKTESTS)
def backtest_report(backtest_id: str) -> Any:
    """The finished job's HTML report (charts, swap matrix, coverage, every changed decision)."""
    try:
        page = services().backtesting.job_page(backtest_id)
    except NotFound:
        abort(404)
    except Conflict:   # not done yet: its state says how far it is
        return render_template("console/problem.html", key="backtest.not_done", detail=None), 409
    viewed("backtest_report", backtest_id=backtest_id)
    return Response(page, mimetype="text/html", headers={"Content-Security-Policy": REPORT_CSP})
