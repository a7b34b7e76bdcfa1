"""One test per durable_rules hazard that the matcher guards (see docs/durable.md).

Hazards that would kill or hang the interpreter if the guard failed run in a subprocess with a
time limit, so a regression shows as a failed test, not a dead test run."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal

import pytest

from app.engine.backends import durable as d
from app.engine.backends.durable import (DurableInputError, DurableMatcher, check_expressible,
                                         encode_value)
from app.engine.errors import Location, PolicyError
from app.engine.language import conditions as c
from engine.backends.test_durable import (AGE, CITY, DTI, HERE, STATUSES, agree, cmp, member, ref,
                                          reference, rule)


# --- hazard guards --------------------------------------------------------------------------------
def run_isolated(code: str, timeout: int = 120) -> str:
    """Run code in a fresh interpreter (a segfault or hang fails the test, not the run)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


PRELUDE = """
from decimal import Decimal
from types import SimpleNamespace
from app.engine.backends.durable import DurableMatcher, DurableError
from app.engine.language import conditions as c
from app.engine.errors import Location
HERE = Location("rules/test.yaml", 7, 11)
def rule(i, cond):
    return SimpleNamespace(id=i, condition=cond, location=HERE)
"""


def test_facts_that_match_no_rule_are_handled_and_sessions_deleted_without_crashing():
    # Unguarded, the first unmatched fact + delete_state segfaults, and 1,024 undeleted sessions
    # end in MemoryError; 3,000 decisions that match nothing cross both.
    out = run_isolated(PRELUDE + """
m = DurableMatcher("hz:unmatched", [rule("A", c.Compare(c.FieldRef("x", "integer"), ">", c.Const(5, "integer"), HERE))])
hits = sum(m.match({"x": i % 7})[0] for i in range(3000))
print(hits, m.abandoned_sessions)
""")
    assert out.split() == [str(sum(1 for i in range(3000) if i % 7 > 5)), "0"]


def test_sessions_are_deleted_after_each_match():
    matcher = DurableMatcher("hz:deleted", [rule("A", cmp(AGE, ">", 5))])
    matcher.match({"age": 7})
    matcher.match({"age": 1})
    name = matcher._chunks[0].ruleset_name
    for sid in ("s1", "s2"):
        with pytest.raises(Exception, match="309"):      # the engine no longer knows the session
            matcher._host.get_state(name, sid)


def test_fields_named_like_engine_fields_neither_hang_nor_leak():
    # A condition on `sid` matched durable's own state fact and re-fired forever.
    out = run_isolated(PRELUDE + """
m = DurableMatcher("hz:sid", [
    rule("SID", c.Compare(c.FieldRef("sid", "string"), "==", c.Const("abc", "string"), HERE)),
    rule("NOSID", c.Presence(c.FieldRef("sid", "string"), False, HERE)),
    rule("ID", c.Compare(c.FieldRef("id", "string"), "!=", c.Const("x", "string"), HERE))])
print(m.match({"sid": "abc", "id": "y"}), m.match({}))
""", timeout=60)
    assert out.strip() == "[True, False, True] [False, True, False]"


def test_typed_inputs_only_a_string_never_meets_a_number():
    matcher = DurableMatcher("hz:types", [rule("A", cmp(AGE, ">", 5)), rule("B", cmp(DTI, "<", 1))])
    with pytest.raises(DurableInputError, match="age"):
        matcher.match({"age": "zzz"})         # durable_rules says "zzz" > 5
    with pytest.raises(DurableInputError):
        matcher.match({"age": True})
    with pytest.raises(DurableInputError):
        matcher.match({"dti": 0.5})           # binary floats are not exact
    with pytest.raises(DurableInputError):
        matcher.match({"dti": Decimal("NaN")})
    with pytest.raises(DurableInputError):
        encode_value(dt.datetime(2026, 1, 1), "date")
    assert matcher.match({"age": 6, "dti": Decimal("0.9")}) == [True, True]


