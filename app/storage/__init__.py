"""Storage: SQLAlchemy 2 models, the database handle, queries and migrations."""
from app.storage.db import Database, RawJSON
from app.storage.models import ApiKey, Base, Decision, FloorRow, PolicyVersion

__all__ = ["ApiKey", "Base", "Database", "Decision", "FloorRow", "PolicyVersion", "RawJSON"]
