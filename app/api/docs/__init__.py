from flask import Blueprint

bp = Blueprint("docs", __name__)

from app.api.docs import routes  # noqa: E402,F401
