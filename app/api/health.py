"""Probes and metrics: /healthz, /readyz, /metrics (no key needed)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from app import metrics
from app.extensions import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to decide (database reachable, policies loaded): 200, "degraded" naming what is down
    when an optional dependency (Redis) is; else 503."""
    readiness = services().readiness()
    return (jsonify(status=readiness.status, checks=readiness.checks, degraded=readiness.degraded),
            200 if readiness.ready else 503)


@bp.get("/metrics")
def prometheus() -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)
