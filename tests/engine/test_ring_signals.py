"""The ring signals of the reference policy (2026.12.5) on any value the service can hand in: a
count of applications naming one contact phone, distinct mobiles per ID and distinct IDs per
payout card, each a whole number or missing (no contact, no card, store down). The thresholds
are written out here, independently of the policy file."""
from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from support.applicants import CLEAN_SHARED, as_of, examples

CONTACT_REFER, PHONES_REFER, CARD_REFER, CARD_DECLINE = 3, 3, 2, 3

counts = st.none() | st.integers(min_value=1, max_value=8) | st.integers(min_value=9, max_value=10_000)


def _salaried(reference):
    body = examples("approve_salaried")["approve_salaried"]
    return reference.parse_input(as_of(body, datetime.date(2026, 11, 28)))


@settings(max_examples=300, deadline=None)
@given(contact=counts, phones=counts, card=counts)
def test_the_ring_rules_fire_from_their_thresholds_and_never_on_a_missing_value(reference, contact,
                                                                                phones, card):
    shared = {**CLEAN_SHARED, "shared.contact_applications_7d": contact,
              "shared.phones_per_id_30d": phones, "shared.ids_per_card_30d": card}
    decision = reference.decide(_salaried(reference), shared=shared)
    flags = decision.trace.matched()
    assert flags["AF-38"] == (contact is not None and contact >= CONTACT_REFER)
    assert flags["AF-39"] == (phones is not None and phones >= PHONES_REFER)
    assert flags["AF-40"] == (card is not None and CARD_REFER <= card < CARD_DECLINE)
    assert flags["AF-41"] == (card is not None and card >= CARD_DECLINE)
    expected = ("DECLINE" if flags["AF-41"] else
                "REFER" if flags["AF-38"] or flags["AF-39"] or flags["AF-40"] else "APPROVE")
    assert decision.outcome == expected, decision.reason_codes
    # a missing value is neither a referral of its own nor a failed data requirement
    assert not flags["RQ-VELOCITY"]


@settings(max_examples=100, deadline=None)
@given(contact=counts, phones=counts, card=counts)
def test_with_the_store_down_nothing_is_approved_whatever_the_ring_values(reference, contact,
                                                                          phones, card):
    shared = {"shared.contact_applications_7d": contact, "shared.phones_per_id_30d": phones,
              "shared.ids_per_card_30d": card}
    decision = reference.decide(_salaried(reference), shared=shared)
    assert decision.outcome in ("REFER", "DECLINE")
    assert "VELOCITY_UNAVAILABLE" in decision.reason_codes
