"""The API described: /openapi.json (OpenAPI 3, generated) and /docs (an interactive explorer of it)."""
from __future__ import annotations

import weakref
from typing import Any

from flask import Blueprint, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from app.api.openapi import build_spec
from app.extensions import services
from app.services.registry import PolicySet

bp = Blueprint("docs", __name__)
# The document of each policy set still served somewhere (built once per set, gone with the set).
_specs: weakref.WeakKeyDictionary[PolicySet, dict[str, Any]] = weakref.WeakKeyDictionary()


def current_spec() -> dict[str, Any]:
    """The document for the served policy set (rebuilt only after a reload)."""
    policy_set = services().registry.current()
    spec = _specs.get(policy_set)
    if spec is None:
        spec = _specs[policy_set] = build_spec(policy_set)
    return spec


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of this API."""
    return jsonify(current_spec())


@bp.get("/docs")
def docs() -> Response:
    """The API explorer: Swagger UI over /openapi.json, with the X-API-Key header settable from the
    page ("Authorize"), so that a caller can try every operation with their own key."""
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response


@bp.get("/docs/explorer.js")
def explorer_js() -> Response:
    # A file rather than an inline script, so the page's CSP can forbid inline scripts.
    response = Response(EXPLORER_JS, mimetype="text/javascript")
    response.headers["Content-Security-Policy"] = CSP
    return response


@bp.get("/docs/assets/<any(\"swagger-ui.css\", \"swagger-ui-bundle.js\", \"favicon-32x32.png\"):name>")
def assets(name: str) -> Response:
    """Swagger UI from the pinned swagger-ui-bundle distribution on disk; nothing is fetched from
    the internet, at run time or install time."""
    return send_from_directory(swagger_ui_path, name, max_age=3600)


# Swagger UI renders with inline styles and data: images; scripts only from this origin.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Firefly credit decisions: API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head><body>
<noscript><p>The API explorer needs JavaScript. The API is described in
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3).</p></noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/explorer.js"></script>
</body></html>"""

EXPLORER_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // the key is kept for this tab only, never in local storage
  persistAuthorization: false,
  displayRequestDuration: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""
