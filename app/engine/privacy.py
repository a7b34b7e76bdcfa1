"""Personal data: the kinds a policy may declare and the one rule that masks them for display.

The engine masks personal data in traces and stored inputs with `mask`; the service uses the same
rule and the same kinds (it stores a keyed hash of the SEARCHABLE_KINDS to find an applicant's
decisions), so a value is never shown two different ways.
"""
from __future__ import annotations

import re
import unicodedata

from .language.resident_id import check_character

# `line`: a credit line's id or an account number at the bank (授信编号、账号): it names one
# person's account, so it is personal data like a phone number (shown by its last four characters).
PII_KINDS = ("resident_id", "phone", "name", "birth_date", "bank_card", "line")
# The kinds the service keeps a keyed hash of, for look-ups.
SEARCHABLE_KINDS = ("resident_id", "phone", "line")


def mask(kind: str, value: str) -> str:
    """Mask personal data for display, always hiding at least one character:
    33**************71, 138****5678, 张*, ****-**-**, ********0042 (a line id or account
    number keeps its last four characters, as bank statements print them); anything not a known kind (such as a value
    derived from personal data): ****. A free text (kind TEXT) keeps its words and shows each
    personal number typed inside it masked by the rule of its kind (`redact`).

    A resident ID keeps its province and its last two characters only: with four digits at each end
    and the birth date beside it, the region list and the check digit left one candidate, the true
    number (docs/controls.md). A birth date keeps its shape and nothing else (the trace shows the
    age, a feature, instead)."""
    size = len(value)
    if kind == TEXT:
        return redact(value)
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


# --- Personal data typed inside free text ------------------------------------------------------
# A free-text field (a string with no `pii:` kind and no restrictive pattern: an employer's name, a
# device id, a note) is not personal data by declaration, yet a channel may fill it with some: a
# resident ID, a mobile or a bank card number typed into `employment.employer_name`. What is
# stored and shown of such a field has these numbers masked by the rule of their kind (`redact`);
# the engine still reads the field as sent. Digits are read as app/privacy.py's normalise reads
# them (NFKC: full-width ０-９ are 0-9; characters that show nothing are skipped), and a number may
# be written in groups (138 1234 5678, 6222-0212-3456-7890, full-width spaces and dashes too).

TEXT = "text"   # the kind a stored copy gives a free-text value that held personal data (mask: redact)

_MAX_GAP = 3    # separator characters allowed between two groups of one number
_SEPARATORS = frozenset(" -._/\u2010\u2011\u2012\u2013\u2014\u2015\u2212")  # after NFKC (no white space)
_INVISIBLE = frozenset({"Cc", "Cf"})
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
                     (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF))


def _character_class(character: str) -> tuple[str, str]:
    """('d', digits) | ('x', 'X') | ('s', '') separator | ('t', '') shows nothing | ('o', '') other."""
    if "0" <= character <= "9":
        return "d", character
    if character.isascii():
        if character in "xX":
            return "x", "X"
        if character in _SEPARATORS or character.isspace():
            return "s", ""
        return ("o", "") if character.isprintable() else ("t", "")
    category = unicodedata.category(character)
    code = ord(character)
    if category in _INVISIBLE or any(low <= code <= high for low, high in _IGNORABLE_RANGES):
        return "t", ""
    folded = unicodedata.normalize("NFKC", character)
    if folded and folded.isascii() and folded.isdigit():
        return "d", folded
    if folded in ("x", "X"):
        return "x", "X"
    if folded and (folded.isspace() or all(c in _SEPARATORS for c in folded)):
        return "s", ""
    return "o", ""


def _digit_count(text: str) -> int:
    """How many digits the text holds as normalise reads it (an upper bound is enough)."""
    if text.isascii():
        return sum(1 for c in text if "0" <= c <= "9")
    folded = unicodedata.normalize("NFKC", text)
    return sum(1 for c in folded if "0" <= c <= "9")


def resident_id_valid(number: str) -> bool:
    """An 18-character resident ID whose check character is right (GB 11643)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return check_character(number[:17]) == number[17].upper()


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn check (bank card numbers do)."""
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _kind_of(number: str) -> str | None:
    """The kind of personal number a run of digits (an 18-character ID may end in X) is, or None."""
    size = len(number)
    if size == 18 and (number.endswith("X") or resident_id_valid(number)):
        return "resident_id"
    if not number.isdigit():
        return None
    if size == 15 and "01" <= number[8:10] <= "12" and "01" <= number[10:12] <= "31":
        return "resident_id"   # a first-generation ID: area, YYMMDD, sequence
    if 13 <= size <= 19 and luhn_valid(number):
        return "bank_card"
    if size == 11 and number[0] == "1" and number[1] in "3456789":
        return "phone"
    return None


