"""Comparing the column evaluator (app/engine/columnar) with the row engine (`Policy.decide`) on a
chunk of rows: every row the evaluator is sure of must have the row engine's headline (outcome,
limit, group, score, band, reasons in order), the same ids fired and the same reason codes."""
from __future__ import annotations

from typing import Any

from app.engine import SharedValueError
from app.engine.columnar import columnar_policy
from app.services.tally import fired, headline
from app.engine.types import to_json


def row_decision(policy, typed: dict, shared: dict | None):
    """The row engine's decision, or None when it refuses the row's shared values."""
    try:
        return policy.decide(typed, shared=shared)
    except SharedValueError:
        return None


def column_view(chunk, i: int, lines: list[dict]) -> dict[str, Any]:
    line = dict(lines[i])
    line["score"] = to_json(line["score"])
    return {"headline": line,
            "fired": sorted(identifier for identifier, flags in chunk.fired if flags[i]),
            "codes": sorted(code for code, flags in chunk.reason_codes().items() if flags[i])}


def row_view(decision) -> dict[str, Any]:
    return {"headline": headline(decision), "fired": sorted(fired(decision)),
            "codes": sorted(set(decision.reason_codes))}


def compare_chunk(policy, typed_rows: list[dict], shared: list[dict | None] | None = None,
                  *, allow_unsure: bool = True) -> dict[str, Any]:
    """Decide the rows as one chunk and one by one; every sure row must agree. Gives the chunk's
    decisions and the unsure rows (a row the row engine refuses must be unsure)."""
    shared = shared if shared is not None else [None] * len(typed_rows)
    columns = columnar_policy(policy.parts)
    assert columns is not None, f"{policy.name} is refused by the column evaluator"
    flat = [policy.input_schema.flatten(typed) for typed in typed_rows]
    chunk = columns.decide(flat, shared)
    assert chunk.n == len(typed_rows)
    unsure = set(chunk.unsure_rows())
    lines = chunk.headlines()
    mismatches = []
    for i, (typed, values) in enumerate(zip(typed_rows, shared)):
        decision = row_decision(policy, typed, values)
        if decision is None:
            assert i in unsure, f"row {i}: the row engine refuses its shared values {values}, the columns decided it"
            continue
        if i in unsure:
            continue
        expected, got = row_view(decision), column_view(chunk, i, lines)
        if expected != got:
            mismatches.append((i, typed, values, expected, got))
    assert not mismatches, "rows where the columns and the rows disagree:\n" + "\n".join(
        f"row {i}: input {repr(typed)[:800]} shared {values!r}\n  rows    {e}\n  columns {g}"
        for i, typed, values, e, g in mismatches[:3])
    if not allow_unsure:
        assert not unsure, f"unsure rows {sorted(unsure)}"
    return {"chunk": chunk, "unsure": unsure}
