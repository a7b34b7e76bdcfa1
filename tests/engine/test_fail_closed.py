"""Fail closed on the reference policy: an APPROVE never lacks a datum an automatic approval
needs, whatever is removed from a realistic application."""
from __future__ import annotations

import random

from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.engine.model import UNMET
from support.applicants import CLEAN_SHARED, generate

# What the issue asks of an automatic APPROVE, written out here independently of the policy
# file: the identity, court, blacklist, device and fraud-score data, a dated credit report, both
# consent references, the amount asked for and some income.
ALWAYS = ["checks.identity_verified", "checks.court_dishonest", "checks.court_enforcement_open",
          "bank.internal_blacklist", "device.channel", "device.device_id", "device.device_applications_24h",
          "device.emulator", "device.rooted", "scores.fraud_score", "bureau.has_record",
          "bureau.report_date", "consent.pipl_consent_id", "consent.bureau_authorisation_id",
          "requested_amount", "employment.type", "applicant.birth_date"]
WITH_A_RECORD = ["bureau.accounts", "bureau.inquiries"]
# Fields of an open account the credit figures need: without one, the figures are unknown.
ACCOUNT_FIELDS = ["status_24m", "overdue_amount", "five_class", "state", "balance",
                  "monthly_repayment"]
SECTIONS = ["employment", "business", "bank", "bureau", "device", "checks", "scores",
            "consent"]  # not applicant or residence: the input schema requires their ID and city


def _get(raw: dict, path: str):
    value = raw
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _remove(raw: dict, sections: list[str], fields: list[str]) -> dict:
    out = {key: (dict(value) if isinstance(value, dict) else value)
           for key, value in raw.items() if key not in sections}
    for path in fields:
        section, _, name = path.rpartition(".")
        target = out.get(section) if section else out
        if isinstance(target, dict):
            target.pop(name, None)
    return out


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2 ** 32 - 1),
       sections=st.lists(st.sampled_from(SECTIONS), max_size=2, unique=True),
       fields=st.lists(st.sampled_from(ALWAYS + WITH_A_RECORD), max_size=3, unique=True),
       account_field=st.none() | st.sampled_from(ACCOUNT_FIELDS))
def test_an_approve_never_lacks_a_required_datum(reference, seed, sections, fields,
                                                 account_field):
    [raw] = generate(1, seed)
    raw = _remove(raw, sections, fields)
    accounts = _get(raw, "bureau.accounts")
    open_accounts = [a for a in accounts or [] if a.get("state") != "SETTLED"]
    if account_field and open_accounts:  # a field the bureau left blank on an open account
        raw["bureau"]["accounts"] = [dict(a) for a in accounts]
        blank = raw["bureau"]["accounts"][accounts.index(open_accounts[0])]
        blank.pop(account_field, None)
    decision = reference.decide(reference.parse_input(raw), shared=CLEAN_SHARED)
    event(decision.outcome)
    unmet = [r.id for r, state in zip(reference.parts.requirements,
                                      decision.trace.requirements) if state == UNMET]
    if unmet:
        assert decision.outcome != "APPROVE" and decision.limit is None
    if decision.outcome != "APPROVE":
        return
    missing = [path for path in ALWAYS if _get(raw, path) is None]
    if _get(raw, "bureau.has_record") is True:
        missing += [path for path in WITH_A_RECORD if _get(raw, path) is None]
        missing += [f"bureau.accounts[].{field}" for account in _get(raw, "bureau.accounts")
                    if account.get("state") != "SETTLED" for field in ACCOUNT_FIELDS
                    if account.get(field) is None]
    assert missing == [], f"approved without {missing}"
    assert decision.trace.to_dict()["requirements"] and all(
        r["met"] is not False for r in decision.trace.to_dict()["requirements"])


def test_removing_any_one_required_datum_from_an_approval_refers(reference):
    """Every datum of the list, removed alone from approved applications, prevents the approval."""
    approved = [raw for raw in generate(300, 5)
                if reference.decide(reference.parse_input(raw), shared=CLEAN_SHARED).outcome == "APPROVE"]
    assert len(approved) > 30
    rng = random.Random(5)
    for path in ALWAYS + WITH_A_RECORD:
        raw = rng.choice([r for r in approved if _get(r, "bureau.has_record")])
        decision = reference.decide(reference.parse_input(_remove(raw, [], [path])), shared=CLEAN_SHARED)
        assert decision.outcome == "REFER", (path, decision.reason_codes)
        assert decision.reasons[0].stage == "requires", (path, decision.reason_codes)


def test_an_approval_without_the_shared_anti_fraud_values_refers(reference):
    """With the shared store unavailable (every shared value missing), no approval: REFER
    VELOCITY_UNAVAILABLE, ranked with the data requirements."""
    approved = [raw for raw in generate(200, 7)
                if reference.decide(reference.parse_input(raw), shared=CLEAN_SHARED).outcome == "APPROVE"]
    assert len(approved) > 20
    for raw in approved:
        decision = reference.decide(reference.parse_input(raw), shared={})
        assert decision.outcome == "REFER" and decision.reason_codes == ["VELOCITY_UNAVAILABLE"]
