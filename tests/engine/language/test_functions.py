"""The functions a rule author may call, on present and missing values."""
from __future__ import annotations

import pytest

from engine.support import D, codes, date, errors, feature_value, fires, load, rule_policy, ruleset


# --- functions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, fields, expected", [
    ("exists(a)", {"a": 0}, True),
    ("exists(a)", {}, False),
    ("missing(a)", {}, True),
    ("missing(a)", {"a": 0}, False),
    ("exists(tags)", {"tags": []}, True),
    ("coalesce(a, 0)", {}, 0),
    ("coalesce(a, 0)", {"a": 5}, 5),
    ("coalesce(a, b, 7)", {"b": 2}, 2),
    ("coalesce(a, b)", {}, None),
    ("min(a, b)", {"a": 3, "b": 2}, 2),
    ("min(a, b)", {"a": 3}, 3),            # missing arguments are ignored
    ("max(a, b, c)", {"c": -1}, -1),
    ("max(a, b)", {}, None),               # missing only if all are
    ("max(a, d)", {"a": 1, "d": "1.5"}, D("1.5")),
    ("min(day, day2)", {"day": "2026-01-02", "day2": "2026-01-01"}, date("2026-01-01")),
    ("abs(a)", {"a": -3}, 3),
    ("abs(d)", {"d": "-0.25"}, D("0.25")),
    ("floor(d)", {"d": "2.7"}, 2),
    ("floor(d)", {"d": "-2.5"}, -3),
    ("ceil(d)", {"d": "2.1"}, 3),
    ("ceil(d)", {"d": "-2.5"}, -2),
    ("floor(a)", {"a": 4}, 4),
    ("len(s)", {"s": "张三丰"}, 3),
    ("len(s)", {"s": ""}, 0),
    ("len(tags)", {"tags": []}, 0),
    ("len(tags)", {"tags": ["a", "b"]}, 2),
    ("days_between(day, day2)", {"day": "2024-02-28", "day2": "2024-03-01"}, 2),  # leap year
    ("days_between(day, day2)", {"day": "2026-03-01", "day2": "2026-02-28"}, -1),
    ("days_between(day, day2)", {"day": "2026-03-01"}, None),
])
def test_functions(tmp_path, expression, fields, expected):
    value = feature_value(tmp_path, expression, **fields)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("value, digits, expected", [
    ("2.5", None, 3),       # HALF_UP, not banker's rounding
    ("3.5", None, 4),
    ("-2.5", None, -3),     # half away from zero
    ("2.4999", None, 2),
    ("0.5", None, 1),
    ("1.25", 1, D("1.3")),  # HALF_EVEN would give 1.2
    ("1.35", 1, D("1.4")),
    ("1.2345", 2, D("1.23")),
    ("0.005", 2, D("0.01")),
])
def test_round_half_up(tmp_path, value, digits, expected):
    expression = "round(d)" if digits is None else f"round(d, {digits})"
    result = feature_value(tmp_path, expression, d=value)
    assert result == expected
    assert str(result) == str(expected)


def test_round_to_negative_digits(tmp_path):
    assert feature_value(tmp_path, "round(a, -2)", a=1250) == 1300
    assert feature_value(tmp_path / "2", "round(a, -3)", a=1499) == 1000


@pytest.mark.parametrize("start, end, expected", [
    ("2026-01-15", "2026-02-15", 1),
    ("2026-01-15", "2026-02-14", 0),
    ("2026-01-15", "2026-01-15", 0),
    ("2025-12-31", "2026-01-01", 0),
    ("2025-12-01", "2026-01-01", 1),
    ("2024-02-29", "2025-02-28", 11),   # the day of month is not reached
    ("2024-02-29", "2025-03-01", 12),
    ("2026-01-31", "2026-02-28", 0),    # whole months: the 31st is never reached in February
    ("2026-01-31", "2026-03-31", 2),
    ("2020-06-10", "2026-06-10", 72),
    ("2026-03-15", "2026-01-20", -1),   # negative when end is earlier, whole months only
    ("2026-03-15", "2026-01-15", -2),
    ("2026-03-15", "2026-01-10", -2),
])
def test_months_between(tmp_path, start, end, expected):
    assert feature_value(tmp_path, "months_between(day, day2)", day=start, day2=end) == expected


def test_months_between_missing(tmp_path):
    assert feature_value(tmp_path, "months_between(day, day2)", day="2026-01-01") is None


@pytest.mark.parametrize("start, months, expected", [
    ("2026-01-31", 1, date("2026-02-28")),   # clipped to the month's end
    ("2024-01-31", 1, date("2024-02-29")),   # leap year
    ("2026-03-31", -1, date("2026-02-28")),
    ("2026-11-15", 2, date("2027-01-15")),
    ("2026-01-15", -13, date("2024-12-15")),
    ("2026-01-15", 0, date("2026-01-15")),
    ("9999-12-01", 1, None),                 # beyond the calendar: missing, not an error
    ("0001-01-01", -1, None),
])
def test_date_add_months(tmp_path, start, months, expected):
    assert feature_value(tmp_path, "date_add_months(day, a)", day=start, a=months) == expected