def test_engine_errors_become_diagnostics_naming_rules_and_file():
    # Past 64 fields read by one durable ruleset the engine answers error 303, and deleting that
    # session would segfault: with the budget lifted on purpose, the matcher must report the
    # error by rule and file and survive.
    out = run_isolated(PRELUDE + """
from app.engine.backends import durable as d
d.MAX_FIELDS_PER_RULESET = 1000
rules = [rule(f"R{i}", c.Compare(c.FieldRef(f"f{i}", "integer"), "==", c.Const(1, "integer"), HERE)) for i in range(70)]
m = DurableMatcher("hz:303", rules)
try:
    m.match({f"f{i}": 1 for i in range(70)})
    print("no error")
except DurableError as e:
    print(e.engine_code, e.diagnostics[0].code, e.diagnostics[0].location, "R0" in str(e), "R69" in str(e))
print("abandoned", m.abandoned_sessions)
""")
    lines = out.strip().splitlines()
    assert lines[0] == "303 DURABLE_ENGINE_ERROR rules/test.yaml:7:11 True True"
    assert lines[1] == "abandoned 1"


def test_error_code_meanings_are_translated():
    matcher = DurableMatcher("hz:codes", [rule("EL-003", cmp(AGE, ">", 5))])
    for code in (202, 204, 309):
        diagnostic, = matcher._diagnostics(matcher._chunks[0],
                                           RuntimeError(f"Could not assert fact, error code: {code}"),
                                           "durable_rules failed")
        assert f"durable_rules error {code}" in diagnostic.message
        assert d.ENGINE_ERROR_CODES[code] in diagnostic.message
        assert "EL-003" in diagnostic.message and diagnostic.location == HERE


def test_actions_take_exactly_one_parameter():
    with pytest.raises(TypeError):
        d._one_parameter(lambda c, complete: None)   # durable would hand it a callback
    with pytest.raises(TypeError):
        d._one_parameter(lambda c, extra=None: None)
    matcher = DurableMatcher("hz:actions", [rule("A", cmp(AGE, ">", 5)), rule("B", c.Always(True))])
    ruleset = matcher._host.get_ruleset(matcher._chunks[0].ruleset_name)
    promises = list(ruleset._actions.values())
    assert len(promises) == 3 and all(p._sync for p in promises)   # 2 rules + the catch-all


def test_same_key_twice_and_reload_do_not_collide():
    old = DurableMatcher("hz:reload", [rule("A", cmp(AGE, ">", 5))])
    new = DurableMatcher("hz:reload", [rule("A", cmp(AGE, "<", 5))])
    old._build_host()     # a rebuild of the same key gets fresh names too
    assert old._chunks[0].ruleset_name != new._chunks[0].ruleset_name
    assert old.match({"age": 9}) == [True] and new.match({"age": 9}) == [False]
    assert old.match({"age": 1}) == [False] and new.match({"age": 1}) == [True]


