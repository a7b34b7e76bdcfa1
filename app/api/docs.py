"""The API described: /openapi.json (OpenAPI 3, generated) and /docs (the same, readable)."""
from __future__ import annotations

import json
import weakref
from typing import Any

from flask import Blueprint, Response, jsonify, render_template_string

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
def docs() -> str:
    """The API as a readable page, rendered from the OpenAPI document."""
    return render_template_string(PAGE, spec=current_spec(),
                                  dumps=lambda v: json.dumps(v, ensure_ascii=False, indent=2))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ spec.info.title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.3rem}.m{display:inline-block;min-width:4rem;font-weight:bold}
.post{color:#0a6}.get{color:#06c}code{background:#f4f4f4;padding:0 .2rem}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;max-height:24rem;font-size:.8rem}
details{margin:.3rem 0 1rem 1rem}</style></head><body>
<h1>{{ spec.info.title }} <small>{{ spec.info.version }}</small></h1>
<p>{{ spec.info.description }} The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</p>
{% for path, ops in spec.paths.items() %}{% for method, op in ops.items() %}
<h2 id="{{ method }}-{{ path }}"><span class="m {{ method }}">{{ method|upper }}</span> <code>{{ path }}</code></h2>
<p>{{ op.summary }}. {{ op.description }}</p>
{% if op.parameters %}<details><summary>Parameters</summary><pre>{{ dumps(op.parameters) }}</pre></details>{% endif %}
{% if op.requestBody %}<details><summary>Request body</summary><pre>{{ dumps(op.requestBody) }}</pre></details>{% endif %}
<details><summary>Responses: {{ op.responses|join(", ") }}</summary><pre>{{ dumps(op.responses) }}</pre></details>
{% endfor %}{% endfor %}
<h2>Schemas</h2>
{% for name, schema in spec.components.schemas.items() %}
<details><summary><code>{{ name }}</code></summary><pre>{{ dumps(schema) }}</pre></details>{% endfor %}
</body></html>"""
