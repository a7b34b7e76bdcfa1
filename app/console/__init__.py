"""The compliance console: server-rendered pages under /console over the same use cases as the API.

Sign-in with a personal account (or an API key of a console role), sessions held server-side with
an idle timeout, CSRF on every form (Flask-WTF), pages in Chinese with an English switch, and no
JavaScript needed: every page reads and works without it."""
from __future__ import annotations

import json

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from app.console import access, backtests, decisions, policies, releases, signin  # noqa: F401 - the pages register on bp
from app.console.blueprint import bp
from app.console.explain import money
from app.console.texts import text
from app.services.errors import Unavailable
from app.services.releases import MAX_RELEASE_BYTES

csrf = CSRFProtect()

# Pages and forms of this origin only; no script at all.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    # The API authenticates every call by its key and takes no cookies: CSRF is checked on the
    # console's forms only (bp.before_request below), not app-wide.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's idle timeout bounds it
    app.config.update(SESSION_COOKIE_NAME="firefly_console", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/console")
    csrf.init_app(app)
    app.register_blueprint(bp)


# A form that may be larger than the app's body limit: CSRF protection reads the form before the
# view runs, so the view cannot raise the limit itself.
BODY_LIMITS = {"console.submit_release": MAX_RELEASE_BYTES}   # a policy folder as a zip


@bp.before_request
def check_csrf() -> None:
    if request.method == "POST":
        if request.endpoint in BODY_LIMITS:
            request.max_content_length = BODY_LIMITS[request.endpoint]
        csrf.protect()


@bp.after_request
def headers(response: Response) -> Response:
    if "Content-Security-Policy" not in response.headers:  # a backtest report sets its own sandbox
        response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors 'none' for browsers without CSP 2
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def page_helpers() -> dict:
    lang = access.language()

    def pick(texts: dict | None, fallback: str = "") -> str:
        """The text of a {zh, en} pair in the page's language."""
        if not texts:
            return fallback
        return texts.get(lang) or texts.get("zh") or texts.get("en") or fallback

    return {"t": lambda key: text(key, lang), "lang": lang, "person": access.current(), "pick": pick,
            "money": money, "as_json": lambda value: json.dumps(value, ensure_ascii=False)}


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError) -> tuple[str, int]:
    return render_template("console/problem.html", key="csrf", detail=error.description), 400


def _problem(key: str, status: int):
    def handler(_error: Exception) -> tuple[str, int]:
        return render_template("console/problem.html", key=key, detail=None), status
    return handler


for _status, _key in ((400, "bad_request"), (403, "forbidden"), (404, "not_found"), (409, "conflict")):
    bp.register_error_handler(_status, _problem(_key, _status))
# A read whose access cannot be recorded is not shown (the access audit raises Unavailable).
bp.register_error_handler(Unavailable, _problem("unavailable", 503))
