from flask import Blueprint

bp = Blueprint("policies", __name__, url_prefix="/v1/policies")

from app.api.policies import routes  # noqa: E402,F401
