"""Releases from the console, maker-checker as the API does it (app/services/releases.py): an
author (or approver) submits the policy folder as a zip file with a reason; another approver
approves or rejects a submitted release with a reason. Activation stays with the API and the CLI."""
from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.console.access import principal, request_id, signed_in
from app.console.blueprint import bp
from app.console.policies import RELEASE_ID, policies_page, release_page
from app.extensions import services
from app.services.errors import NotFound, ServiceError
from app.services.releases import APPROVERS, MAX_RELEASE_BYTES, SUBMITTERS, ReleaseFiles

DECISIONS = ("approve", "reject")


class SubmitForm(FlaskForm):
    folder = FileField(validators=[FileRequired()])   # the policy folder (policies/, rules/) as a zip file
    reason = TextAreaField(validators=[DataRequired(), Length(max=1000)])


class DecideForm(FlaskForm):
    reason = TextAreaField(validators=[DataRequired(), Length(max=1000)])


@bp.post("/releases")
@signed_in(*SUBMITTERS)
def submit_release() -> Any:
    """Submit the uploaded folder as a release: checked and rule-tested now, then on its own page."""
    form = SubmitForm()
    if not form.validate():
        return policies_page(form), 422
    try:
        files = ReleaseFiles.from_zip(form.folder.data.read(MAX_RELEASE_BYTES + 1))
        submitted = services().releases.submit(files, principal(), form.reason.data, request_id())
    except ServiceError as error:
        return policies_page(form, error), 422
    return redirect(url_for("console.release", release_id=submitted["id"]), 303)


@bp.post("/releases/<release_id>/decide")
@signed_in(*APPROVERS)
def decide_release(release_id: str) -> Any:
    """Approve or reject a submitted release (never one's own: the use case refuses it)."""
    if not RELEASE_ID.match(release_id):
        abort(404)
    action = request.form.get("action")
    if action not in DECISIONS:
        abort(400)
    form = DecideForm()
    if not form.validate():
        return release_page(release_id, decide_form=form), 422
    releases = services().releases
    step = releases.approve if action == "approve" else releases.reject
    try:
        step(release_id, principal(), form.reason.data, request_id())
    except NotFound:
        abort(404)
    except ServiceError as error:
        return release_page(release_id, decide_form=form, refused=error), 403 if error.code == "own_release" else 409
    return redirect(url_for("console.release", release_id=release_id, done=action), 303)
