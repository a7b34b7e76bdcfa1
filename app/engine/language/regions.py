"""Administrative division codes (GB/T 2260): six digits, two for the province, two for the
prefecture-level city, two for the district or county. A channel may send a district's code
(330106, Hangzhou's Xihu district) where the policy thinks in cities (330100)."""
from __future__ import annotations

# Municipalities (直辖市): every district and county belongs to the one city, coded xx0100.
MUNICIPALITIES = ("11", "12", "31", "50")


def _six_digits(code: str | None) -> bool:
    return code is not None and len(code) == 6 and code.isascii() and code.isdigit()


def prefecture(code: str | None) -> str | None:
    """The prefecture-level code of an administrative code: 330106 -> 330100, 320583 -> 320500,
    110105 -> 110100, 500230 -> 500100; None unless six ASCII digits."""
    if not _six_digits(code):
        return None
    if code[:2] in MUNICIPALITIES:
        return code[:2] + "0100"
    return code[:4] + "00"


def province(code: str | None) -> str | None:
    """The province-level code of an administrative code: 330106 -> 330000."""
    return code[:2] + "0000" if _six_digits(code) else None
