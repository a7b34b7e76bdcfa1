"""Reading a policy's `input:` declaration."""
from __future__ import annotations

from engine.read.samples import POLICY, load_files, position
from engine.support import codes, errors


def test_input_schema_problems(tmp_path):
    policy = POLICY.replace("  a: integer", "  a: integr\n  Bad: string\n  k: {type: enum}\n"
                            "  l: {type: list}\n  m: {type: string, pii: passport}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    found = codes(result)
    # `a` is now unknown, so the two expressions reading it fail as well.
    assert sorted(c for c in found if c.startswith("INPUT")) == [
        "INPUT_ENUM", "INPUT_LIST", "INPUT_NAME", "INPUT_PII", "INPUT_TYPE"]
    typo = next(d for d in errors(result) if d.code == "INPUT_TYPE")
    assert "did you mean 'integer'" in typo.message
    assert (typo.location.line, typo.location.column) == position(policy, "integr")


def test_personal_data_may_be_a_date_and_is_masked(tmp_path):
    """A birth date may be declared personal data (the controls' `pii: birth_date`, or any kind)."""
    policy = POLICY.replace("  a: integer", "  a: integer\n  born: {type: date, pii: name}\n"
                            "  n: {type: integer, pii: name}")
    result = load_files(tmp_path, policies__p__x_yaml=policy)
    assert [d.message for d in errors(result)] == [
        "personal data field 'n' must be a string or a date"]
