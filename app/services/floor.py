"""The benchmark floor (FIREFLY_FLOOR_ENDPOINT=1 only): what storing a decision costs without the
engine, for bench/http_load.py to compare the service against."""
from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.services.clock import utc_now
from app.services.errors import Unavailable
from app.services.records import new_decision_id
from app.services.registry import PolicyRegistry
from app.storage.db import Database, insert_row
from app.storage.models import FloorRow


def store_floor_row(database: Database, registry: PolicyRegistry, policy_name: str,
                    body: dict[str, Any], pad_bytes: int) -> str:
    """Check the policy exists, then insert one row of a decision's size; returns its id."""
    registry.served(policy_name)
    now = utc_now()
    row = FloorRow(id=new_decision_id(now), created_at=now, body=body, trace={"pad": "x" * pad_bytes})
    try:
        with database.connection() as connection:  # as a decision is stored: no ORM session
            insert_row(connection, row)
    except SQLAlchemyError:
        raise Unavailable("the row could not be stored") from None
    return row.id
