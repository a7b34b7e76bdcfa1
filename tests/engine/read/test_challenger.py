"""A policy's challenger: its shape, and that it names another policy of the root."""
import pytest

from engine.support import codes, load


@pytest.mark.parametrize("challenger, code", [
    ({"policy": "p.other", "mode": "shadow"}, "CHALLENGER_POLICY"),     # not a policy of the root
    ({"policy": "p.x", "mode": "shadow"}, "CHALLENGER_POLICY"),         # itself
    ({"policy": "p.other", "mode": "shadows"}, "CHALLENGER_MODE"),
    ({"policy": "p.other", "mode": "split"}, "CHALLENGER_SHARE"),       # a split needs a share
    ({"policy": "p.other", "mode": "split", "share": 100}, "CHALLENGER_SHARE"),
    ({"policy": "p.other", "mode": "shadow", "share": 10}, "CHALLENGER_SHARE"),
    ("p.other", "CHALLENGER_SHAPE"),
])
def test_a_wrong_challenger_is_an_error(tmp_path, challenger, code):
    result = load(tmp_path, extra={"challenger": challenger})
    assert code in codes(result)


def test_a_challenger_of_the_root_loads(tmp_path):
    result = load(tmp_path, extra={"challenger": {"policy": "p.y", "mode": "split", "share": 10}})
    assert codes(result) == ["CHALLENGER_POLICY"]          # p.y is not there yet
    policy_file = tmp_path / "policies" / "p" / "x.yaml"
    (tmp_path / "policies" / "p" / "y.yaml").write_text(
        policy_file.read_text(encoding="utf-8").replace("policy: p.x", "policy: p.y")
        .replace("challenger:", "unused_challenger:").split("unused_challenger:")[0], encoding="utf-8")
    from app.engine import load_policy_root
    loaded = load_policy_root(tmp_path)
    assert loaded.ok, loaded.diagnostics
    spec = loaded.policies["p.x"].parts.challenger
    assert (spec.policy, spec.mode, spec.share) == ("p.y", "split", 10)
