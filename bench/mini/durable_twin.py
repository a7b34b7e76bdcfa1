"""The small policy in durable_rules: every rule and matrix row a durable rule, matched by its engine.

The 29 rules and the 30 rows of the limit matrix are one durable_rules ruleset, written with the
engine's JSON rule form (`{"all": [{"m": condition}], "run": action}`); a decision asserts the
application's fields as one fact in a fresh session, the actions record which rules fired, and
the outcome, limit and ordered reasons are assembled from them as the policy says (the same
assembly as bench/mini/hand.py). It imports nothing from Firefly. durable_rules' hazards are
avoided as app/engine/backends/durable.py does (docs/durable.md): every rule requires a marker
field the engine's own state fact never has, a catch-all rule handles every fact (an unhandled
fact then deleted crashes the process), every session is deleted, the host's background timers are
not started, and actions take exactly one parameter."""
from __future__ import annotations

import itertools

from durable import engine

MARKER = {"q": "mini"}
DECLINE, REFER, APPROVE = "DECLINE", "REFER", "APPROVE"
INCOME_MULTIPLE, MINIMUM_LIMIT = 6, 5000


def _all(*conditions) -> dict:
    return {"$and": [MARKER, *conditions]}


def lt(field, value):
    return {"$lt": {field: value}}


def lte(field, value):
    return {"$lte": {field: value}}


def gt(field, value):
    return {"$gt": {field: value}}


def gte(field, value):
    return {"$gte": {field: value}}


def eq(field, value):
    return {field: value}


def neq(field, value):
    return {"$neq": {field: value}}


# (id, action, reason, condition) in the policy's order: eligibility, credit, fraud
RULES = [
    ("EL-01", DECLINE, "AGE_TOO_LOW", _all(lt("age", 22))),
    ("EL-02", DECLINE, "AGE_TOO_HIGH", _all(gt("age", 60))),
    ("EL-03", DECLINE, "UNEMPLOYED", _all(eq("employment", "UNEMPLOYED"))),
    ("EL-04", DECLINE, "INCOME_TOO_LOW", _all(lt("monthly_income", 3000))),
    ("EL-05", REFER, "SHORT_EMPLOYMENT", _all(eq("employment", "SALARIED"), lt("months_employed", 6))),
    ("EL-06", REFER, "SHORT_BUSINESS", _all(eq("employment", "SELF_EMPLOYED"), lt("months_employed", 24))),
    ("EL-07", REFER, "LOW_INCOME_TIER3", _all(eq("city_tier", "TIER3"), lt("monthly_income", 5000))),
    ("EL-08", REFER, "OLDER_SELF_EMPLOYED", _all(gte("age", 55), eq("employment", "SELF_EMPLOYED"))),
    ("EL-09", REFER, "LARGE_REQUEST", _all(gt("requested_amount", 200000))),
    ("EL-10", DECLINE, "REQUEST_TOO_SMALL", _all(lt("requested_amount", 1000))),
    ("CR-01", DECLINE, "SCORE_TOO_LOW", _all(lt("credit_score", 550))),
    ("CR-02", REFER, "SCORE_MARGINAL", _all(gte("credit_score", 550), lt("credit_score", 600))),
    ("CR-03", DECLINE, "OVERDUE_HISTORY", _all(gte("overdue_months_24m", 6))),
    ("CR-04", REFER, "SOME_OVERDUE", _all(gte("overdue_months_24m", 3), lt("overdue_months_24m", 6))),
    ("CR-05", DECLINE, "SEVERE_DELINQUENCY", _all(gte("max_dpd_12m", 90))),
    ("CR-06", REFER, "RECENT_DELINQUENCY", _all(gte("max_dpd_12m", 30), lt("max_dpd_12m", 90))),
    ("CR-07", DECLINE, "TOO_MANY_INQUIRIES", _all(gt("hard_inquiries_6m", 10))),
    ("CR-08", REFER, "MANY_INQUIRIES", _all(gt("hard_inquiries_6m", 6), lte("hard_inquiries_6m", 10))),
    ("CR-09", DECLINE, "TOO_MANY_LOANS", _all(gte("open_loans", 8))),
    ("CR-10", REFER, "MANY_LOANS", _all(gte("open_loans", 5), lt("open_loans", 8))),
    ("FR-01", REFER, "NEW_DEVICE", _all(lt("device_age_days", 1))),
    ("FR-02", DECLINE, "NEW_PHONE", _all(lt("phone_months", 3))),
    ("FR-03", REFER, "RECENT_PHONE", _all(gte("phone_months", 3), lt("phone_months", 6))),
    ("FR-04", REFER, "YOUNG_PARTNER", _all(eq("channel", "PARTNER"), lt("age", 25))),
    ("FR-05", DECLINE, "APPLICATION_BURST", _all(gte("applications_30d", 5))),
    ("FR-06", REFER, "REPEATED_APPLICATIONS", _all(gte("applications_30d", 3), lt("applications_30d", 5))),
    ("FR-07", DECLINE, "HIGH_RISK_IP", _all(eq("ip_risk", "HIGH"))),
    ("FR-08", REFER, "MEDIUM_RISK_IP", _all(eq("ip_risk", "MEDIUM"), neq("channel", "BRANCH"))),
    ("FR-09", DECLINE, "BLACKLISTED", _all(eq("on_blacklist", True))),
]

