"""Who is looking at the console: the session (a server-side token in the signed session cookie),
the roles a page needs, and the language of the pages."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort, g, redirect, request, session, url_for

from app.extensions import services
from app.services.access import Principal
from app.services.accounts import Person
from app.services.reviews import UNDERWRITERS

# Who may open what. Reading decisions is compliance's work and the underwriter's (who reads the
# REFERs); replay is compliance's; closing a REFER is the underwriter's; every console role reads
# the policies.
READ_DECISIONS = ("compliance", "underwriter")
REPLAY = ("compliance",)
UNDERWRITE = UNDERWRITERS       # the use case's own list of who closes a REFER
READ_POLICIES = ("compliance", "underwriter", "author", "approver", "admin")
# A backtest's report: the API's roles (author, compliance) and the approver, who reads what a
# release was tried on before approving it.
READ_BACKTESTS = ("author", "approver", "compliance")
RUN_BACKTESTS = ("author", "compliance")   # as POST /v1/backtests


def language() -> str:
    return "en" if session.get("lang") == "en" else "zh"


def current() -> Person | None:
    """The person signed in on this request (the session ends when idle too long), or None."""
    if "person" not in g:
        token = session.get("token")
        g.person = services().accounts.person(token) if token else None
        if token and g.person is None:
            session.pop("token", None)
            g.session_ended = True
    return g.person


def principal() -> Principal:
    """The signed-in person as the use cases (and the access audit) name a caller."""
    person = current()
    return Principal(person.username, person.role)


def request_id() -> str | None:
    """The request id the app gave this request (X-Request-Id), for the access audit."""
    return getattr(request, "firefly_request_id", None)


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a page: without a live session, to the sign-in page; a role not in `roles`, 403."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            person = current()
            if person is None:
                ended = "ended" if g.get("session_ended") else None
                return redirect(url_for("console.sign_in", ended=ended, next=_local(request.full_path)))
            if person.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        wrapped.console_roles = roles  # type: ignore[attr-defined]
        return wrapped
    return decorator


def _local(path: str) -> str | None:
    """A path on this console to return to after signing in (never another site)."""
    path = path.rstrip("?")
    return path if path.startswith("/console/") and not path.startswith("//") else None
