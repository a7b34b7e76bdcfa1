"""Decision pages: the search, one decision explained (and its printable view), replay."""
from __future__ import annotations

import datetime
import re
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import AnyOf, Length, Optional, Regexp

from app.console import pdf
from app.console.access import READ_DECISIONS, REPLAY, UNDERWRITE, current, principal, request_id, signed_in
from app.console.blueprint import bp
from app.console.explain import explain
from app.console.underwriting import ReviewForm, close, closing_review, may_close
from app.extensions import services
from app.services.clock import CHINA
from app.services.errors import NotFound, ServiceError
from app.services.records import Search
from app.services.replay import Target

PAGE_SIZE = 25
OUTCOMES = ("APPROVE", "DECLINE", "REFER")
HASH = re.compile(r"^[0-9a-f]{64}$")
CODE = [Optional(), Length(max=100), Regexp(r"^[A-Za-z0-9_.\-]+$", message="letters, digits, _ . - only")]


class SearchForm(FlaskForm):
    """The filters of the API's search; dates are days in China (decision dates), both included."""

    date_from = DateField(validators=[Optional()])
    date_to = DateField(validators=[Optional()])
    outcome = StringField(validators=[Optional(), AnyOf(OUTCOMES)])
    group = StringField(validators=CODE)
    reason = StringField(validators=CODE)
    rule = StringField(validators=CODE)
    channel = StringField(validators=[Optional(), Length(max=100)])
    policy = StringField(validators=CODE)
    version = StringField(validators=[Optional(), Length(max=100)])
    waiting = BooleanField()   # the underwriting queue: REFERs no review has closed yet
    # personal data: only ever posted, hashed at once, never put in an address
    id_number = StringField(validators=[Optional(), Length(max=40)])
    phone = StringField(validators=[Optional(), Length(max=40)])


FILTERS = ("date_from", "date_to", "outcome", "group", "reason", "rule", "channel", "policy", "version", "waiting")


@bp.get("/decisions")
@signed_in(*READ_DECISIONS)
def decisions() -> Any:
    """Decisions matching the filters of the address, newest first, a page at a time, with counts."""
    form = SearchForm(request.args, meta={"csrf": False})
    hashes = {name: tuple(request.args.getlist(name)) or None for name in ("id_hash", "phone_hash")}
    bad_hash = [name for name, values in hashes.items() if values and not all(HASH.match(v) for v in values)]
    cursor = request.args.get("cursor")
    if not form.validate() or bad_hash or (cursor and not HASH.match(cursor.rjust(64, "0"))):
        return render_template("console/decisions.html", form=form, page=None, counts=None,
                               hashes=hashes, bad=bad_hash), 400
    search = _search(form, hashes, cursor)
    page = services().records.search(search, principal(), request_id())   # recorded in the access audit
    counts = services().records.counts(search)
    args = {k: request.args.getlist(k) for k in request.args if k != "cursor" and request.args.get(k)}
    return render_template("console/decisions.html", form=form, page=page, counts=counts, hashes=hashes,
                           bad=[], args=args, first_page=cursor is None)


@bp.post("/decisions")
@signed_in(*READ_DECISIONS)
def search_decisions() -> Response | tuple[str, int]:
    """The posted search: an ID number or phone is hashed here, and only its hash goes on."""
    form = SearchForm()
    if not form.validate():
        return render_template("console/decisions.html", form=form, page=None, counts=None, hashes={},
                               bad=[]), 400
    args = {name: "y" if name == "waiting" else str(getattr(form, name).data)
            for name in FILTERS if getattr(form, name).data}
    records = services().records
    if form.id_number.data:
        args["id_hash"] = list(records.search_hash(form.id_number.data))
    if form.phone.data:
        args["phone_hash"] = list(records.search_hash(form.phone.data))
    return redirect(url_for("console.decisions", **args), 303)


