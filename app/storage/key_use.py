"""What each hashing key (FIREFLY_HMAC_KEY, FIREFLY_HMAC_OLD_KEYS) made that is still stored:
the decisions it hashed and sealed, the MACs of the chained logs, the list entries it hashed.

Every keyed value names its key (docs/controls.md): a decision its `key_id`, a MAC or a link of a
chain its `key id:` prefix (8 hex digits), a list entry its `key_id`. Whole-table counts: an
operator's question, asked rarely, never on the decision path.
"""
from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.storage.models import AccessEvent, Decision, DecisionReview, ListEntry, LogSeal, ReleaseEvent

UNNAMED = "(none)"  # rows made before key ids were recorded
KEY_ID_LENGTH = 8   # app/privacy.py key_id
# the chained logs' rows carry a MAC of their content; log_seals a MAC per link
_MACS = ((Decision.row_mac, Decision), (AccessEvent.row_mac, AccessEvent),
         (ReleaseEvent.row_mac, ReleaseEvent), (DecisionReview.row_mac, DecisionReview),
         (LogSeal.entry_hash, LogSeal))


def usage(session: Session, now: datetime.datetime) -> dict[str, Counter]:
    """{key id: Counter(decisions=, sealed=, macs=, list_entries=)} for every key id found."""
    found: dict[str, Counter] = defaultdict(Counter)
    rows = session.execute(select(Decision.key_id, func.count(), func.count(Decision.pii_sealed))
                           .group_by(Decision.key_id))
    for kid, decisions, sealed in rows:
        found[kid or UNNAMED].update(decisions=decisions, sealed=sealed)
    for column, model in _MACS:
        prefix = func.substr(column, 1, KEY_ID_LENGTH)
        for kid, macs in session.execute(select(prefix, func.count()).select_from(model)
                                         .where(column.is_not(None)).group_by(prefix)):
            found[kid].update(macs=macs)
    in_force = or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now)
    for kid, entries in session.execute(select(ListEntry.key_id, func.count()).where(in_force)
                                        .group_by(ListEntry.key_id)):
        found[kid].update(list_entries=entries)
    return dict(found)