# A valid resident ID number: region 110105, born 1949-12-31, sequence 002 (female), check X.
VALID_ID = "11010519491231002X"


@pytest.mark.parametrize("expression, id_number, expected", [
    ("resident_id_valid(person.id_number)", VALID_ID, True),
    ("resident_id_valid(person.id_number)", VALID_ID.lower(), True),
    ("resident_id_valid(person.id_number)", "110105194912310021", False),   # check character
    ("resident_id_valid(person.id_number)", "11010519491331002X", False),   # month 13
    ("resident_id_valid(person.id_number)", "1101051949123100", False),     # too short
    ("resident_id_valid(person.id_number)", None, None),
    ("resident_id_birth_date(person.id_number)", VALID_ID, date("1949-12-31")),
    ("resident_id_birth_date(person.id_number)", "张三", None),
    ("resident_id_gender(person.id_number)", VALID_ID, "FEMALE"),
    ("resident_id_region(person.id_number)", VALID_ID, "110105"),
    ("resident_id_region(person.id_number)", "110105", None),
])
def test_resident_id_functions(tmp_path, expression, id_number, expected):
    person = {} if id_number is None else {"id_number": id_number}
    assert feature_value(tmp_path, expression, person=person) == expected


def test_resident_id_gender_is_an_enum(tmp_path):
    policy = rule_policy(tmp_path, 'gender == "FEMALE"',
                         features={"gender": "resident_id_gender(person.id_number)"})
    assert fires(policy, person={"id_number": VALID_ID})
    result = load(tmp_path / "typo", {"r": ruleset("r", [
        {"id": "HIT", "when": 'gender == "FEMAL"', "then": {"action": "DECLINE", "reason": "HIT"}},
        {"id": "OK", "when": "a > 1", "then": {"action": "DECLINE", "reason": "R1"}}])},
        features={"gender": "resident_id_gender(person.id_number)"},
        stages=[{"id": "r", "ruleset": "r"}])
    assert codes(result) == ["EXPR_ENUM_VALUE"]
    assert "did you mean 'FEMALE'" in errors(result)[0].message


@pytest.mark.parametrize("decision_date, expected", [
    ("1989-12-30", 39),   # the day before the 40th birthday
    ("1989-12-31", 40),   # on the birthday
    ("2026-11-28", 76),
])
def test_age_at_from_id_number(tmp_path, decision_date, expected):
    value = feature_value(tmp_path, "age_at(person.id_number, decision_date)",
                          decision_date=decision_date, person={"id_number": VALID_ID})
    assert value == expected


@pytest.mark.parametrize("born, on, expected", [
    ("2000-02-29", "2027-02-28", 26),   # a leap-day birthday is reached on 1 March
    ("2000-02-29", "2027-03-01", 27),
    ("2000-02-29", "2028-02-29", 28),
    ("2000-06-15", "2000-06-15", 0),
])
def test_age_at_from_birth_date(tmp_path, born, on, expected):
    assert feature_value(tmp_path, "age_at(day, day2)", day=born, day2=on) == expected


@pytest.mark.parametrize("person", [{}, {"id_number": "not an id"}, {"id_number": "张三"}])
def test_age_at_without_a_usable_id_is_missing(tmp_path, person):
    assert feature_value(tmp_path, "age_at(person.id_number, decision_date)", person=person) is None


@pytest.mark.parametrize("expression, fields, expected", [
    ("prefecture(s)", {"s": "330106"}, "330100"),     # a district of Hangzhou
    ("prefecture(s)", {"s": "320583"}, "320500"),     # Kunshan, a county-level city of Suzhou
    ("prefecture(s)", {"s": "330100"}, "330100"),
    ("prefecture(s)", {"s": "110105"}, "110100"),     # municipalities are one city
    ("prefecture(s)", {"s": "500230"}, "500100"),     # Chongqing's counties too
    ("prefecture(s)", {"s": "429004"}, "429000"),     # a county-level city under the province
    ("prefecture(s)", {"s": "33010"}, None),
    ("prefecture(s)", {"s": "33O106"}, None),
    ("prefecture(s)", {"s": "33010²"}, None),
    ("prefecture(s)", {}, None),
    ("province(s)", {"s": "330106"}, "330000"),
    ("province(s)", {"s": "x"}, None),
    ("prefecture(resident_id_region(person.id_number))",
     {"person": {"id_number": "330106199005143571"}}, "330100"),
])
def test_administrative_codes(tmp_path, expression, fields, expected):
    assert feature_value(tmp_path, expression, **fields) == expected
