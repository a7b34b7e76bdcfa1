"""`flask ...` commands: thin wrappers over the use cases, printing for a person at a terminal."""
from __future__ import annotations

import logging

import click
from flask import Flask

from app.cli.audit import audit_cli
from app.cli.accounts import accounts_cli
from app.cli.db import db_cli
from app.cli.keys import keys_cli
from app.cli.lists import lists_cli
from app.cli.velocity import velocity_cli
from app.cli import releases as _release_commands  # noqa: F401 - adds submit, approve, ... to policy_cli
from app.cli.models import models_cli
from app.cli.policy import policy_cli
from app.cli.review import review_cli
from app.cli.scorecard import scorecard_cli


def _verbose(context: click.Context, option: click.Parameter, verbose: bool) -> None:
    if verbose:
        logging.getLogger().setLevel(logging.INFO)


VERBOSE = click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True,
                       callback=_verbose,
                       help="Also print the service's log lines (JSON, on stderr); by default a "
                            "command logs only errors (or FIREFLY_LOG_LEVEL).")


def init_app(app: Flask) -> None:
    for group in (policy_cli, keys_cli, db_cli, audit_cli, scorecard_cli, models_cli, accounts_cli,
                  lists_cli, review_cli, velocity_cli):
        if VERBOSE not in group.params:
            group.params.append(VERBOSE)
        app.cli.add_command(group)
