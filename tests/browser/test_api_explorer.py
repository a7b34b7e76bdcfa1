"""/docs: the interactive API explorer (Swagger UI from the pinned swagger-ui-bundle), tried as a
channel developer would: every path listed, an operation tried without a key and then with one."""
from __future__ import annotations

import json
import os
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from support.keys import KEYS
from tests.browser.test_console import wait


def operation(browser, method, path):
    for block in browser.find_elements(By.CSS_SELECTOR, f".opblock.opblock-{method}"):
        if block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path") == path:
            return block
    raise AssertionError(f"{method.upper()} {path} is not on the page")


def execute(browser, block):
    """Press Execute on an expanded operation in try-it-out mode; the status code answered."""
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    cell = wait(browser).until(lambda _: block.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"))
    status = cell.text.strip()
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre").text
    return status, body


def screenshot(browser, name):
    folder = Path(os.environ.get("FIREFLY_SCREENSHOTS", "var/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(folder / name))


def test_explorer_lists_every_operation_and_tries_one_with_the_key(live_server, browser, client):
    spec = client.get("/openapi.json").get_json()
    browser.get(live_server + "/docs")
    wait(browser).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))

    shown = {(b.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.lower(),
              b.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"))
             for b in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    described = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert shown == described
    screenshot(browser, "docs-overview.png")

    block = operation(browser, "get", "/v1/policies")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait(browser).until(lambda _: block.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()

    # without a key the service refuses, and the page shows the JSON error
    status, body = execute(browser, block)
    assert status == "401"
    assert json.loads(body)["error"]["code"] == "unauthorized"

    # "Authorize" sets X-API-Key for every operation that needs it
    browser.find_element(By.CSS_SELECTOR, ".scheme-container button.authorize").click()
    field = wait(browser).until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container input")))
    field.send_keys(KEYS["compliance"])
    browser.find_element(By.CSS_SELECTOR, ".auth-container .auth-btn-wrapper button.authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".auth-container .auth-btn-wrapper button.btn-done").click()

    status, body = execute(browser, block)
    assert status == "200"
    served = json.loads(body)
    assert "zhishandai.application" in {p["name"] for p in served["policies"]}
    screenshot(browser, "docs-tried.png")

    # the page runs under its CSP without a refused script or style
    refused = [e["message"] for e in browser.get_log("browser")
               if e["level"] == "SEVERE" and "/v1/policies" not in e["message"]]
    assert refused == []


def test_explorer_assets_come_from_this_service(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for asset in ("/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/docs/explorer.js"):
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.data) > 100, asset
    assert client.get("/docs/assets/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/docs/assets/../__init__.py").status_code == 404
