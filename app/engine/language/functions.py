"""The functions a rule author may call. Each has a type rule (checked at load time) and an
implementation that follows the missing-data rule: a missing argument gives a missing result,
except for exists, missing, coalesce, min and max, which exist to handle missing data."""
from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Callable

from ..types import (DATE, DATETIME, ENUM, LIST, STRING, TIME, T_BOOLEAN, T_DATE, T_DATETIME,
                     T_DECIMAL, T_INTEGER, T_STRING, T_TIME, Type, common_type)
from . import maths, regions, resident_id

T_GENDER = Type(ENUM, values=("MALE", "FEMALE"))


@dataclass(frozen=True)
class Function:
    """A callable of the language: `check(arg_types) -> result type or an error message`."""

    name: str
    signature: str
    check: Callable[[list[Type]], "Type | str"]
    implementation: Callable
    # True when the result may be missing although every argument is present (e.g. parsing an ID)
    may_be_missing: bool = False
    handles_missing: bool = False  # exists, missing, coalesce, min, max


def _arity(types: list[Type], count: int, signature: str) -> str | None:
    if len(types) != count:
        return f"takes {count} argument{'s' if count != 1 else ''}: {signature}"
    return None


def _expect(kinds_per_arg, signature, result):
    def check(arg_types: list[Type]):
        error = _arity(arg_types, len(kinds_per_arg), signature)
        if error:
            return error
        for position, (actual, kinds) in enumerate(zip(arg_types, kinds_per_arg), start=1):
            if actual.name not in kinds:
                return (f"argument {position} must be {' or '.join(kinds)}, not {actual}: "
                        f"{signature}")
        return result(arg_types) if callable(result) else result
    return check


# --- implementations ----------------------------------------------------------------------------
def _exists(x):
    return x is not None


def _missing(x):
    return x is None


def _coalesce(*args):
    for value in args:
        if value is not None:
            return value
    return None


def _min(*args):
    present = [a for a in args if a is not None]
    return min(present) if present else None


def _max(*args):
    present = [a for a in args if a is not None]
    return max(present) if present else None


def _abs(x):
    return None if x is None else abs(x)


_WHOLE = object()  # round(x) without digits: a whole number


def _round(x, digits=_WHOLE):
    """round(x) gives an integer, round(x, n) a decimal with at most n digits; halves go up
    (四舍五入), as customers and regulators expect."""
    if x is None or digits is None:
        return None
    value = Decimal(x)
    places = 0 if digits is _WHOLE else digits
    if places < -value.as_tuple().exponent:
        try:
            value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the precision holds: nothing to round
            pass
    if digits is _WHOLE:
        return x if isinstance(x, int) else int(value)
    return value


def _floor(x):
    if x is None:
        return None
    return x if isinstance(x, int) else int(x.to_integral_value(rounding=ROUND_FLOOR))


def _ceil(x):
    if x is None:
        return None
    return x if isinstance(x, int) else int(x.to_integral_value(rounding=ROUND_CEILING))


def _len(x):
    return None if x is None else len(x)


def _days_between(start, end):
    if start is None or end is None:
        return None
    return (end - start).days


def _months_between(start, end):
    """Whole months from start to end (negative when end is earlier)."""
    if start is None or end is None:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return months


def _date_add_months(day, months):
    if day is None or months is None:
        return None
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _age_at(born_or_id, on):
    if born_or_id is None or on is None:
        return None
    born = resident_id.birth_date(born_or_id) if isinstance(born_or_id, str) else born_or_id
    return None if born is None else resident_id.full_years(born, on)