_BASES = {
    ("TIER1", "SALARIED"): (200000, 150000, 100000, 60000, 20000),
    ("TIER1", "SELF_EMPLOYED"): (150000, 100000, 70000, 40000, 10000),
    ("TIER2", "SALARIED"): (150000, 100000, 80000, 50000, 15000),
    ("TIER2", "SELF_EMPLOYED"): (100000, 80000, 50000, 30000, 8000),
    ("TIER3", "SALARIED"): (100000, 80000, 50000, 30000, 10000),
    ("TIER3", "SELF_EMPLOYED"): (80000, 50000, 30000, 20000, 5000),
}
_BANDS = [(gte, 750, None), (gte, 700, 750), (gte, 650, 700), (gte, 600, 650), (None, None, 600)]


def _matrix_rows() -> list[tuple[int, dict]]:
    """(base limit, condition) per row, in the table's order (first hit)."""
    rows = []
    for (tier, employment), bases in _BASES.items():
        for base, (_, low, high) in zip(bases, _BANDS):
            band = ([gte("credit_score", low)] if low is not None else []) + \
                   ([lt("credit_score", high)] if high is not None else [])
            rows.append((base, _all(eq("city_tier", tier), eq("employment", employment), *band)))
    return rows


MATRIX = _matrix_rows()
FIELDS = ("age", "employment", "months_employed", "monthly_income", "city_tier", "credit_score",
          "overdue_months_24m", "max_dpd_12m", "hard_inquiries_6m", "open_loans", "channel",
          "requested_amount", "device_age_days", "phone_months", "applications_30d", "ip_risk",
          "on_blacklist")


class _QuietHost(engine.Host):
    """A Host without its background dispatch timers: actions run inside assert_fact."""

    def _run(self):
        return None


class DurableMini:
    """The small policy on one durable_rules host."""

    def __init__(self, name: str = "mini") -> None:
        self._fired: list[int] = []
        self._sessions = itertools.count(1)
        self.name = f"{name}:{id(self)}"
        definition = {}
        for index, (_, _, _, condition) in enumerate(RULES):
            definition[f"r{index}"] = {"all": [{"m": condition}], "run": self._action(index)}
        for number, (_, condition) in enumerate(MATRIX):
            definition[f"m{number}"] = {"all": [{"m": condition}], "run": self._action(1000 + number)}
        definition["handled"] = {"all": [{"m": MARKER}], "run": self._action(-1)}
        self._host = _QuietHost()
        self._host.set_rulesets({self.name: definition})

    def _action(self, index: int):
        fired = self._fired

        def action(c):  # one parameter: durable runs a two-parameter action asynchronously
            fired.append(index)
        return action

    def matched(self, raw: dict) -> list[int]:
        """The indices of the rules (0..28) and matrix rows (1000 + n) the application matches."""
        fact = dict(MARKER)
        for section in raw.values():
            fact.update(section)
        sid = f"s{next(self._sessions)}"
        fact["sid"] = sid
        del self._fired[:]
        state = self._host.assert_fact(self.name, fact)
        try:
            if not isinstance(state, dict) or "exception" in state or -1 not in self._fired:
                raise RuntimeError(f"durable_rules failed on {fact}: {state}")
            return sorted(i for i in self._fired if i >= 0)
        finally:
            self._host.delete_state(self.name, sid)

    def decide(self, raw: dict) -> dict:
        """{"outcome", "limit", "reasons"} for one application (as bench/mini/hand.py)."""
        fired = self.matched(raw)
        declines = [RULES[i][2] for i in fired if i < 1000 and RULES[i][1] == DECLINE]
        refers = [RULES[i][2] for i in fired if i < 1000 and RULES[i][1] == REFER]
        rows = [i - 1000 for i in fired if i >= 1000]
        limit = None
        if not rows:
            refers.append("LIMIT_UNDETERMINED")
        else:
            base = MATRIX[rows[0]][0]
            limit = min(base, raw["applicant"]["monthly_income"] * INCOME_MULTIPLE) // 1000 * 1000
            if limit < MINIMUM_LIMIT:
                declines.append("LIMIT_TOO_LOW")
        outcome = DECLINE if declines else REFER if refers else APPROVE
        return {"outcome": outcome, "limit": limit if outcome == APPROVE else None,
                "reasons": declines + refers}
