"""Personal data: the kinds a policy may declare and the one rule that masks them for display.

The engine masks personal data in traces and stored inputs with `mask`; the service uses the same
rule and the same kinds (it stores a keyed hash of the SEARCHABLE_KINDS to find an applicant's
decisions), so a value is never shown two different ways.
"""
from __future__ import annotations

# `line`: a credit line's id or an account number at the bank (授信编号、账号): it names one
# person's account, so it is personal data like a phone number (shown by its last four characters).
PII_KINDS = ("resident_id", "phone", "name", "birth_date", "bank_card", "line")
# The kinds the service keeps a keyed hash of, for look-ups.
SEARCHABLE_KINDS = ("resident_id", "phone", "line")


def mask(kind: str, value: str) -> str:
    """Mask personal data for display, always hiding at least one character:
    33**************71, 138****5678, 张*, ****-**-**, ********0042 (a line id or account
    number keeps its last four characters, as bank statements print them); anything not a known kind (such as a value
    derived from personal data): ****.

    A resident ID keeps its province and its last two characters only: with four digits at each end
    and the birth date beside it, the region list and the check digit left one candidate, the true
    number (docs/controls.md). A birth date keeps its shape and nothing else (the trace shows the
    age, a feature, instead)."""
    size = len(value)
    if kind == "birth_date":
        return "".join("*" if character.isdigit() else character for character in value)
    if kind == "resident_id":
        head, tail = (2, 2) if size > 8 else (1, 1) if size >= 3 else (0, 0)
    elif kind == "phone":
        head = 3 if size >= 11 else 1 if size >= 6 else 0
        tail = 4 if size >= 8 else 2 if size >= 4 else 0
    elif kind == "bank_card":  # 622202*********1234: the issuer and the last four
        head, tail = (6, 4) if size >= 14 else (0, 4) if size >= 8 else (0, 0)
    elif kind == "name":
        head, tail = (1, 0) if size >= 2 else (0, 0)
    elif kind == "line":
        head, tail = 0, 4 if size >= 8 else 1 if size >= 2 else 0
    else:
        return "****"
    return value[:head] + "*" * (size - head - tail) + value[size - tail:] if size else value
