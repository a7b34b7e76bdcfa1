from flask import Blueprint

bp = Blueprint("decisions", __name__, url_prefix="/v1/decisions")

from app.api.decisions import routes  # noqa: E402,F401
from app.api.decisions import audit  # noqa: E402,F401
