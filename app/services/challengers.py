"""Champion/challenger: which policy decides an application, the shadow decision stored beside
the champion's, and the comparison of the two arms over a period (the swap matrix).

A policy names its challenger (`challenger:` in the policy file). In a `split` the applicant's
resident ID, hashed with the service's key and the pair of policy names, picks the arm: the same
applicant always lands in the same arm of the same experiment, and nobody can steer it without
the key. In a `shadow` the champion answers and the challenger's decision is stored beside it.
"""
from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy.exc import SQLAlchemyError

from app import privacy
from app.engine import OUTCOMES, InputError, Policy
from app.engine.model import DEFAULT_OUTCOMES
from app.engine.model import SHADOW, SPLIT
from app.privacy import PersonalData
from app.services import records
from app.services.errors import NotFound, ServiceError
from app.services.registry import PolicyRegistry
from app.storage import decisions
from app.storage.db import Database

log = logging.getLogger("firefly.decisions")
CHAMPION, CHALLENGER, SHADOW_ARM = "champion", "challenger", "shadow"
ARMS = (CHAMPION, CHALLENGER, SHADOW_ARM)


def bucket(personal: PersonalData, champion: str, challenger: str, applicant: str) -> int:
    """0 to 9999, stable for one applicant in one experiment (keyed: not guessable)."""
    digest = personal.keyed_hash(f"{champion}>{challenger}:{privacy.normalise(applicant)}")
    return int(digest[:8], 16) % 10000


def applicant_key(policy: Policy, raw: Mapping[str, Any]) -> str | None:
    """The applicant's resident ID in the request, which keys the split."""
    kinds = policy.pii_fields()
    clear = privacy.extract(raw, kinds)
    for path, kind in kinds.items():
        if kind == "resident_id" and clear.get(path) not in (None, ""):
            return str(clear[path])
    return None


@dataclass(frozen=True)
class Route:
    policy: Policy            # the policy that decides and answers
    arm: str | None           # None: the policy has no challenger
    shadow: Policy | None     # the challenger to decide beside it (shadow mode)


def route(registry: PolicyRegistry, personal: PersonalData, champion: Policy,
          raw: Mapping[str, Any]) -> Route:
    """Which policy decides this application, in which arm, and which shadows it."""
    challenger_spec = champion.parts.challenger
    if challenger_spec is None:
        return Route(champion, None, None)
    try:
        challenger = registry.served(challenger_spec.policy)
    except NotFound:
        log.warning("challenger not served: the champion decides alone",
                    extra={"event": "challenger_missing", "policy": champion.name,
                           "challenger": challenger_spec.policy})
        return Route(champion, CHAMPION, None)
    if challenger_spec.mode == SHADOW:
        return Route(champion, CHAMPION, challenger)
    key = applicant_key(champion, raw)
    if key is not None and challenger_spec.mode == SPLIT and (
            bucket(personal, champion.name, challenger.name, key) < challenger_spec.share * 100):
        return Route(challenger, CHALLENGER, None)
    return Route(champion, CHAMPION, None)


def shadow_row(shadow: Policy, champion_row: Any, raw: Mapping[str, Any], *,
               personal: PersonalData, now: datetime.datetime, decision_date: datetime.date,
               caller: Any, request_id: str, shared: Any = None):
    """The challenger's decision on the same application, as a row linked to the champion's;
    None (logged) when the challenger cannot decide it: the live answer never depends on it.
    `shared`: the champion's shared anti-fraud values (the application is counted once)."""
    try:
        made = records.make(shadow, raw, decision_date, now, shared)
    except InputError:
        log.warning("shadow decision not made: the application does not fit the challenger",
                    extra={"event": "shadow_failed", "policy": shadow.name})
        return None
    row = records.to_row(made, personal=personal, now=now, decision_date=decision_date,
                         caller=caller, request_id=request_id, idempotency_key=None,
                         request_fingerprint=personal.request_hash(shadow.name, raw),
                         arm=SHADOW_ARM, shadow_of=champion_row.id)
    return row


def store_shadow(database: Database, policy_store: Any, shadow: Policy, row: Any) -> None:
    try:
        policy_store.record(shadow)
        with database.session() as session:
            decisions.insert(session, row)
    except (SQLAlchemyError, ServiceError) as error:
        log.error("shadow decision not stored", extra={"event": "shadow_store_failed",
                                                        "error": type(error).__name__})


class Comparing:
    """The two arms of a policy's experiment over a period of decision dates."""

    def __init__(self, database: Database, registry: PolicyRegistry) -> None:
        self.database = database
        self.registry = registry

    def compare(self, policy: str, first_day: datetime.date, last_day: datetime.date) -> dict:
        """Outcomes per arm, and the swap matrix of champion and shadow on the same applications.
        A period that ends before it starts holds no decision (NotFound, like any empty period)."""
        try:
            served = self.registry.served(policy)
            spec, vocabulary = served.parts.challenger, served.outcomes.order
        except NotFound:
            spec = None   # no longer served: its stored rows still compare
            vocabulary = DEFAULT_OUTCOMES.order
        with self.database.session() as session:
            arms = decisions.arms_in_period(session, policy, spec.policy if spec else None,
                                            first_day, last_day)
        if not arms.by_arm:
            raise NotFound(f"no champion/challenger decisions of {policy} from {first_day} to "
                           f"{last_day}", code="no_decisions")
        # the policy's outcomes (the default vocabulary as APPROVE, DECLINE, REFER), then any other
        # outcome a stored row holds
        names = list(OUTCOMES if vocabulary == DEFAULT_OUTCOMES.order else vocabulary)
        for counts in arms.by_arm.values():
            names += [o for o in sorted(counts) if o not in names]
        matrix = {champion: {challenger: arms.pairs.get((champion, challenger), 0)
                             for challenger in names} for champion in names}
        paired = sum(arms.pairs.values())
        least = vocabulary[-1]
        same = sum(matrix[o][o] for o in names)
        return {
            "policy": policy, "from": first_day.isoformat(), "to": last_day.isoformat(),
            "arms": {arm: {"decisions": sum(counts.values()),
                           "outcomes": {o: counts.get(o, 0) for o in names},
                           "policies": sorted(arms.policies.get(arm, ()))}
                     for arm, counts in sorted(arms.by_arm.items())},
            "shadow_pairs": paired,
            # rows: the champion's outcome; columns: the shadow challenger's on the same application
            "swap_matrix": matrix,
            "agreement": round(same / paired, 6) if paired else None,
            # toward and away from the least severe outcome (APPROVE)
            "swap_in": sum(matrix[o][least] for o in names if o != least),
            "swap_out": sum(matrix[least][o] for o in names if o != least),
        }
