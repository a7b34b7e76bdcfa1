"""The readers report instead of raising: every node of a full policy replaced by junk or
dropped gives diagnostics, and whatever still builds decides."""
from __future__ import annotations

import copy as _copy

import yaml as _yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import InputError, build_policies, load_policy_root
from engine.read.samples import full_files, write


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


_DOCS = {path: _yaml.safe_load(text) for path, text in full_files().items()}


_TARGETS = [(path, p) for path, doc in sorted(_DOCS.items()) for p in _paths(doc) if p]


_REPLACEMENTS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=6),
    st.sampled_from(["-", "missing", "exists", "else", ">= x", "[1, 2)", "(, )", "a > 1",
                     "a +", "RED", "collect", "unique", "DECLINE", "R1", "R9", "integer",
                     "enum", "codes", "grade", "checks", "__import__('os')", "1.5", "2026-01-01"]),
    st.lists(st.integers(0, 3), max_size=2), st.just({"k": 1}), st.just({}), st.just([]))


def test_the_full_base_policy_loads_cleanly(tmp_path):
    result = load_policy_root(write(tmp_path, full_files()))
    assert result.ok, [str(d) for d in result.diagnostics]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(_TARGETS), replacement=_REPLACEMENTS,
       drop=st.booleans())
def test_the_loader_reports_instead_of_raising(target, replacement, drop):
    path, node_path = target
    document = _copy.deepcopy(_DOCS[path])
    parent = document
    for part in node_path[:-1]:
        parent = parent[part]
    dropped = drop and isinstance(parent, dict)
    if dropped:
        del parent[node_path[-1]]
    else:
        parent[node_path[-1]] = replacement
    files = full_files()
    files[path] = _yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    parts, diagnostics = build_policies(files)  # must not raise
    for diagnostic in diagnostics:
        assert diagnostic.severity in ("error", "warning")
        assert diagnostic.location is None or diagnostic.location.file in files
        assert diagnostic.message
    errors_found = [d for d in diagnostics if d.severity == "error"]
    if "p.x" not in parts:
        assert errors_found
    else:  # built: no error in any file the policy uses (an unused file may have errors)
        assert not [d for d in errors_found if d.location and d.location.file in
                    parts["p.x"].files]
        # whatever still loads must decide without raising
        from app.engine import Policy
        policy = Policy(parts["p.x"])
        for sample in ({}, {"a": 11, "e": "RED", "s": "X1"}, {"a": 0, "e": "BLUE"}):
            data = {"decision_date": "2026-11-28"}
            data.update({k: v for k, v in sample.items() if k in policy.input_schema.fields})
            try:
                typed = policy.parse_input(data)
            except InputError:
                continue
            policy.decide(typed)
