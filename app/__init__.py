"""Firefly: explainable credit decisions. `create_app` builds the Flask service."""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import api, cli, console, extensions, logs
from app import config as config_module
from app import services as use_cases


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration from the environment, then `config` overrides (tests); the use
    cases wired once (app/services), the JSON API and the CLI over them."""
    app = Flask(__name__)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    config_module.check_production(app.config)
    # A `flask ...` command (db upgrade, policy check, keys) serves no decisions: it neither loads
    # nor records the served policies, and logs only errors unless asked (FIREFLY_LOG_LEVEL, -v),
    # so that what it prints is what its user asked for.
    command_line = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    if not app.config.get("TESTING"):
        logs.configure_once(logs.level_named(os.environ.get("FIREFLY_LOG_LEVEL"),
                                             logging.ERROR if command_line else logging.INFO))
    proxies = config_module.trusted_proxies(app.config)
    if proxies:  # the client's address (counted for wrong API keys) from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    extensions.init_app(app, use_cases.build(config_module.Settings.from_mapping(app.config),
                                             load_policies=not command_line))
    api.init_app(app)
    console.init_app(app)
    cli.init_app(app)
    return app