def test_threads_share_a_matcher_safely():
    rules = [rule("A", cmp(AGE, ">", 30)), rule("B", member(CITY, ["北京", "上海"])),
             rule("C", c.AnyOf((cmp(DTI, ">=", Decimal("0.5")), c.Presence(AGE, False, HERE))))]
    matcher = DurableMatcher("hz:threads", rules)
    cases = [{"age": i % 60, "applicant.city": ["北京", "广州", "上海"][i % 3],
              "dti": Decimal(i % 10) / 10} if i % 11 else {} for i in range(400)]
    expected = [[reference(r.condition, v) for r in rules] for v in cases]
    failures = []

    def work(offset):
        for k in range(len(cases)):
            i = (k + offset) % len(cases)
            if matcher.match(cases[i]) != expected[i]:
                failures.append(i)

    threads = [threading.Thread(target=work, args=(n * 37,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_big_rule_sets_are_split_within_the_engine_limits():
    # 600 distinct list values in one ruleset hang durable_rules; 70 fields give error 303.
    cities = [f"{n:06d}" for n in range(600)]
    rules = [rule("L1", member(CITY, cities[:300])), rule("L2", member(CITY, cities[300:]))]
    rules += [rule(f"F{i}", cmp(ref(f"f{i}", "integer"), "==", i)) for i in range(70)]
    matcher = DurableMatcher("hz:split", rules)
    assert len(matcher._chunks) >= 3
    cases = [{"applicant.city": "000299", **{f"f{i}": i for i in range(0, 70, 2)}},
             {"applicant.city": "000300", **{f"f{i}": i for i in range(1, 70, 2)}}, {}]
    agree(rules, cases)


def test_inexpressible_conditions_are_load_time_diagnostics():
    computed = c.Computed("dti * 2 > 1", "False", ("dti",), False,
                          Location("rules/eligibility.yaml", 12, 11))
    rules = [rule("EL-001", cmp(AGE, ">", 5)),
             rule("EL-002", c.AllOf((cmp(AGE, ">", 5), computed))),
             rule("EL-003", member(CITY, [f"{n:06d}" for n in range(900)])),
             rule("EL-004", cmp(STATUSES, "==", ("A",)))]
    found = check_expressible(rules)
    assert [x.code for x in found] == ["DURABLE_UNSUPPORTED"] * 3
    assert "EL-002" in found[0].message and "feature" in found[0].message
    assert str(found[0].location) == "rules/eligibility.yaml:12:11"
    assert "EL-003" in found[1].message and "EL-004" in found[2].message
    with pytest.raises(PolicyError) as raised:
        DurableMatcher("hz:computed", rules)
    assert len(raised.value.diagnostics) == 3


def test_closed_or_collected_matchers_free_the_engine_memory():
    # Each durable ruleset holds about 0.3 MiB of C memory; a reloaded policy's old matchers must
    # give it back (3,000 kept matchers grew the process by about 1 GB).
    out = run_isolated(PRELUDE + """
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
rules = [rule(f"R{i}", c.Compare(c.FieldRef(f"f{i % 20}", "integer"), ">", c.Const(i, "integer"), HERE)) for i in range(40)]
DurableMatcher("warm", rules).match({})
start = rss()
for n in range(1500):
    m = DurableMatcher(f"k{n}", rules)
    m.match({f"f{i}": i for i in range(20)})
    if n % 2:
        m.close()
    del m
print(rss() - start)
""", timeout=300)
    assert int(out.strip()) < 100


def test_matching_after_close_is_refused():
    matcher = DurableMatcher("hz:close", [rule("A", cmp(AGE, ">", 5))])
    matcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        matcher.match({"age": 9})


def test_a_host_with_abandoned_sessions_is_replaced_and_matching_goes_on():
    out = run_isolated(PRELUDE + """
from app.engine.backends import durable as d
d.MAX_FIELDS_PER_RULESET = 1000     # lifted on purpose: every full match fails with error 303
d.MAX_LIVE_SESSIONS = 5
rules = [rule(f"R{i}", c.Compare(c.FieldRef(f"f{i}", "integer"), "==", c.Const(1, "integer"), HERE)) for i in range(70)]
m = DurableMatcher("hz:rebuild", rules)
failures = 0
for n in range(12):
    try:
        m.match({f"f{i}": 1 for i in range(70)})
    except DurableError:
        failures += 1
print(failures, m.abandoned_sessions, m.hosts_built, m.match({"f3": 1})[3])
""")
    assert out.split() == ["12", "12", "3", "True"]


def test_no_background_dispatch_threads_are_started():
    # engine.Host() starts two self-rescheduling timer threads that dispatch actions concurrently
    # with decisions; the matcher's host must not.
    before = {t.ident for t in threading.enumerate()}
    matcher = DurableMatcher("hz:timers", [rule("A", cmp(AGE, ">", 5))])
    assert matcher.match({"age": 6}) == [True]
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert started == []


def test_long_text_values_compare_exactly_with_constants():
    # The engine keeps a value's length in 16 bits: past 65,535 bytes comparisons went wrong.
    # Values compared only with constants are cut just past the longest constant, which decides.
    long = "a" * 5000
    rules = [rule(op, cmp(CITY, op, long)) for op in c.OPERATORS]
    rules += [rule("IN", member(CITY, [long, "b"])), rule("NOTIN", member(CITY, [long], True)),
              rule("EX", c.Presence(CITY, True, HERE))]
    agree(rules, [{"applicant.city": v} for v in (
        long, long + "b", long[:-1] + "b", long[:-1], "a" * 40000, "a" * 40000 + "\x00",
        "a" * 32818,   # a 65,636-byte key: its length would wrap to 100
        "连" * 30000, "b", "")])


def test_text_compared_field_to_field_must_fit_the_engine():
    matcher = DurableMatcher("hz:long", [rule("FF", cmp(CITY, "==", ref("other", "string")))])
    assert matcher.match({"applicant.city": "连" * 5000, "other": "连" * 5000}) == [True]
    with pytest.raises(DurableInputError, match="too long"):
        matcher.match({"applicant.city": "连" * 30000, "other": "x"})
    found = check_expressible([rule("EQ", cmp(CITY, "==", "x" * 40000))])
    assert [x.code for x in found] == ["DURABLE_UNSUPPORTED"] and "too long" in found[0].message
