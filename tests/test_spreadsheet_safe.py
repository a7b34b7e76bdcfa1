"""files.spreadsheet_safe: a CSV cell never reaches a spreadsheet as a formula, and nothing else
changes."""
from hypothesis import given, strategies as st

from app.files import spreadsheet_safe

STARTS = st.sampled_from(["=", "+", "-", "@", "\t", "\r", "", "a", "1", "'"])


@given(STARTS, st.text(max_size=30))
def test_text_that_would_be_a_formula_is_quoted_and_nothing_else_changes(start, rest):
    cell = start + rest
    safe = spreadsheet_safe(cell)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r")) or _number(cell)
    assert safe == cell or safe == "'" + cell


@given(st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False)))
def test_numbers_stay_numbers(number):
    assert spreadsheet_safe(number) == number
    assert spreadsheet_safe(str(number)) == str(number) or "inf" in str(number).lower()


def _number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
