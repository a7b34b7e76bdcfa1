"""Dates and times, times of day, days of the week, durations; text functions; null."""
from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InputError
from engine.support import INPUT, D, codes, date, load, make_policy, run, ruleset

SCHEMA = {**INPUT, "at": "datetime", "at2": "datetime", "clock": "time"}
CST = datetime.timezone(datetime.timedelta(hours=8))


def value(tmp_path, expression: str, lists=None, **fields):
    rules = {name: f"list: {name}\ntype: string\nvalues: {values!r}\n"
             for name, values in (lists or {}).items()}
    policy = make_policy(tmp_path, rules, features={"f": expression}, input=SCHEMA)
    return run(policy, fields).trace.values["f"]


@pytest.mark.parametrize("expression, fields, expected", [
    ("hour(at)", {"at": "2026-11-29T01:30:00+08:00"}, 1),
    ("hour(at)", {"at": "2026-11-28T17:30:00Z"}, 17),           # the offset it was sent with
    ("minute(at)", {"at": "2026-11-29T01:30:00+08:00"}, 30),
    ('time(at) < time("05:00")', {"at": "2026-11-29T04:59:59+08:00"}, True),
    ('time(at) < time("05:00")', {"at": "2026-11-29T05:00:00+08:00"}, False),
    ('time(at) < time("05:00")', {}, None),
    ('clock >= time("23:00")', {"clock": "23:30"}, True),
    ("day_of_week(at)", {"at": "2026-11-29T10:00:00+08:00"}, 7),  # a Sunday
    ("day_of_week(day)", {"day": "2026-11-30"}, 1),              # a Monday
    ("day_of_month(day)", {"day": "2026-11-30"}, 30),
    ("month(at)", {"at": "2026-11-29T10:00:00+08:00"}, 11),
    ("year(day)", {"day": "2024-02-29"}, 2024),
    ("date(at)", {"at": "2026-11-29T01:30:00+08:00"}, date("2026-11-29")),
    ('date("2026-02-30")', {}, "error"),
    ("date(s)", {"s": "2026-02-30"}, None),                      # no such day: missing
    ("date(s)", {"s": "2026-02-28"}, date("2026-02-28")),
    ("minutes_between(at, at2)", {"at": "2026-11-29T01:30:00+08:00",
                                  "at2": "2026-11-28T18:00:00Z"}, 30),
    ("hours_between(at, at2)", {"at": "2026-11-29T01:30:00+08:00",
                                "at2": "2026-11-29T00:00:00+08:00"}, -1),   # toward zero
    ("seconds_between(at, at2)", {"at": "2026-11-29T00:00:00+08:00",
                                  "at2": "2026-11-29T00:00:01.5+08:00"}, 1),
    ("at < at2", {"at": "2026-11-29T01:00:00+08:00", "at2": "2026-11-28T18:00:00Z"}, True),
    ("date_add_days(day, 3)", {"day": "2026-02-27"}, date("2026-03-02")),
    ("add_minutes(at, 90)", {"at": "2026-11-29T23:00:00+08:00"},
     datetime.datetime(2026, 11, 30, 0, 30, tzinfo=CST)),
    ('starts_with(s, "138")', {"s": "13800000000"}, True),
    ('starts_with(s, ["170", "171"])', {"s": "17100000000"}, True),
    ('starts_with(s, lists.virtual)', {"s": "16500000000"}, True),
    ('starts_with(s, lists.virtual)', {"s": "13800000000"}, False),
    ('ends_with(s, "X")', {"s": "11010519491231002X"}, True),
    ('contains(s, "逾期")', {"s": "有逾期记录"}, True),
    ('contains(tags, "x")', {"tags": ["y", "x"]}, True),
    ('"x" in s', {"s": "text"}, True),
    ("lower(s)", {"s": "AbC"}, "abc"),
    ("upper(e)", {"e": "RED"}, "RED"),
    ("trim(s)", {"s": "  a b  "}, "a b"),
    ("len(trim(s))", {"s": " 张三 "}, 2),
    ('"C" + s', {"s": "2111"}, "C2111"),
    ('"C" + s', {}, None),
    ('starts_with(s, "1")', {}, None),
    ("a if flag else null", {"a": 1, "flag": False}, None),
    ("a if flag else null", {"a": 1, "flag": True}, 1),
    ("coalesce(null, a)", {"a": 2}, 2),
    ('[s, "x"]', {"s": "y"}, ("y", "x")),
    ("number(s)", {"s": " 12.50 "}, D("12.50")),
    ("number(s)", {"s": "1e3"}, D("1e3")),
    ("number(s)", {"s": "twelve"}, None),
    ("number(s)", {"s": "NaN"}, None),
    ("text(d)", {"d": "12.50"}, "12.50"),
    ("text(a)", {"a": 7}, "7"),
    ("text(flag)", {"flag": True}, "true"),
    ("text(day)", {"day": "2026-11-29"}, "2026-11-29"),
    ('"rate " + text(d)', {}, None),
    ("overdue_months(s)", {"s": "NNN1N23NNNNNNNNNNNNBNNN/"}, 4),
    ("max_overdue_run(s)", {"s": "NNN1N23NNNNNNNNNNNNBNNN/"}, 2),
    ("max_overdue_run(s)", {"s": "NNNN"}, 0),
    ("worst_status(s)", {"s": "NNN1N23N"}, 3),
    ("worst_status(s)", {"s": "NNDN"}, 7),
    ("worst_status(s)", {"s": "//**CN"}, 0),
    ("last_overdue_months_ago(s)", {"s": "N1NNN"}, 3),
    ("last_overdue_months_ago(s)", {"s": "NNNN2"}, 0),
    ("last_overdue_months_ago(s)", {"s": "NNNN"}, None),
])
def test_dates_times_and_text(tmp_path, expression, fields, expected):
    lists = {"virtual": ["165", "170", "171"]}
    if expected == "error":
        result = load(tmp_path, features={"f": expression}, input=SCHEMA)
        assert "EXPR_CALL" in codes(result)
        return
    result = value(tmp_path, expression, lists, **fields)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("raw, field", [
    ({"at": "2026-11-29T01:30:00"}, "at"),      # no offset: which 01:30?
    ({"at": "tomorrow"}, "at"),
    ({"clock": "25:00"}, "clock"),
    ({"clock": 500}, "clock"),
])
def test_malformed_times_are_refused_by_path(tmp_path, raw, field):
    policy = make_policy(tmp_path, input=SCHEMA)
    with pytest.raises(InputError) as raised:
        policy.parse_input({"decision_date": "2026-11-28", **raw})
    assert list(raised.value.errors) == [field]


