"""API keys (stored as SHA-256 hashes) and roles: channel decides, compliance audits, admin runs policies."""
import hashlib
import secrets
from functools import wraps

import click
from flask import current_app, g, request
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.config import DEV_API_KEYS, ConfigError
from app.errors import ApiError
from app.storage.db import get_db
from app.storage.models import ApiKey

ROLES = ("channel", "compliance", "admin")
HEADER = "X-API-Key"


class Principal:
    """Who is calling: a key's name and role."""

    def __init__(self, name, role):
        self.name, self.role = name, role


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_api_keys(text):
    """Parse `name:role:key,...` into {hash: Principal}; the clear keys are not kept."""
    keys = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        parts = item.split(":", 2)
        if len(parts) != 3 or parts[1] not in ROLES or len(parts[2]) < 8:
            raise ConfigError(f"FIREFLY_API_KEYS entry {parts[0]!r} must be name:role:key with role in "
                              f"{', '.join(ROLES)} and a key of at least 8 characters")
        keys[hash_key(parts[2])] = Principal(parts[0], parts[1])
    return keys


DEV_KEY_HASHES = frozenset(parse_api_keys(DEV_API_KEYS))


def check_production_keys(config, keys):
    if config.get("FIREFLY_ENV") == "production" and DEV_KEY_HASHES & set(keys):
        raise ConfigError("refusing to start in production: FIREFLY_API_KEYS holds development keys")


def authenticate():
    """The Principal for the request's key, or a 401."""
    key = request.headers.get(HEADER, "")
    if not key:
        raise ApiError(401, "unauthorized", f"missing API key: send it in the {HEADER} header")
    digest = hash_key(key)
    principal = current_app.extensions["firefly_keys"].get(digest)
    if principal is None:
        row = get_db().execute(select(ApiKey.name, ApiKey.role).where(ApiKey.key_hash == digest)).first()
        principal = Principal(row.name, row.role) if row else None
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    g.principal = principal
    return principal


def require_role(*roles):
    """Decorate a view: a valid key is required (401) and its role must be one of `roles` (403)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = authenticate()
            if principal.role not in roles:
                raise ApiError(403, "forbidden", f"role {principal.role!r} may not do this; "
                                                 f"needs {' or '.join(roles)}")
            return view(*args, **kwargs)
        wrapped.firefly_roles = roles
        return wrapped
    return decorator


keys_cli = AppGroup("keys", help="API keys: create keys (stored hashed) and show the development keys.")


@keys_cli.command("create")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def create_key_command(name, role):
    """Create an API key NAME with ROLE; prints the key once (only its hash is stored)."""
    key = "ff_" + secrets.token_urlsafe(32)
    session = current_app.extensions["firefly_db"].sessions()
    try:
        with session.begin():
            session.add(ApiKey(name=name, role=role, key_hash=hash_key(key)))
    except IntegrityError:
        raise click.ClickException(f"a key named {name!r} exists already; choose another name") from None
    click.echo(key)


@keys_cli.command("list")
def list_keys_command():
    """List the keys stored in the database (names and roles; the keys themselves are not kept)."""
    session = current_app.extensions["firefly_db"].sessions()
    with session:
        for key in session.scalars(select(ApiKey).order_by(ApiKey.name)):
            click.echo(f"{key.name}\t{key.role}\t{key.created_at:%Y-%m-%d %H:%M}")


@keys_cli.command("revoke")
@click.argument("name")
def revoke_key_command(name):
    """Delete the stored key NAME: it stops working at once, in every worker."""
    session = current_app.extensions["firefly_db"].sessions()
    with session.begin():
        key = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if key is None:
            raise click.ClickException(f"no stored key named {name!r} (see `flask keys list`)")
        session.delete(key)
    click.echo(f"revoked {name}")


@keys_cli.command("dev-info")
def dev_info_command():
    """Say where the API keys come from in this environment."""
    if current_app.config["FIREFLY_API_KEYS"] == DEV_API_KEYS:
        click.echo("API keys: the development defaults (FIREFLY_API_KEYS unset, see app/config.py):")
        for item in DEV_API_KEYS.split(","):
            name, role, key = item.split(":")
            click.echo(f"  {role:<11} X-API-Key: {key}")
    else:
        click.echo("API keys: from FIREFLY_API_KEYS (name:role:key,...) and `flask keys create`.")


def init_app(app):
    keys = parse_api_keys(app.config["FIREFLY_API_KEYS"])
    check_production_keys(app.config, keys)
    app.extensions["firefly_keys"] = keys
    app.cli.add_command(keys_cli)
