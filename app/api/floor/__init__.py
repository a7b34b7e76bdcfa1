"""The benchmark floor (only with FIREFLY_FLOOR_ENDPOINT=1): what a decision costs without the engine."""
from flask import Blueprint

bp = Blueprint("floor", __name__, url_prefix="/bench/floor")

from app.api.floor import routes  # noqa: E402,F401