def _search(form: SearchForm, hashes: dict[str, tuple[str, ...] | None], cursor: str | None) -> Search:
    def day_start(day: datetime.date | None, plus: int = 0) -> datetime.datetime | None:
        if day is None:
            return None
        return datetime.datetime.combine(day + datetime.timedelta(days=plus), datetime.time(), CHINA)

    return Search(policy=form.policy.data or None, version=form.version.data or None,
                  outcome=form.outcome.data or None, group=form.group.data or None,
                  channel=form.channel.data or None, reason=form.reason.data or None,
                  rule=form.rule.data or None, created_from=day_start(form.date_from.data),
                  created_to=day_start(form.date_to.data, plus=1), cursor=cursor or None,
                  limit=PAGE_SIZE, id_number_hash=hashes["id_hash"] or None,
                  phone_hash=hashes["phone_hash"] or None, awaiting_review=bool(form.waiting.data))


def _explained(decision_id: str, exported_as: str | None = None):
    try:  # the read recorded (an export as such: the print view, the PDF)
        decision = services().records.get(decision_id, principal(), request_id(), exported_as)
    except NotFound:
        abort(404)
    return explain(decision, services().versions.written(decision["policy"]["hash"]))


@bp.get("/decisions/<decision_id>")
@signed_in(*READ_DECISIONS)
def decision(decision_id: str) -> str:
    """One decision explained: headline, reasons, requirements, stages, scorecard, limit; for an
    underwriter and a REFER still waiting, the form that closes it."""
    return _decision_page(_explained(decision_id), ReviewForm(), closed=request.args.get("closed") == "1")


def _decision_page(explained, review_form: ReviewForm, refused=None, closed: bool = False) -> str:
    decision_ = explained.decision
    return render_template("console/decision.html", e=explained, versions=_versions(explained),
                           may_replay=current().role in REPLAY, closing=closing_review(decision_),
                           review_form=review_form if may_close(current(), decision_) else None,
                           refused=refused, closed=closed)


@bp.post("/decisions/<decision_id>/review")
@signed_in(*UNDERWRITE)
def review(decision_id: str) -> Response | tuple[str, int]:
    """Close a REFER with the underwriter's outcome, limit, reasons and comment."""
    form = ReviewForm()
    try:
        refused = close(decision_id, form)
    except NotFound:
        abort(404)
    if refused is None:
        return redirect(url_for("console.decision", decision_id=decision_id, closed=1), 303)
    # the page again, with what was entered and why it was not stored
    page = _decision_page(_explained(decision_id), form, refused)
    return page, 422 if refused.code == "invalid_review" else 409


@bp.get("/decisions/<decision_id>/print")
@signed_in(*READ_DECISIONS)
def decision_print(decision_id: str) -> str:
    """The same explanation laid out for paper (the browser's print prints it)."""
    explained = _explained(decision_id, "print")
    return render_template("console/decision_print.html", e=explained,
                           printed_at=datetime.datetime.now(datetime.timezone.utc))


@bp.get("/decisions/<decision_id>/pdf")
@signed_in(*READ_DECISIONS)
def decision_pdf(decision_id: str) -> Response | tuple[str, int]:
    """The printable view as a PDF file (WeasyPrint)."""
    explained = _explained(decision_id, "pdf")
    html = render_template("console/decision_print.html", e=explained, pdf=True,
                           printed_at=datetime.datetime.now(datetime.timezone.utc))
    try:
        document = pdf.render(html)
    except pdf.PdfUnavailable as error:
        return render_template("console/problem.html", key="pdf.unavailable", detail=str(error)), 503
    return Response(document, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="decision-{explained.decision["decision_id"]}.pdf"'})


@bp.post("/decisions/<decision_id>/replay")
@signed_in(*REPLAY)
def replay(decision_id: str) -> tuple[str, int] | str:
    """Replay on the stored version (the result must be identical) or on another stored version."""
    target_hash = request.form.get("hash") or None
    if target_hash is not None and not HASH.match(target_hash):
        abort(400)
    try:
        result = services().replaying.replay(decision_id, Target(hash=target_hash), principal(), request_id())
    except ServiceError as error:
        return render_template("console/replay.html", decision_id=decision_id, result=None, error=error), \
            404 if error.code == "unknown_decision" else 409
    return render_template("console/replay.html", decision_id=decision_id, result=result, error=None)


def _versions(explained) -> list:
    """The stored versions of the decision's policy, to replay on."""
    name = explained.decision["policy"]["name"]
    return [v for v in services().versions.listed() if v.name == name]
