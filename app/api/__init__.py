"""HTTP API blueprints: health, decisions, compliance, policies, docs."""
