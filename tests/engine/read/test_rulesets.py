"""Reading rule sets: hit policies, outputs and priorities."""
from __future__ import annotations

import pytest

from engine.read.samples import CHECKS, load_files
from engine.support import codes, errors


@pytest.mark.parametrize("old, new, code, fragment", [
    ("hit_policy: collect", "hit_policy: colect", "HIT_POLICY", "did you mean 'collect'"),
    ("hit_policy: collect\n", "", "HIT_POLICY", "needs a hit_policy"),
])
def test_hit_policy_problems(tmp_path, old, new, code, fragment):
    result = load_files(tmp_path, rules__checks_yaml=CHECKS.replace(old, new))
    assert codes(result) == [code]
    assert fragment in errors(result)[0].message


def test_collect_rule_set_cannot_set_outputs(tmp_path):
    checks = CHECKS.replace("hit_policy: collect\n",
                            "hit_policy: collect\noutputs:\n  level: {type: integer}\n")
    result = load_files(tmp_path, rules__checks_yaml=checks)
    assert codes(result) == ["RULESET_OUTPUTS"]


def test_priority_rule_set_needs_priorities(tmp_path):
    result = load_files(tmp_path, rules__checks_yaml=CHECKS.replace("collect", "priority"))
    assert codes(result) == ["RULE_PRIORITY", "RULE_PRIORITY"]
