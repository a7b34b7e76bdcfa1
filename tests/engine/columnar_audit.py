"""A pytest plugin that audits the column evaluator against every decision a test run makes:
`pytest -p engine.columnar_audit tests/engine ...` records each `Policy.decide` call (the policy,
its typed input and shared values), and at the end decides each policy's inputs again as one
chunk with app/engine/columnar, comparing every row it is sure of with the row engine
(engine.columnar_support.compare_chunk). The summary lists policies refused, chunks that failed
and rows that disagreed. It changes nothing the tests see: the decisions are the row engine's."""
from __future__ import annotations

import copy
import traceback

from app.engine import policy as policy_module
from app.engine.columnar import Unsupported, columnar_policy

_RECORDED: dict[int, tuple] = {}
_original = policy_module.Policy.decide


def _recording(self, typed, backend=None, shared=None, sources=None, values=None):
    decision = _original(self, typed, backend=backend, shared=shared, sources=sources, values=values)
    if self.engine == "compiled" and (backend in (None, "compiled")):
        entry = _RECORDED.setdefault(id(self), (self, []))
        if len(entry[1]) < 2000:
            entry[1].append((copy.deepcopy(typed), copy.deepcopy(dict(shared)) if shared else None))
    return decision


def pytest_configure(config):
    policy_module.Policy.decide = _recording


def pytest_terminal_summary(terminalreporter):
    from engine.columnar_support import compare_chunk
    policy_module.Policy.decide = _original
    write = terminalreporter.write_line
    refused, unsupported, failed, ok, rows, unsure = [], [], [], 0, 0, 0
    for policy, calls in _RECORDED.values():
        if columnar_policy(policy.parts) is None:
            refused.append(policy.name)
            continue
        try:
            result = compare_chunk(policy, [t for t, _ in calls], [s for _, s in calls])
            ok += 1
            rows += len(calls)
            unsure += len(result["unsure"])
        except Unsupported as error:
            unsupported.append((policy, str(error)))
        except Exception:  # noqa: BLE001 - reported
            failed.append((policy, traceback.format_exc(limit=8)))
    write(f"columnar audit: {ok} policies agree on {rows} rows ({unsure} unsure); "
          f"{len(refused)} refused, {len(unsupported)} unsupported on use, {len(failed)} failed")
    for policy, reason in unsupported:
        write(f"  unsupported {policy.name} {policy.hash[:10]}: {reason}")
    for policy, text in failed:
        write(f"  FAILED {policy.name} {policy.hash[:10]} files {sorted(policy.files)}:\n{text[-3000:]}")
