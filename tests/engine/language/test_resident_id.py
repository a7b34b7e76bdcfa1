"""Resident ID numbers (GB 11643-1999): check character, birth date, gender, and compose."""
from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.language import resident_id as rid
from app.engine.language.resident_id import compose

# The published example number: Beijing Chaoyang (110105), born 1949-12-31, sequence 002.
EXAMPLE = "11010519491231002X"


def test_known_example():
    assert rid.check_character(EXAMPLE[:17]) == "X"
    assert rid.is_valid(EXAMPLE) is True
    assert rid.is_valid(EXAMPLE.lower()) is True          # a lower-case x is accepted
    assert rid.birth_date(EXAMPLE) == datetime.date(1949, 12, 31)
    assert rid.gender(EXAMPLE) == "FEMALE"                 # 2 is even
    assert rid.region(EXAMPLE) == "110105"


def test_helper_agrees_with_the_known_example():
    assert compose("110105", datetime.date(1949, 12, 31), 2) == EXAMPLE


@pytest.mark.parametrize("number", [
    "110105194912310021",     # wrong check character
    "110105194912310020",
    "11010519491331002X",     # month 13 (whatever the check character)
    compose("110105", datetime.date(1949, 12, 31), 2)[:-1] + "Y",
    "11010519490230002X",     # 30 February
    "1101051949123100",       # too short
    "11010519491231002X1",    # too long
    "11010519491231002",      # 17 characters
    "A1010519491231002X",     # a letter in the digits
    "110105 9491231002X",
    "",
    "张三",
])
def test_invalid_numbers(number):
    assert rid.is_valid(number) is False


def test_missing_number():
    assert rid.is_valid(None) is None
    assert rid.birth_date(None) is None
    assert rid.gender(None) is None
    assert rid.region(None) is None


@pytest.mark.parametrize("number, expected", [
    ("11010519491331002X", None),          # not a date
    ("11010520000229002X", datetime.date(2000, 2, 29)),
    ("11010519000229002X", None),          # 1900 was not a leap year
    ("110105", None),
])
def test_birth_date(number, expected):
    assert rid.birth_date(number) == expected


def test_gender_from_the_sequence_digit():
    assert rid.gender(compose("330106", datetime.date(1990, 1, 1), 1)) == "MALE"
    assert rid.gender(compose("330106", datetime.date(1990, 1, 1), 10)) == "FEMALE"
    assert rid.gender("33010619901301001X") is None  # no birth date: not well formed


@pytest.mark.parametrize("born, on, expected", [
    (datetime.date(1990, 6, 15), datetime.date(2026, 6, 14), 35),
    (datetime.date(1990, 6, 15), datetime.date(2026, 6, 15), 36),
    (datetime.date(2000, 2, 29), datetime.date(2026, 2, 28), 25),
    (datetime.date(2000, 2, 29), datetime.date(2026, 3, 1), 26),
    (datetime.date(2026, 6, 15), datetime.date(2026, 6, 14), -1),
])
def test_full_years(born, on, expected):
    assert rid.full_years(born, on) == expected


regions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)


births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2099, 12, 31))


sequences = st.integers(min_value=0, max_value=999)


@settings(max_examples=200, deadline=None)
@given(regions, births, sequences)
def test_generated_numbers_round_trip(region, born, sequence):
    number = compose(region, born, sequence)
    assert len(number) == 18
    assert rid.is_valid(number) is True
    assert rid.birth_date(number) == born
    assert rid.region(number) == region
    assert rid.gender(number) == ("MALE" if sequence % 2 else "FEMALE")


@settings(max_examples=200, deadline=None)
@given(regions, births, sequences, st.sampled_from("0123456789X"))
def test_every_other_check_character_is_rejected(region, born, sequence, character):
    number = compose(region, born, sequence)
    altered = number[:17] + character
    assert rid.is_valid(altered) is (character == number[17])


@settings(max_examples=200, deadline=None)
@given(regions, births, sequences, st.integers(min_value=0, max_value=16),
       st.integers(min_value=1, max_value=9))
def test_a_single_wrong_digit_is_detected(region, born, sequence, position, delta):
    number = compose(region, born, sequence)
    digit = str((int(number[position]) + delta) % 10)
    altered = number[:position] + digit + number[position + 1:]
    # MOD 11-2 detects every single-digit error (the weights are all non-zero mod 11)
    assert rid.is_valid(altered) is False


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_any_text_gives_an_answer_without_raising_for_ascii(text):
    ascii_text = text.encode("ascii", "ignore").decode()
    assert rid.is_valid(ascii_text) in (True, False)
    rid.birth_date(ascii_text), rid.gender(ascii_text), rid.region(ascii_text)


@pytest.mark.parametrize("number", ["11010519491231²02X", "110105194912310²2X", "²1010519491231002X"])
def test_unicode_digits_do_not_raise(number):
    """Regression: '²' passes str.isdigit but not int(), and is_valid raised ValueError."""
    assert rid.is_valid(number) is False
    assert rid.gender(number) is None


def test_compose_gives_a_valid_number_with_its_parts():
    number = rid.compose("330106", datetime.date(1990, 5, 17), 13)
    assert number == "33010619900517013" + rid.check_character("33010619900517013")
    assert rid.is_valid(number) and rid.region(number) == "330106"
    assert rid.birth_date(number) == datetime.date(1990, 5, 17) and rid.gender(number) == "MALE"


@settings(max_examples=300)
@given(st.text(alphabet="0123456789Xx", min_size=17, max_size=19) | st.text(max_size=20)
       | st.builds(lambda region, born, sequence, last: compose(region, born, sequence)[:17] + last,
                   regions, births, sequences, st.sampled_from("0123456789Xx")))
def test_validity_is_the_check_character_of_a_real_birth_date(number):
    """is_valid sums the digits from their bytes; the definition: 18 characters, 17 ASCII digits
    with a real birth date, and the check character of check_character()."""
    expected = (len(number) == 18 and number[:17].isascii() and number[:17].isdigit()
                and rid.birth_date(number) is not None
                and number[17].upper() == rid.check_character(number[:17]))
    assert rid.is_valid(number) is expected