@pytest.mark.parametrize("expression, code", [
    ("hour(day)", "EXPR_CALL"),
    ('starts_with(s, 1)', "EXPR_CALL"),
    ('contains(nums, "x")', "EXPR_CALL"),
    ("at > day", "EXPR_TYPE"),
    ('"a" + 1', "EXPR_TYPE"),
    ('time("5 o\'clock")', "EXPR_CALL"),
])
def test_rejected(tmp_path, expression, code):
    assert code in codes(load(tmp_path, features={"f": expression}, input=SCHEMA))


def test_a_table_cell_tests_a_time_of_day(tmp_path):
    table = ("table: t\nhit_policy: first\ninputs: [night]\noutputs: {band: string}\nrows:\n"
             "  - {id: N, when: ['[00:00, 05:00)'], then: {band: NIGHT}}\n"
             "  - {id: D, when: ['-'], then: {band: DAY}}\n")
    policy = make_policy(tmp_path, {"t": table}, input=SCHEMA,
                         features={"night": "time(at)"}, stages=[{"id": "t", "table": "t"}])
    assert run(policy, {"at": "2026-11-29T04:00:00+08:00"}).trace.values["band"] == "NIGHT"
    assert run(policy, {"at": "2026-11-29T05:00:00+08:00"}).trace.values["band"] == "DAY"


def test_the_durable_engine_refuses_a_rule_over_times(tmp_path):
    rules = {"r": ruleset("r", [{"id": "Q", "when": "at > at2",
                                 "then": {"action": "DECLINE", "reason": "HIT"}}])}
    result = load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], input=SCHEMA,
                  extra={"engine": "durable"})
    assert "DURABLE_UNSUPPORTED" in codes(result)


@settings(max_examples=50, deadline=None)
@given(st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 1, 1),
                    timezones=st.sampled_from([datetime.timezone.utc, CST])),
       st.integers(min_value=-10**6, max_value=10**6))
def test_durations_agree_with_python(tmp_path_factory, moment, minutes):
    """minutes_between after add_minutes gives the minutes back; hour and day_of_week read the
    instant at its own offset."""
    root = tmp_path_factory.mktemp("times")
    policy = make_policy(root, input=SCHEMA, features={
        "later": f"add_minutes(at, {minutes})", "back": "minutes_between(at, later)",
        "h": "hour(at)", "dow": "day_of_week(at)"})
    values = run(policy, {"at": moment.isoformat()}).trace.values
    assert values["back"] == minutes
    assert values["h"] == moment.hour and values["dow"] == moment.isoweekday()


@pytest.mark.parametrize("expression, fields, expected", [
    ("timestamp(at)", {"at": "2025-08-19T16:55:02.078Z"}, 1755622502),
    ("timestamp(day)", {"day": "1970-01-02"}, 86400),
    ("timestamp(s)", {"s": "2025-03-20T10:30:00+08:00"}, 1742437800),
    ("timestamp(s)", {"s": "2025-03-20T10:30:00"}, None),   # no offset: which instant?
    ("timestamp(s)", {"s": "soon"}, None),
    ("distinct(tags)", {"tags": ["b", "a", "b"]}, ("b", "a")),
    ("len(distinct(tags))", {"tags": []}, 0),
])
def test_timestamps_and_distinct(tmp_path, expression, fields, expected):
    result = value(tmp_path, expression, **fields)
    assert result == expected and type(result) is type(expected)


# The repayment-status functions read each character through C-level string methods; these are
# the per-character definitions they must equal, on any text (not only what the pattern admits).
_LEVELS = {**{str(n): n for n in range(1, 8)}, "B": 7, "D": 7, "Z": 7}


def _months_by_loop(status):
    return sum(1 for ch in status if ch in _LEVELS)


def _run_by_loop(status):
    longest = run = 0
    for ch in status:
        run = run + 1 if ch in _LEVELS else 0
        longest = max(longest, run)
    return longest


def _worst_by_loop(status):
    return max((_LEVELS.get(ch, 0) for ch in status), default=0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("N1234567BDZCG*/#0789xé[]-^\\"), max_size=40) | st.text(max_size=40))
def test_repayment_status_functions_equal_their_per_character_definitions(status):
    from app.engine.language.functions import FUNCTIONS
    for name, loop in (("overdue_months", _months_by_loop), ("max_overdue_run", _run_by_loop),
                       ("worst_status", _worst_by_loop)):
        assert FUNCTIONS[name].implementation(status) == loop(status)
        assert FUNCTIONS[name].implementation(None) is None
