"""Time for the use cases: the engine never reads the clock, the service fills the decision date in.

A use case takes a `Clock` (a function returning an aware UTC datetime) so that tests and replays
can fix the time.
"""
from __future__ import annotations

import datetime
from typing import Callable

Clock = Callable[[], datetime.datetime]

# China has one time zone and no daylight saving.
CHINA = datetime.timezone(datetime.timedelta(hours=8), "CST")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def business_date(moment: datetime.datetime) -> datetime.date:
    """The decision date: the calendar date in China at that moment."""
    return moment.astimezone(CHINA).date()


def iso_utc(moment: datetime.datetime) -> str:
    """An instant as ISO 8601 in UTC with a Z (a naive value read back from SQLite is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
