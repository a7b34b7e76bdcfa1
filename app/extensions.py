"""The one place Flask holds the service's wiring: typed access to the use cases of this app."""
from __future__ import annotations

from flask import Flask, current_app

from app.services import Services

_KEY = "firefly"


def init_app(app: Flask, services: Services) -> None:
    app.extensions[_KEY] = services


def services(app: Flask | None = None) -> Services:
    """The use cases of `app` (default: the current app)."""
    return (app or current_app).extensions[_KEY]
