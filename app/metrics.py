"""Prometheus metrics; under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR."""
import os

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY, multiprocess

DECISIONS = Counter("firefly_decisions_total", "Decisions stored, by policy and outcome",
                    ["policy", "outcome"])
DECISION_SECONDS = Histogram("firefly_decision_seconds", "Time to decide and store one decision",
                             ["policy"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
RULE_HITS = Counter("firefly_rule_hits_total", "Rules matched in stored decisions", ["policy", "rule"])
RELOADS = Counter("firefly_policy_reloads_total", "Policy reloads, by result", ["result"])
RELOAD_FAILURES = Counter("firefly_policy_reload_failures_total", "Policy reloads rejected")
REQUESTS = Counter("firefly_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"])

bp = Blueprint("metrics", __name__)


def registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


@bp.get("/metrics")
def metrics():
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


def _count_request(response):
    from flask import request
    route = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    return response


def init_app(app):
    app.register_blueprint(bp)
    app.after_request(_count_request)