class _Classes(dict):
    """str.translate's table from a character to its class: a digit to the ASCII digit, an X to X,
    a separator to '-', a character that shows nothing to '~', any other to '#' (filled in as
    characters are met, so that a text is classed in C)."""

    def __missing__(self, code: int) -> str:
        kind, digits = _character_class(chr(code))
        shown = {"d": digits if len(digits) == 1 else "#", "x": "X", "s": "-", "t": "~"}.get(kind, "#")
        self[code] = shown
        return shown


_CLASSES = _Classes()
_RUN = re.compile(r"[0-9]+X?(?:-{1,%d}(?:[0-9]+X?|X))*" % _MAX_GAP)   # groups of one number
_GROUP = re.compile(r"[0-9]+X?|X")
MAX_GROUPS = 40   # a run of more groups is digit soup: its digits are masked whole


def embedded(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, number) of every resident ID, mainland mobile and bank card number typed
    inside a text: a run of digits (in groups split by up to three spaces, dashes or dots) that is
    an 18-character ID with its check character right or 17 digits and X, a 15-digit old ID, 13 to
    19 digits passing the Luhn check, or a mobile (1[3-9] and 9 digits). A number is a whole run of
    digits, never part of a longer one (the middle of a 20-digit reference is no mobile), but a
    run split by separators is tried group by group too ("0 13812345678" still shows a mobile).
    A run of more than MAX_GROUPS groups is given whole (kind "digits", masked ****). Linear in
    the text: it is classed by str.translate and cut into runs by a regular expression."""
    if len(text) < 11 or _digit_count(text) < 11:
        return []
    if len(_CLASSES) > 20_000:            # the characters met so far: bounded
        _CLASSES.clear()
    classes = text.translate(_CLASSES)
    positions = None                      # where each kept class is in the text
    if "~" in classes:                    # characters that show nothing are not there
        positions = [index for index, shown in enumerate(classes) if shown != "~"]
        classes = classes.replace("~", "")
    found: list[tuple[int, int, str, str]] = []
    for run in _RUN.finditer(classes):
        if run.end() - run.start() < 11:
            continue
        groups = [(g.start(), g.end(), g.group()) for g in _GROUP.finditer(classes, run.start(), run.end())]
        if len(groups) > MAX_GROUPS:
            found.append((run.start(), run.end(), "digits", "".join(g[2] for g in groups)))
        else:
            found.extend(_numbers(groups))
    if positions is not None:
        found = [(positions[start], positions[end - 1] + 1, kind, number) for start, end, kind, number in found]
    return found


def _numbers(groups: list[tuple[int, int, str]]) -> list[tuple[int, int, str, str]]:
    """The personal numbers of one run of groups: from each group on, the longest whole groups
    that make one (an X only at the end), the search going on after it."""
    found = []
    index = 0
    while index < len(groups):
        best, number = None, ""
        for last in range(index, min(len(groups), index + 19)):
            if groups[last][2] == "X" and last == index:
                break
            if last > index and groups[last - 1][2].endswith("X"):
                break
            number += groups[last][2]
            if len(number) > 20:
                break
            candidate, end = number, groups[last][1]
            kind = _kind_of(candidate)
            if kind is None and candidate.endswith("X"):   # an X after a mobile or a card is a letter
                candidate = candidate[:-1]
                kind = _kind_of(candidate)
                end = groups[last - 1][1] if groups[last][2] == "X" else end - 1
            if kind is not None:
                best = (groups[index][0], end, kind, candidate, last)
        if best is None:
            index += 1
            continue
        found.append(best[:4])
        index = best[4] + 1
    return found


def redact(text: str) -> str:
    """A free text with every personal number typed inside it masked by the rule of its kind
    (`embedded` says which); the text itself when it holds none."""
    found = embedded(text)
    if not found:
        return text
    parts, position = [], 0
    for start, end, kind, number in found:
        parts.append(text[position:start])
        parts.append(mask(kind, number))
        position = end
    parts.append(text[position:])
    return "".join(parts)
