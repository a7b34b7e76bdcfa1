"""Tables and rules that compute: cells and outputs as expressions, and features computed after
a stage from its outputs (declared with `after:`, so the order is checked)."""
from __future__ import annotations

from engine.support import D, codes, dump, load, make_policy, run, ruleset

TABLE = dump({
    "table": "pricing", "hit_policy": "first", "inputs": ["a", "d"],
    "outputs": {"rate": {"type": "decimal"}, "band": {"type": "string"}},
    "rows": [
        {"id": "P1", "when": [">= params.floor * 2", "-"],
         "then": {"rate": {"expr": "d * 2"}, "band": "HIGH"}},
        {"id": "P2", "when": [{"expr": "a + b > 10"}, "-"],
         "then": {"rate": {"expr": "coalesce(d, 0) + params.floor"}, "band": {"expr": '"MID-" + s'}}},
        {"id": "P3", "when": ["-", "-"], "then": {"rate": 0, "band": "LOW"}},
    ]})
SCORING = ruleset("bands", [
    {"id": "B1", "when": "a > 0", "then": {"set": {"level": {"expr": "a * 10"}}}},
], hit_policy="first", outputs={"level": {"type": "integer"}})


def policy(tmp_path, features=None):
    return make_policy(tmp_path, {"pricing": TABLE, "bands": SCORING},
                       stages=[{"id": "pricing", "table": "pricing"},
                               {"id": "bands", "ruleset": "bands"}],
                       parameters={"floor": 3}, features=features)


def test_cells_and_outputs_compute(tmp_path):
    p = policy(tmp_path)
    values = run(p, a=6, d="1.5").trace.values
    assert (values["rate"], values["band"]) == (D("3.0"), "HIGH")        # 6 >= 3 * 2
    values = run(p, a=5, b=6, s="x").trace.values
    assert (values["rate"], values["band"]) == (3, "MID-x")               # 5 + 6 > 10
    values = run(p, a=5, b=1).trace.values
    assert (values["rate"], values["band"]) == (0, "LOW")
    assert run(p, a=2).trace.values["level"] == 20


def test_a_cell_expression_on_missing_data_is_false(tmp_path):
    values = run(policy(tmp_path), a=5).trace.values   # b missing: a + b > 10 is unknown
    assert values["band"] == "LOW"


def test_a_feature_after_a_stage_reads_its_outputs(tmp_path):
    features = {"early": "a + 1",
                "priced": {"expr": "rate * 100 + early", "after": "pricing"},
                "leveled": {"expr": "level + priced", "after": "bands"}}
    decision = run(policy(tmp_path, features), a=6, d="1")
    assert decision.trace.values["priced"] == D("207")
    assert decision.trace.values["leveled"] == D("267")
    assert decision.trace.to_dict()["features"]["leveled"] == "267"


def test_a_feature_cannot_read_a_stage_before_it_has_run(tmp_path):
    result = load(tmp_path, {"pricing": TABLE, "bands": SCORING},
                  stages=[{"id": "pricing", "table": "pricing"},
                          {"id": "bands", "ruleset": "bands"}],
                  parameters={"floor": 3}, features={"x": "rate * 2",
                                                     "y": {"expr": "level", "after": "pricing"},
                                                     "z": {"expr": "a", "after": "nowhere"}})
    found = codes(result)
    assert found.count("EXPR_UNKNOWN_NAME") == 2 and "FEATURE_AFTER" in found


def test_an_output_expression_of_the_wrong_type_is_refused(tmp_path):
    table = TABLE.replace("d * 2", "s")
    result = load(tmp_path, {"pricing": table, "bands": SCORING},
                  stages=[{"id": "pricing", "table": "pricing"}], parameters={"floor": 3})
    assert "SET_VALUE" in codes(result)


def test_a_rule_sets_a_list_output(tmp_path):
    rules = {"offers": ruleset("offers", [
        {"id": "O1", "when": "a > 5", "then": {"set": {"products": ["CARD", "LOAN"]}}},
        {"id": "O2", "when": "a > 0", "then": {"set": {"products": {"expr": '["CARD"]'}}}},
    ], hit_policy="first", outputs={"products": {"type": "list", "items": "string"}})}
    policy = make_policy(tmp_path, rules, stages=[{"id": "offers", "ruleset": "offers"}],
                         outputs=["products"])
    assert run(policy, a=6).outputs["products"] == ("CARD", "LOAN")
    assert run(policy, a=2).to_dict()["outputs"]["products"] == ["CARD"]
    assert run(policy, a=0).outputs["products"] is None
    bad = ruleset("offers", [{"id": "O1", "when": "a > 5",
                              "then": {"set": {"products": ["CARD", 3]}}}],
                  hit_policy="first", outputs={"products": {"type": "list", "items": "string"}})
    assert "SET_VALUE" in codes(load(tmp_path, {"offers": bad},
                                     stages=[{"id": "offers", "ruleset": "offers"}]))
