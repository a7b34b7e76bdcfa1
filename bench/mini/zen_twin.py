"""The small policy as a GoRules JDM graph (bench/mini/mini.jdm.json), evaluated by zen-engine.

The graph: the request, three collect decision tables (eligibility, credit, fraud: one row per
rule, giving its id, action and reason), the limit matrix (a first-hit table of 30 rows), an
expression node that gathers the hits and computes the capped, rounded limit, and one that gives
the outcome, the limit (APPROVE only) and the ordered reasons (DECLINE reasons first). The graph is
loaded once; `evaluate` is the whole decision."""
from __future__ import annotations

from pathlib import Path

import zen

GRAPH = Path(__file__).resolve().parent / "mini.jdm.json"


class ZenMini:
    def __init__(self) -> None:
        self.decision = zen.ZenEngine().create_decision(GRAPH.read_text(encoding="utf-8"))

    def evaluate(self, raw: dict) -> dict:
        """zen's result object, as it comes."""
        return self.decision.evaluate(raw)["result"]

    def decide(self, raw: dict) -> dict:
        """{"outcome", "limit", "reasons"} (zen's numbers are floats: the limit as an int)."""
        result = self.evaluate(raw)
        limit = result.get("limit")
        return {"outcome": result["outcome"], "limit": None if limit is None else int(limit),
                "reasons": result["reasons"]}
