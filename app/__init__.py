"""Firefly: explainable credit decisions. `create_app` builds the Flask service."""
from flask import Flask

from app import config as config_module


def create_app(config=None):
    """Build the app: configuration from the environment, then `config` overrides (tests)."""
    app = Flask(__name__)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    config_module.check_production(app.config)

    from app import errors, idempotency, logs, metrics, pii, policies, security
    from app.storage import db
    from app.storage.migrate import db_cli

    logs.init_app(app)
    errors.init_app(app)
    db.init_app(app)
    pii.init_app(app)
    security.init_app(app)
    idempotency.init_app(app)
    metrics.init_app(app)
    policies.init_app(app)

    from app.api.decisions import bp as decisions_bp
    from app.api.docs import bp as docs_bp
    from app.api.health import bp as health_bp
    from app.api.policies import bp as policies_bp
    for blueprint in (health_bp, decisions_bp, policies_bp, docs_bp):
        app.register_blueprint(blueprint)
    if app.config["FIREFLY_FLOOR_ENDPOINT"]:
        from app.api.floor import bp as floor_bp
        app.register_blueprint(floor_bp)

    from app.cli import policy_cli
    app.cli.add_command(policy_cli)
    app.cli.add_command(db_cli)
    return app
