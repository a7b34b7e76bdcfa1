"""The People's Republic of China resident identity card number (GB 11643-1999): 6 digits of
region, 8 of birth date, 3 of sequence (odd for men, even for women) and an ISO 7064 MOD 11-2
check character."""
from __future__ import annotations

import datetime
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_ZERO_TOTAL = ord("0") * sum(_WEIGHTS)  # the weighted sum of 17 characters "0"


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    total = sum(map(mul, map(int, first17[:17]), _WEIGHTS))
    return _CHECK_CHARACTERS[total % 11]


def compose(region6: str, born: datetime.date, sequence: int) -> str:
    """A well-formed 18-character number: region, birth date, three-digit sequence (odd for men)
    and the check character."""
    first17 = f"{region6}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _digits(text: str) -> bool:
    """ASCII digits only (str.isdigit also accepts characters such as '²' that int() rejects)."""
    return text.isascii() and text.isdigit()


# A decision reads the birth date of one number several times (the age, whether the number is
# valid, the date itself): the last answer is kept. One tuple, replaced whole: threads that
# share it see either answer, both right.
_last_birth: tuple[str | None, datetime.date | None] = (None, None)


def birth_date(number: str | None) -> datetime.date | None:
    """The birth date encoded in an 18-character number, or None if it is not one."""
    global _last_birth
    if number is None:
        return None
    last = _last_birth
    if number == last[0]:
        return last[1]
    born = None
    if len(number) == 18 and _digits(number[:17]):
        try:
            born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            pass
    _last_birth = (number, born)
    return born


def is_valid(number: str | None) -> bool | None:
    """Whether the number has the right shape, a real birth date and the right check character.
    None (missing) when no number was given."""
    if number is None:
        return None
    if birth_date(number) is None:  # not 18 characters, not 17 digits, or no real date
        return False
    # 17 ASCII digits (birth_date saw to it): their bytes less 48 each are the digits
    total = sum(map(mul, number[:17].encode("ascii"), _WEIGHTS)) - _ZERO_TOTAL
    return number[17].upper() == _CHECK_CHARACTERS[total % 11]


def gender(number: str | None) -> str | None:
    """MALE or FEMALE from the sequence digit, or None if the number is not well formed."""
    if birth_date(number) is None:
        return None
    return "MALE" if int(number[16]) % 2 else "FEMALE"


def region(number: str | None) -> str | None:
    """The six-digit region code of registration (GB/T 2260), or None."""
    if number is None or len(number) != 18 or not _digits(number[:6]):
        return None
    return number[:6]


def full_years(born: datetime.date, on: datetime.date) -> int:
    """Age in completed years on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
