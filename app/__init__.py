"""Firefly: explainable credit decisions. `create_app` builds the Flask service."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from app import api, cli, extensions
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
    extensions.init_app(app, use_cases.build(config_module.Settings.from_mapping(app.config)))
    api.init_app(app)
    cli.init_app(app)
    return app
