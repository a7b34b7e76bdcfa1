"""Reading a policy's limit."""
from __future__ import annotations

from engine.support import LIMIT, load


def test_limit_needs_its_effects(tmp_path):
    limit = {k: v for k, v in LIMIT.items() if k != "when_missing"}
    result = load(tmp_path, limit=limit, parameters={"minimum_limit": 1000},
                  features={"region_cap": "300000"})
    assert "LIMIT_EFFECTS" in [d.code for d in result.diagnostics]
    result = load(tmp_path / "2", limit=dict(LIMIT, base="s"),
                  parameters={"minimum_limit": 1000}, features={"region_cap": "300000"})
    assert "LIMIT_TYPE" in [d.code for d in result.diagnostics]