# --- dates, times of day, durations -----------------------------------------------------------
def _date(value):
    """A date from ISO text ("2026-11-29"), or the calendar date of a date and time at its own
    offset; missing when the text is no date."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _datetime(value):
    """A date and time from ISO text with its offset ("2026-11-29T01:30:00+08:00"; Z is UTC);
    missing when the text is no such instant (one without an offset is none)."""
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _time(value):
    """A time of day from text ("05:00", "23:59:59"), or the time of day of a date and time at
    its own offset (what the applicant's clock showed)."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.time()
    try:
        moment = datetime.time.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is None else None


def _hour(value):
    return None if value is None else value.hour


def _minute(value):
    return None if value is None else value.minute


def _day_of_week(value):
    """1 for Monday to 7 for Sunday (ISO 8601, as Chinese calendars count 星期一 to 星期日)."""
    return None if value is None else value.isoweekday()


def _day_of_month(value):
    return None if value is None else value.day


def _month(value):
    return None if value is None else value.month


def _year(value):
    return None if value is None else value.year


def _between(unit_seconds):
    """Whole units from start to end, truncated toward zero (negative when end is earlier)."""
    def between(start, end):
        if start is None or end is None:
            return None
        seconds = (end - start) // datetime.timedelta(microseconds=1)
        whole = abs(seconds) // (unit_seconds * 1_000_000)
        return whole if seconds >= 0 else -whole
    return between


def _add_days(day, days):
    if day is None or days is None:
        return None
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return None


def _add_minutes(moment, minutes):
    if moment is None or minutes is None:
        return None
    try:
        return moment + datetime.timedelta(minutes=minutes)
    except OverflowError:
        return None


# --- text ---------------------------------------------------------------------------------------
def _affix(test):
    def check(text, affix):
        if text is None or affix is None:
            return None
        if isinstance(affix, (tuple, list, frozenset, set)):
            return any(test(text, a) for a in affix)
        return test(text, affix)
    return check


def _contains(container, part):
    """Text holds text, or a list holds an item."""
    if container is None or part is None:
        return None
    return part in container


def _text(method):
    def apply(text):
        return None if text is None else method(text)
    return apply


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _timestamp(value):
    """Whole seconds since 1970-01-01T00:00Z of an instant, a date (its midnight UTC) or ISO
    text of either; missing for text that is neither (an instant without an offset is none)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = _datetime(value) or _date(value)
        if value is None:
            return None
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    return (value - _EPOCH) // datetime.timedelta(seconds=1)


def _number(value):
    """A number from text ("12.50", " 3 ", "1e3"), exactly; missing when the text is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text_of(value):
    """A value as text: numbers in plain digits as exact as they are, true/false, ISO dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


# --- the 24-month repayment status of a credit report (人行征信 还款状态) --------------------------
# One character per month, oldest first: N normal, 1..7 overdue 1-30 ... 180+ days, B bad debt
# (呆账), D repaid by a guarantor (担保人代还), Z repaid with assets (以资抵债), C settled,
# G ended, * nothing due, / not yet open, # unknown.
_OVERDUE_LEVEL = {**{str(n): n for n in range(1, 8)}, "B": 7, "D": 7, "Z": 7}


# Each runs for every account of every decision: C-level string methods instead of a Python
# loop per character (tests/engine/language/test_dates_text.py checks them against the loops).
_OVERDUE_DROPPED = str.maketrans("", "", "".join(_OVERDUE_LEVEL))
_OVERDUE_RUN = re.compile("[" + "".join(_OVERDUE_LEVEL) + "]+")
_OVERDUE_CHARACTERS = frozenset(_OVERDUE_LEVEL)


def _overdue_months(status):
    """Months with an overdue (or worse) status: 累计逾期月数."""
    if status is None:
        return None
    return len(status) - len(status.translate(_OVERDUE_DROPPED))


def _max_overdue_run(status):
    """The longest run of consecutive overdue months: 连续逾期月数."""
    if status is None:
        return None
    return max(map(len, _OVERDUE_RUN.findall(status)), default=0)


def _worst_status(status):
    """The worst month: 0 (never overdue) to 7 (180+ days, or bad debt, guarantor or asset
    repayment)."""
    if status is None:
        return None
    found = _OVERDUE_CHARACTERS.intersection(status)
    return max(map(_OVERDUE_LEVEL.__getitem__, found)) if found else 0


def _months_since_overdue(status):
    """Months from the last overdue month to the newest (0: the newest month is overdue);
    missing when no month is."""
    if status is None:
        return None
    for back, ch in enumerate(reversed(status)):
        if ch in _OVERDUE_LEVEL:
            return back
    return None


def _distinct(items):
    """The items without repeats, first occurrences in order."""
    if items is None:
        return None
    return tuple(dict.fromkeys(items))


# --- type rules ---------------------------------------------------------------------------------
def _same_as_first(types):
    return types[0]


def _combined(signature):
    def check(types):
        if not types:
            return f"needs at least one argument: {signature}"
        result = types[0]
        for other in types[1:]:
            result = common_type(result, other)
            if result is None:
                return f"arguments must all be numbers, or all dates, or all text: {signature}"
        if result.name not in ("integer", "decimal", DATE) and signature.startswith(("min", "max")):
            return f"arguments must be numbers or dates: {signature}"
        return result
    return check


def _coalesce_check(types):
    if len(types) < 2:
        return "needs at least two arguments: coalesce(value, default)"
    return _combined("coalesce(value, default, ...)")(types)


def _round_check(types):
    if len(types) not in (1, 2):
        return "takes 1 or 2 arguments: round(number, digits)"
    if not types[0].numeric or (len(types) == 2 and types[1].name != "integer"):
        return "round(number, digits) needs a number and a whole number of digits"
    return T_DECIMAL if len(types) == 2 else T_INTEGER


def _date_check(types):
    if len(types) != 1 or types[0].name not in (STRING, DATETIME, DATE):
        return "takes text or a date and time: date(\"2026-11-29\")"
    return T_DATE


def _time_check(types):
    if len(types) != 1 or types[0].name not in (STRING, DATETIME, TIME):
        return "takes text or a date and time: time(\"05:00\"), time(application.submitted_at)"
    return T_TIME


def _affix_check(signature):
    def check(types):
        error = _arity(types, 2, signature)
        if error:
            return error
        text, affix = types
        if not text.textual or not (affix.textual or (affix.name == LIST and affix.item
                                                     and affix.item.textual)):
            return f"needs text, and text or a list of text: {signature}"
        return T_BOOLEAN
    return check


def _contains_check(types):
    error = _arity(types, 2, "contains(text or list, part or item)")
    if error:
        return error
    container, part = types
    if container.textual and part.textual:
        return T_BOOLEAN
    if container.name == LIST and container.item is not None and (
            common_type(container.item, part) is not None):
        return T_BOOLEAN
    return f"looks for {part} in {container}: contains(text, part) or contains(list, item)"


WHEN = (DATE, DATETIME)
NUM = ("integer", "decimal")
FUNCTIONS: dict[str, Function] = {f.name: f for f in [
    Function("exists", "exists(value)", lambda t: _arity(t, 1, "exists(value)") or T_BOOLEAN,
             _exists, handles_missing=True),
    Function("missing", "missing(value)", lambda t: _arity(t, 1, "missing(value)") or T_BOOLEAN,
             _missing, handles_missing=True),
    Function("coalesce", "coalesce(value, default)", _coalesce_check, _coalesce,
             handles_missing=True),
    Function("min", "min(a, b, ...)", _combined("min(a, b, ...)"), _min, handles_missing=True),
    Function("max", "max(a, b, ...)", _combined("max(a, b, ...)"), _max, handles_missing=True),
    Function("abs", "abs(number)", _expect([NUM], "abs(number)", _same_as_first), _abs),
    Function("round", "round(number, digits)", _round_check, _round),
    Function("floor", "floor(number)", _expect([NUM], "floor(number)", T_INTEGER), _floor),
    Function("ceil", "ceil(number)", _expect([NUM], "ceil(number)", T_INTEGER), _ceil),
    Function("len", "len(text or list)", _expect([(STRING, ENUM, LIST)], "len(text or list)",
                                                 T_INTEGER), _len),
    Function("days_between", "days_between(start_date, end_date)",
             _expect([(DATE,), (DATE,)], "days_between(start_date, end_date)", T_INTEGER),
             _days_between),
    Function("months_between", "months_between(start_date, end_date)",
             _expect([(DATE,), (DATE,)], "months_between(start_date, end_date)", T_INTEGER),
             _months_between),
    Function("date_add_months", "date_add_months(date, months)",
             _expect([(DATE,), ("integer",)], "date_add_months(date, months)", T_DATE),
             _date_add_months, may_be_missing=True),
    Function("resident_id_valid", "resident_id_valid(id_number)",
             _expect([(STRING,)], "resident_id_valid(id_number)", T_BOOLEAN),
             resident_id.is_valid),
    Function("resident_id_birth_date", "resident_id_birth_date(id_number)",
             _expect([(STRING,)], "resident_id_birth_date(id_number)", T_DATE),
             resident_id.birth_date, may_be_missing=True),
    Function("resident_id_gender", "resident_id_gender(id_number)",
             _expect([(STRING,)], "resident_id_gender(id_number)", T_GENDER),
             resident_id.gender, may_be_missing=True),
    Function("resident_id_region", "resident_id_region(id_number)",
             _expect([(STRING,)], "resident_id_region(id_number)", T_STRING),
             resident_id.region, may_be_missing=True),
    Function("prefecture", "prefecture(region_code)",
             _expect([(STRING,)], "prefecture(region_code)", T_STRING), regions.prefecture,
             may_be_missing=True),
    Function("province", "province(region_code)",
             _expect([(STRING,)], "province(region_code)", T_STRING), regions.province,
             may_be_missing=True),
    Function("date", "date(text or datetime)", _date_check, _date, may_be_missing=True),
    Function("datetime", "datetime(text)", _expect([(STRING,)], "datetime(text)", T_DATETIME),
             _datetime, may_be_missing=True),
    Function("time", "time(text or datetime)", _time_check, _time, may_be_missing=True),
    Function("hour", "hour(datetime or time)",
             _expect([(DATETIME, TIME)], "hour(datetime or time)", T_INTEGER), _hour),
    Function("minute", "minute(datetime or time)",
             _expect([(DATETIME, TIME)], "minute(datetime or time)", T_INTEGER), _minute),
    Function("day_of_week", "day_of_week(date or datetime)",
             _expect([WHEN], "day_of_week(date or datetime)", T_INTEGER), _day_of_week),
    Function("day_of_month", "day_of_month(date or datetime)",
             _expect([WHEN], "day_of_month(date or datetime)", T_INTEGER), _day_of_month),
    Function("month", "month(date or datetime)",
             _expect([WHEN], "month(date or datetime)", T_INTEGER), _month),
    Function("year", "year(date or datetime)",
             _expect([WHEN], "year(date or datetime)", T_INTEGER), _year),
    Function("seconds_between", "seconds_between(start, end)",
             _expect([(DATETIME,), (DATETIME,)], "seconds_between(start, end)", T_INTEGER),
             _between(1)),
    Function("minutes_between", "minutes_between(start, end)",
             _expect([(DATETIME,), (DATETIME,)], "minutes_between(start, end)", T_INTEGER),
             _between(60)),
    Function("hours_between", "hours_between(start, end)",
             _expect([(DATETIME,), (DATETIME,)], "hours_between(start, end)", T_INTEGER),
             _between(3600)),
    Function("date_add_days", "date_add_days(date, days)",
             _expect([(DATE,), ("integer",)], "date_add_days(date, days)", T_DATE),
             _add_days, may_be_missing=True),
    Function("add_minutes", "add_minutes(datetime, minutes)",
             _expect([(DATETIME,), ("integer",)], "add_minutes(datetime, minutes)", T_DATETIME),
             _add_minutes, may_be_missing=True),
    Function("timestamp", "timestamp(datetime, date or text)",
             _expect([(DATETIME, DATE, STRING)], "timestamp(datetime, date or text)", T_INTEGER),
             _timestamp, may_be_missing=True),
    Function("number", "number(text)", _expect([(STRING, "integer", "decimal")], "number(text)",
                                                T_DECIMAL), _number, may_be_missing=True),
    Function("text", "text(value)", _expect([(STRING, ENUM, "integer", "decimal", "boolean", DATE,
                                               DATETIME, TIME)], "text(value)", T_STRING),
             _text_of),
    Function("starts_with", "starts_with(text, prefix or list of prefixes)",
             _affix_check("starts_with(text, prefix or list of prefixes)"),
             _affix(str.startswith)),
    Function("ends_with", "ends_with(text, suffix or list of suffixes)",
             _affix_check("ends_with(text, suffix or list of suffixes)"), _affix(str.endswith)),
    Function("contains", "contains(text or list, part or item)", _contains_check, _contains),
    Function("lower", "lower(text)", _expect([(STRING, ENUM)], "lower(text)", T_STRING),
             _text(str.lower)),
    Function("upper", "upper(text)", _expect([(STRING, ENUM)], "upper(text)", T_STRING),
             _text(str.upper)),
    Function("trim", "trim(text)", _expect([(STRING, ENUM)], "trim(text)", T_STRING),
             _text(str.strip)),
    Function("distinct", "distinct(list)", _expect([(LIST,)], "distinct(list)", _same_as_first),
             _distinct),
    Function("overdue_months", "overdue_months(status_24m)",
             _expect([(STRING,)], "overdue_months(status_24m)", T_INTEGER), _overdue_months),
    Function("max_overdue_run", "max_overdue_run(status_24m)",
             _expect([(STRING,)], "max_overdue_run(status_24m)", T_INTEGER), _max_overdue_run),
    Function("worst_status", "worst_status(status_24m)",
             _expect([(STRING,)], "worst_status(status_24m)", T_INTEGER), _worst_status),
    Function("last_overdue_months_ago", "last_overdue_months_ago(status_24m)",
             _expect([(STRING,)], "last_overdue_months_ago(status_24m)", T_INTEGER),
             _months_since_overdue, may_be_missing=True),
    Function("age_at", "age_at(id_number or birth_date, on_date)",
             _expect([(STRING, DATE), (DATE,)], "age_at(id_number or birth_date, on_date)",
                     T_INTEGER), _age_at, may_be_missing=True),
]}

# Reserved so that a rule author who writes them gets a clear message rather than "unknown".
UNSUPPORTED_BUILTINS = {"eval", "exec", "open", "getattr", "setattr", "__import__", "compile",
                        "globals", "locals", "vars", "input", "print", "type", "sorted"}

# Scorecard scaling: probabilities to points and back (language/maths.py).
FUNCTIONS.update({f.name: f for f in [
    Function("log", "log(number)", _expect([NUM], "log(number)", T_DECIMAL), maths.log,
             may_be_missing=True),
    Function("exp", "exp(number)", _expect([NUM], "exp(number)", T_DECIMAL), maths.exp,
             may_be_missing=True),
    Function("logistic", "logistic(log_odds)", _expect([NUM], "logistic(log_odds)", T_DECIMAL),
             maths.logistic),
]})
