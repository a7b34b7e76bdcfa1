"""The one masking rule for personal data."""
from __future__ import annotations

import pytest

from app.engine.privacy import PII_KINDS, SEARCHABLE_KINDS, mask
from engine.test_decision import VALID_ID


@pytest.mark.parametrize("kind, value, expected", [
    ("resident_id", VALID_ID, "11**************2X"),
    ("phone", "13812345678", "138****5678"),
    ("name", "张三", "张*"),
    ("name", "欧阳娜娜", "欧***"),
    ("birth_date", "1990-05-14", "****-**-**"),
    ("line", "ZSD2026110100042", "************0042"),
])
def test_mask(kind, value, expected):
    assert mask(kind, value) == expected


def test_a_seven_digit_phone_is_masked(tmp_path):
    """Regression: a 7-character phone was shown unchanged."""
    assert mask("phone", "1234567") != "1234567"
    assert "*" in mask("phone", "1234567")


def test_the_searchable_kinds_are_personal_data_kinds():
    assert PII_KINDS == ("resident_id", "phone", "name", "birth_date", "bank_card", "line")
    assert set(SEARCHABLE_KINDS) <= set(PII_KINDS) and "name" not in SEARCHABLE_KINDS


@pytest.mark.parametrize("kind, value, expected", [
    ("resident_id", "12", "**"), ("resident_id", "123", "1*3"), ("phone", "12345", "***45"),
    ("name", "张", "*"), ("line", "1234", "***4"), ("line", "A", "*"), ("derived", "1990-05-17", "****"), ("phone", "", ""),
])
def test_at_least_one_character_is_always_hidden(kind, value, expected):
    assert mask(kind, value) == expected


def test_a_bank_card_keeps_its_issuer_and_last_four():
    assert mask("bank_card", "6222021234567890123") == "622202*********0123"
    assert mask("bank_card", "12345678") == "****5678"
