"""Errors as values: every problem the engine finds is a Diagnostic with a code, a message a policy
author can act on, and a location (file:line:column) where there is one."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A position in a policy file; line and column count from 1."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, line_offset: int, column: int) -> "Location":
        """The location of a position inside a text that starts here (1-based line offset)."""
        if line_offset <= 1:
            return Location(self.file, self.line, self.column + column)
        return Location(self.file, self.line + line_offset - 1, column + 1)


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a policy: `severity` is "error" (the policy cannot load) or "warning"."""

    code: str
    message: str
    location: Location | None = None
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity} {self.code} {self.message}"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
        }


class PolicyError(Exception):
    """A policy (or a set of policies) that cannot be loaded; carries every diagnostic found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


@dataclass
class InputError(Exception):
    """An input that does not fit the policy's input schema: messages keyed by field path."""

    errors: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"invalid input: {self.errors}"


class SharedValueError(ValueError):
    """A shared value handed to `Policy.decide` that its declaration refuses (a count that is not
    a whole number of at least 0, a list match that is not true or false): `name` is the
    declaration's, `message` says what was expected. A ValueError, as it always was."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name} {message}")
        self.name = name
        self.message = message


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest candidate by edit distance, or ''."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
