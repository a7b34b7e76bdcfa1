from flask import current_app, jsonify
from sqlalchemy import text

from app.api.health import bp
from app.storage.db import get_db


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to decide: database reachable, Redis reachable if configured, policies loaded."""
    checks = {"database": _check(lambda: get_db().execute(text("SELECT 1")).scalar_one())}
    store = current_app.extensions.get("firefly_redis")
    if store is not None:
        checks["redis"] = _check(store.ping)
    registry = current_app.extensions["firefly_policies"]
    checks["policies"] = "ok" if registry.current().policies else "none loaded"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _check(probe):
    try:
        probe()
        return "ok"
    except Exception as error:  # a readiness probe reports, it does not fail
        return f"unavailable: {type(error).__name__}"
