"""The engine backends that match a policy's rule sets: `compiled` (generated Python, the default)
and `durable` (durable_rules, in durable.py, imported only when a policy uses it)."""
from __future__ import annotations

BACKENDS = ("compiled", "durable")
