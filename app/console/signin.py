"""Signing in (a personal account, or an API key of a console role exchanged for a session),
signing out, and the language switch."""
from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.console.access import READ_DECISIONS, _local, current
from app.console.blueprint import bp
from app.extensions import services
from app.services.errors import TooManyAttempts


class SignInForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=100)])
    password = PasswordField(validators=[DataRequired(), Length(max=1000)])


class KeyForm(FlaskForm):
    api_key = PasswordField(validators=[DataRequired(), Length(max=1000)])


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response:
    """The sign-in page; a right username and password open a session."""
    form, key_form = SignInForm(prefix="account"), KeyForm(prefix="key")
    problem = "session_ended" if request.args.get("ended") else None
    if request.method == "POST" and "key-api_key" in request.form:
        if key_form.validate_on_submit():
            try:
                token, who = services().accounts.sign_in_with_key(key_form.api_key.data, request.remote_addr)
            except TooManyAttempts as error:   # this address sent too many wrong keys lately
                page = render_template("console/sign_in.html", form=form, key_form=key_form,
                                       problem="sign_in.key_held_back", next=_local(request.args.get("next", "")))
                return page, 429, {"Retry-After": str(error.retry_after)}
            if token:
                return _start(token)
            problem = "sign_in.channel_key" if who is not None else "sign_in.key_failed"
        else:
            problem = "sign_in.key_failed"
    elif form.validate_on_submit():
        try:
            token = services().accounts.sign_in(form.username.data, form.password.data, request.remote_addr)
        except TooManyAttempts as error:   # this username, or this address, had too many wrong passwords
            problem = ("sign_in.address_held_back" if error.code == "too_many_attempts_from_address"
                       else "sign_in.held_back")
            page = render_template("console/sign_in.html", form=form, key_form=key_form,
                                   problem=problem, next=_local(request.args.get("next", "")))
            return page, 429, {"Retry-After": str(error.retry_after)}
        if token:
            return _start(token)
        problem = "sign_in.failed"
    elif request.method == "POST":
        problem = "sign_in.failed"
    status = 401 if request.method == "POST" else 200
    return render_template("console/sign_in.html", form=form, key_form=key_form, problem=problem,
                           next=_local(request.args.get("next", ""))), status


def _start(token: str) -> Response:
    """A new session: the old cookie's contents go (no session fixation), the language stays."""
    lang = session.get("lang")
    session.clear()
    session["token"] = token
    if lang:
        session["lang"] = lang
    return redirect(_local(request.args.get("next", "")) or url_for("console.home"), 303)


@bp.post("/sign-out")
def sign_out() -> Response:
    token = session.pop("token", None)
    if token:
        services().accounts.sign_out(token)
    session.clear()
    return redirect(url_for("console.sign_in", out=1), 303)


@bp.post("/language")
def switch_language() -> Response:
    """Switch between Chinese and English, back to the page it was asked from."""
    session["lang"] = "en" if request.form.get("lang") == "en" else "zh"
    return redirect(_local(request.form.get("back", "")) or url_for("console.home"), 303)


@bp.get("/")
def home() -> Response:
    """The first page of the person's role: the decisions, or for policy staff the policies."""
    person = current()
    if person is None:
        return redirect(url_for("console.sign_in"))
    return redirect(url_for("console.decisions" if person.role in READ_DECISIONS else "console.policies"))
