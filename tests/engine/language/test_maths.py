"""log, exp and logistic: decimals at 28 digits, missing outside their domain; hypothesis checks
they invert each other and agree with the closed forms in floating point."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.language import maths
from engine.support import D, feature_value


@pytest.mark.parametrize("expression, fields, expected", [
    ("log(a)", {"a": 1}, D(0)),
    ("log(a)", {"a": 0}, None),                 # outside the domain: missing, not an error
    ("log(d)", {"d": "-0.5"}, None),
    ("log(a)", {}, None),
    ("exp(a)", {"a": 0}, D(1)),
    ("exp(a)", {}, None),
    ("logistic(a)", {"a": 0}, D("0.5")),
    ("logistic(a)", {}, None),
    ("round(log(a) / log(2), 6)", {"a": 1024}, D("10.000000")),
    ("round(logistic(log(d / (1 - d))), 20)", {"d": "0.08"}, D("0.08000000000000000000")),
])
def test_maths_functions_in_features(tmp_path, expression, fields, expected):
    assert feature_value(tmp_path, expression, **fields) == expected


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("-50"), max_value=Decimal("50"), places=6))
def test_log_inverts_exp_and_logistic_matches_the_closed_form(x):
    assert abs(maths.log(maths.exp(x)) - x) < Decimal("1e-20")
    assert math.isclose(float(maths.logistic(x)), 1 / (1 + math.exp(-float(x))), rel_tol=1e-12,
                        abs_tol=1e-300)


def test_logistic_far_out_is_its_limit_not_an_error():
    assert maths.logistic(-10**7) == 0 and maths.logistic(10**7) == 1
    assert maths.exp(10**7) is None
