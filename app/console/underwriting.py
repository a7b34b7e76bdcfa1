"""The underwriting queue's close form: an underwriter closes a REFER with the final outcome, limit,
reason codes and comment, through the same use case as `POST /v1/decisions/<id>/review`
(app/services/reviews.py), which checks the review, stores it in the chained reviews log and
records it in the access audit. What that use case refuses, the form shows beside the field."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.console.access import principal, request_id
from app.extensions import services
from app.services.accounts import Person
from app.services.errors import Conflict, InvalidInput
from app.services.reviews import CLOSING_OUTCOMES, UNDERWRITERS, Review

# The API's bounds on a review body (app/api/schemas.py ReviewBody): the form takes no more.
MOST_REASONS = 20
REASON_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
LARGEST_LIMIT = 10**12


def reason_codes(text: str | None) -> list[str]:
    """Reason codes as typed: separated by commas, semicolons or spaces, each kept once, in order."""
    return list(dict.fromkeys(code for code in re.split(r"[\s,;，；、]+", text or "") if code))


def _valid_codes(_form: FlaskForm, field_: StringField) -> None:
    codes = reason_codes(field_.data)
    if len(codes) > MOST_REASONS:
        raise ValidationError(f"at most {MOST_REASONS} reason codes")
    bad = [code for code in codes if not REASON_CODE.match(code)]
    if bad:
        raise ValidationError(f"not a reason code: {', '.join(bad[:3])} (letters, digits, _ . - only)")


class ReviewForm(FlaskForm):
    """An underwriter's final decision on a referred application."""

    outcome = SelectField(choices=list(CLOSING_OUTCOMES),
                          validators=[DataRequired()])
    limit = IntegerField(validators=[Optional(), NumberRange(min=1, max=LARGEST_LIMIT)])
    reason_codes = StringField(validators=[Length(max=MOST_REASONS * 101), _valid_codes])
    comment = TextAreaField(validators=[Length(max=4000)])


@dataclass
class Refused:
    """Why the review was not stored: a conflict with the stored record, or fields to correct."""

    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)


def closing_review(decision: dict[str, Any]) -> dict[str, Any] | None:
    """The review that closed this decision, if one did."""
    return next((note for note in decision.get("reviews", []) if note.get("kind") == "review"), None)


def may_close(person: Person | None, decision: dict[str, Any]) -> bool:
    """Whether the page offers the close form: an underwriter, a REFER still waiting, an intact row."""
    return (person is not None and person.role in UNDERWRITERS and decision.get("outcome") == "REFER"
            and (decision.get("record") or {}).get("intact", False) and closing_review(decision) is None)


def close(decision_id: str, form: ReviewForm) -> Refused | None:
    """Store the review the form holds (None), or say why not."""
    if not form.validate():
        return Refused("invalid_review", "", {name: list(errors) for name, errors in form.errors.items()})
    review = Review(outcome=form.outcome.data, limit=form.limit.data,
                    reason_codes=tuple(reason_codes(form.reason_codes.data)), comment=form.comment.data or "")
    try:
        services().reviews.close_referral(decision_id, review, principal(), request_id())
    except InvalidInput as error:
        return Refused(error.code, error.message, dict(error.details or {}))
    except Conflict as error:
        return Refused(error.code, error.message)
    return None
