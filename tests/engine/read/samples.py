"""The policy root most reader tests change one thing in: a policy with a rule set, a table, a
named list and an unused list, and a fuller one with a scorecard and a limit."""
from __future__ import annotations

from pathlib import Path

from app.engine import load_policy_root
from engine.support import reasons_text

POLICY = """\
policy: p.x
version: "1"
name: {zh: 测试, en: Test}
reasons: reason_codes
input:
  decision_date: {type: date, required: true}
  a: integer
  e: {type: enum, values: [RED, GREEN, BLUE]}
  s: string
features:
  double: a * 2
stages:
  - {id: checks, ruleset: checks}
  - {id: grade, table: grade}
outputs: [grade]
"""


CHECKS = """\
ruleset: checks
name: {zh: 检查, en: Checks}
hit_policy: collect
rules:
  - id: C-1
    when: a > 10
    then: {action: DECLINE, reason: R1}
  - id: C-2
    when: s in lists.codes
    then: {action: REFER, reason: R2}
"""


GRADE = """\
table: grade
hit_policy: first
inputs: [e]
outputs:
  grade: {type: enum, values: [G1, G2]}
rows:
  - {id: G-1, when: [RED], then: {grade: G1}}
  - {id: G-2, when: ["-"], then: {grade: G2}}
"""


CODES = """\
list: codes
type: string
values: ["X1", "X2"]
"""


UNUSED = """\
list: unused
type: string
values: ["U"]
"""


def base_files() -> dict[str, str]:
    return {"policies/p/x.yaml": POLICY, "rules/checks.yaml": CHECKS, "rules/grade.yaml": GRADE,
            "rules/codes.yaml": CODES, "rules/unused.yaml": UNUSED,
            "rules/reason_codes.yaml": reasons_text()}


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def load_files(root: Path, **changes: str):
    """Load the base files with some replaced (keyword: relative path with / as __)."""
    files = base_files()
    for key, text in changes.items():
        files[key.replace("__", "/").replace("_yaml", ".yaml")] = text
    return load_policy_root(write(root, files))


def position(text: str, token: str, nth: int = 0) -> tuple[int, int]:
    """(line, column) of the nth occurrence of token in text, both from 1."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(token, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def where(diagnostic) -> tuple:
    return (diagnostic.code, diagnostic.location.file, diagnostic.location.line,
            diagnostic.location.column)


CARD = """\
scorecard: card
base_points: 100
max_reasons: 2
characteristics:
  - id: CH-A
    input: a
    bins:
      - {id: A-1, when: "< 10", points: 0, reason: R1}
      - {id: A-2, when: "[10, 20)", points: 20, reason: R2}
      - {id: A-3, when: ">= 20", points: 30}
      - {id: A-M, when: missing, points: -10, reason: R3}
bands:
  - {band: A, min: 120}
  - {band: B, min: 100, action: REFER, reason: R4}
  - {band: C, action: DECLINE, reason: R5}
"""


FULL_POLICY = POLICY.replace(
    "  - {id: grade, table: grade}\n",
    "  - {id: grade, table: grade}\n  - {id: score, scorecard: card}\n") + """\
parameters:
  minimum_limit: 1000
limit:
  base: a * 100
  caps:
    - {id: CAP-1, name: {zh: 上限, en: Cap}, value: double * 1000}
  round_down_to: 1000
  minimum: params.minimum_limit
  below_minimum: {action: DECLINE, reason: R1}
  when_missing: {action: REFER, reason: R2}
"""


def full_files() -> dict[str, str]:
    files = base_files()
    files["policies/p/x.yaml"] = FULL_POLICY
    files["rules/card.yaml"] = CARD
    return files
