"""The JSON HTTP interface: thin views over the use cases, the error envelope, API-key auth."""
from __future__ import annotations

from flask import Flask

from app.api import (audit, backtests, comparisons, compliance, decisions, docs, errors, floor, health, lines, lists,
                     policies, releases, requests, reviews)


def init_app(app: Flask) -> None:
    requests.init_app(app)
    errors.init_app(app)
    for blueprint in (health.bp, decisions.bp, compliance.bp, policies.bp, docs.bp, audit.bp, releases.bp, reviews.bp,
                      comparisons.bp, backtests.bp, lists.bp, lines.bp):
        app.register_blueprint(blueprint)
    if app.config["FIREFLY_FLOOR_ENDPOINT"]:
        app.register_blueprint(floor.bp)
