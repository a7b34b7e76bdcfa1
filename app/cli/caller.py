"""Who runs a command that acts for a person: the API key given (--key, or FIREFLY_API_KEY), so
that roles, maker-checker and the access log apply from the shell as through the API."""
from __future__ import annotations

import click

from app.extensions import services
from app.services.access import Principal

KEY_HELP = "your API key (or FIREFLY_API_KEY): {}; recorded in the access log"


def who(key: str) -> Principal:
    principal = services().access.authenticate(key)
    if principal is None:
        raise click.ClickException("unknown API key")
    return principal
