"""The `pattern:` of an input field: checked when the policy loads, so that no channel input can
make checking it take long.

Python's `re` backtracks: a pattern such as ^(a+)+$ takes seconds on 26 characters and years on
a hundred (ReDoS), and each application sent runs it. Policy authors are not expected to know
which patterns do that, so the loader estimates, from the parsed pattern, how many ways the
matcher could try to split the longest text it will ever be given, and refuses a pattern past
MAX_WAYS with a message saying what to write instead. The estimate is an upper bound:

- a sequence multiplies the ways of its parts, alternatives add theirs;
- a repetition of something of fixed width that has one way to match (a character, a class,
  a fixed group) has one way per count it may take: [0-9]{12,19} has 8;
- a repetition of anything else (a variable repetition, alternatives) may split the text anew
  at every count: the ways of its body, times its width's slack, to the power of the count.

The text a pattern checks is never longer than the pattern can match (its widest match), nor
than the field's max_length (validation.py skips the pattern past it); one of the two must be
finite. Back references and look-arounds are refused: no field format needs them.
"""
from __future__ import annotations

import re
from re import _constants as constants  # type: ignore[attr-defined]
from re import _parser as parser  # type: ignore[attr-defined]

MAX_PATTERN_CHARACTERS = 1000
MAX_WAYS = 1_000_000
_UNBOUNDED = constants.MAXREPEAT
_SIMPLE = {constants.LITERAL, constants.NOT_LITERAL, constants.ANY, constants.IN, constants.AT,
           constants.CATEGORY}
_REPEATS = {constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)}
_ATOMIC = getattr(constants, "ATOMIC_GROUP", None)
_REFUSED = {
    constants.GROUPREF: "a back reference (\\1)",
    constants.GROUPREF_EXISTS: "a conditional group",
    constants.ASSERT: "a look-ahead or look-behind",
    constants.ASSERT_NOT: "a negative look-ahead or look-behind",
}


def anchored(pattern: str) -> str:
    """The pattern as validation runs it: the whole value must match (re.match anchors the start;
    \\Z the end, where '$' would also accept a trailing newline)."""
    return f"(?:{pattern})\\Z"


def pattern_problem(pattern: str, max_length: int | None) -> str | None:
    """Why the pattern cannot be a field's pattern (None: it can), in words for its author."""
    if len(pattern) > MAX_PATTERN_CHARACTERS:
        return f"the pattern has {len(pattern)} characters; a pattern may have at most {MAX_PATTERN_CHARACTERS}"
    try:
        parsed = parser.parse(pattern)
    except re.error as error:
        where = f" at character {error.pos + 1}" if error.pos is not None else ""
        return f"'{pattern}' is not a valid pattern: {error.msg}{where}"
    except RecursionError:
        return "the pattern nests groups too deeply"
    try:
        re.compile(anchored(pattern))
    except re.error as error:
        if "global flags" in error.msg:
            return (f"'{pattern}': a flag such as (?i) must apply to a group: write (?i:...) "
                    "around the part it applies to")
        return f"'{pattern}' is not a valid pattern: {error.msg}"
    widest = parsed.getwidth()[1]
    longest = min(n for n in (max_length, None if widest >= _UNBOUNDED else widest) if n is not None) \
        if max_length is not None or widest < _UNBOUNDED else None
    if longest is None:
        return (f"'{pattern}' matches text of any length: give the field a max_length (the "
                "longest value it may have), or bound the repetitions ({4,32} rather than +)")
    try:
        refused, ways = _ways(parsed, longest)
    except RecursionError:
        return "the pattern nests groups too deeply"
    if refused:
        return f"'{pattern}' uses {refused}, which field patterns do not support"
    if ways > MAX_WAYS:
        return (f"'{pattern}' could take very long to check on some texts of up to {longest} "
                "characters (a repetition inside a repetition, alternatives repeated, or several "
                "repetitions of the same characters in a row): repeat single characters or classes "
                "([0-9]{4,8}, [A-Z0-9]+), not groups that can themselves vary, and give max_length")
    return None


def _ways(items, longest: int) -> tuple[str | None, int]:
    """(what is refused, or None; the bound on the ways of matching the sequence `items`)."""
    total = 1
    for op, argument in items:
        if op in _REFUSED:
            return _REFUSED[op], 0
        if op in _SIMPLE:
            ways = 1
        elif op == constants.SUBPATTERN:
            refused, ways = _ways(argument[-1], longest)
            if refused:
                return refused, 0
        elif op == _ATOMIC:
            refused, ways = _ways(argument, longest)
            if refused:
                return refused, 0
        elif op == constants.BRANCH:
            ways = 0
            for alternative in argument[1]:
                refused, one = _ways(alternative, longest)
                if refused:
                    return refused, 0
                ways += one
        elif op in _REPEATS:
            low, high, body = argument
            refused, inner = _ways(body, longest)
            if refused:
                return refused, 0
            narrow, wide = body.getwidth()
            most = min(high, longest // narrow if narrow else longest, longest)
            counts = max(most - low + 1, 1)
            if inner == 1 and narrow == wide:
                ways = counts
            else:
                slack = min(wide, longest) - narrow + 1
                ways = counts * _capped_power(inner * slack, most)
        else:  # an operator this reading does not know: assume the worst
            return f"the construct {op}", 0
        total = min(total * ways, MAX_WAYS + 1)
    return None, total


def _capped_power(base: int, exponent: int) -> int:
    """base ** exponent, or MAX_WAYS + 1 when larger (never computing a huge number)."""
    if base <= 1:
        return base if exponent else 1
    result = 1
    for _ in range(exponent):
        result *= base
        if result > MAX_WAYS:
            return MAX_WAYS + 1
    return result
