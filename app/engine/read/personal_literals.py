"""Personal data written into a rule file: a resident ID number, a mobile number or a bank card
number, as a value or inside an expression (`applicant.id_number == "1101..."`).

A rule file is stored in clear in every release and policy version, shown in the console and in
diffs, and kept in version control; and a rule naming one applicant bypasses the lists, whose
values are stored as keyed hashes and whose relaxing changes need a second person. So such a
literal is an error, reported masked, pointing at the lists. (Rule tests are not read here:
their synthetic applicants need numbers.)
"""
from __future__ import annotations

import re

from ..errors import Diagnostic
from ..language.resident_id import check_character
from ..privacy import mask
from ..source import Node

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")
_CARD = re.compile(r"(?<![0-9])([0-9]{16,19})(?![0-9])")


def _luhn(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _found(text: str) -> tuple[str, str] | None:
    """(kind, the value) of the first personal number in the text."""
    for match in _RESIDENT_ID.finditer(text):
        number = match.group(1)
        if check_character(number[:17]) == number[17].upper():
            return "resident_id", number
    for match in _MOBILE.finditer(text):
        return "phone", match.group(1)
    for match in _CARD.finditer(text):
        if _luhn(match.group(1)):
            return "bank_card", match.group(1)
    return None


_WORDS = {"resident_id": "a resident ID number", "phone": "a mobile number", "bank_card": "a bank card number"}


def personal_literals(root: Node, diagnostics: list[Diagnostic]) -> None:
    """Report every scalar of the file holding personal data (without recursion: the tree is
    bounded by source.MAX_NODES, not by the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node.value, dict):
            stack.extend(node.value.values())
            continue
        if isinstance(node.value, list):
            stack.extend(node.value)
            continue
        if not isinstance(node.value, str) or len(node.value) < 11:
            continue
        found = _found(node.value)
        if found is not None:
            kind, value = found
            diagnostics.append(Diagnostic(
                "PERSONAL_DATA", f"'{mask(kind, value)}' is {_WORDS[kind]}: personal data is never "
                "written in a rule file (every release stores it in clear); put it on a list "
                "(POST /v1/lists/<list>/entries or flask lists import: kept as a keyed hash) and "
                "test it with in_list(...)", node.location))
