"""The OpenAPI document publishes each input field's pattern as the policy declares it, in the
syntax JSON Schema uses (ECMA-262).

Before, it published the Python expression the service matches with, `(?:^1[0-9]{10}$)\\Z`:
ECMA-262 has no \\Z. With the `u` flag JSON Schema validators use (ajv) the pattern is a syntax
error, and without it \\Z is the letter Z, so a channel that validated its requests against the
document had every mobile number, bank card and region code refused before sending it."""
import json
import shutil
import subprocess

import pytest

from app.extensions import services
from support.http import POLICY


def published_patterns(client) -> dict[str, str]:
    """{field path: published pattern} of the reference policy's input."""
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]
    found: dict[str, str] = {}

    def walk(node, path):
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            walk(schema[node["$ref"].rsplit("/", 1)[1]], path)
        if "pattern" in node:
            found[path] = node["pattern"]
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}" if path else name)
        if "items" in node:
            walk(node["items"], path)

    walk(schema[f"{POLICY}.input"], "")
    return found


def test_each_pattern_is_published_as_declared(app, client):
    declared = {path: spec.pattern for path, spec in services(app).registry.current().policies[POLICY]
                .input_schema.fields.items() if spec.pattern}
    for spec in services(app).registry.current().policies[POLICY].input_schema.fields.values():
        for item in spec.item_fields:
            if item.pattern:
                declared[item.path.replace("[]", "")] = item.pattern
    published = published_patterns(client)
    assert {path: published.get(path) for path in declared} == declared
    assert not any("\\Z" in pattern for pattern in published.values())


@pytest.mark.skipif(shutil.which("node") is None, reason="node (an ECMA-262 engine) is not installed")
def test_each_published_pattern_is_an_ecma_262_expression_accepting_the_examples_values(client):
    values = {"applicant.mobile": "13812345678", "applicant.contact_mobile": "13912345678",
              "applicant.bank_card": "6222020200112233445", "residence.city_code": "330100",
              "residence.hukou_city_code": "330100", "device.gps_city_code": "330100",
              "device.ip_city_code": "330100", "bureau.accounts.status_24m": "N" * 24}
    patterns = published_patterns(client)
    script = ("const [p, v] = JSON.parse(process.argv[1]);"
              "const r = {}; for (const k in p) { r[k] = new RegExp(p[k], 'u').test(v[k] ?? '') }"
              "console.log(JSON.stringify(r))")
    tested = {k: p for k, p in patterns.items() if k in values}
    assert set(tested) == set(values)
    out = subprocess.run(["node", "-e", script, json.dumps([tested, values])], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == {k: True for k in tested}
