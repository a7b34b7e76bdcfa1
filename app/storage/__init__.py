"""Storage: SQLAlchemy 2 models, the per-app database handle and migrations."""
from app.storage.db import Database, get_db, init_app
from app.storage.models import ApiKey, Base, Decision, FloorRow, PolicyVersion

__all__ = ["ApiKey", "Base", "Database", "Decision", "FloorRow", "PolicyVersion",
           "get_db", "init_app"]
