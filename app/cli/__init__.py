"""`flask ...` commands: thin wrappers over the use cases, printing for a person at a terminal."""
from __future__ import annotations

from flask import Flask

from app.cli.db import db_cli
from app.cli.keys import keys_cli
from app.cli.policy import policy_cli


def init_app(app: Flask) -> None:
    for group in (policy_cli, keys_cli, db_cli):
        app.cli.add_command(group)
