"""scrub_json's shortcut (app/privacy.py): a canonical text in which no clear personal value can
occur is returned as it is; it must give exactly what parsing, scrubbing and writing it again
gives, and never leave a clear value in any string."""
import datetime
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import load_policy_root
from app.privacy import _scrub_parsed, extract, scrub_json
from app.engine.privacy import SEARCHABLE_KINDS, mask
from support.applicants import generate

KINDS = {"a.id": "resident_id", "a.name": "name", "a.phone": "phone", "a.born": "birth_date"}


def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def slow(text, clear, kinds):
    """What scrub_json did before its shortcut: always parse, scrub and write again."""
    whole, inside = {}, []
    for path, value in clear.items():
        masked = mask(kinds[path], str(value))
        whole[str(value)] = masked
        if kinds[path] in SEARCHABLE_KINDS and len(str(value)) >= 6:
            inside.append((str(value), masked))
    return _scrub_parsed(text, whole, inside)


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for item in node.values():
            yield from strings(item)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


# Clear values and the strings around them: punctuation JSON escapes, slashes, control
# characters, non-ASCII text, digits.
pieces = st.sampled_from(["110101199003078515", "13812345678", "张三", "a/b", 'q"uote', "back\\slash",
                          "tab\there", "1990-03-07", ",", '":"', "", "x", "é", "\u2028", "\x00"])
values = st.lists(pieces, min_size=1, max_size=3).map("".join)
leaves = st.one_of(values, st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                   st.none())
documents = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(values, inner, max_size=4)),
                         max_leaves=12)
clears = st.fixed_dictionaries({path: values for path in KINDS})


@settings(max_examples=400, deadline=None)
@given(document=documents, clear=clears)
def test_the_shortcut_gives_exactly_what_scrubbing_the_parsed_text_gives(document, clear):
    text = canonical(document)
    assert scrub_json(text, clear, KINDS) == slow(text, clear, KINDS)


@settings(max_examples=400, deadline=None)
@given(document=documents, clear=clears,
       encode=st.sampled_from([canonical, lambda d: json.dumps(d, sort_keys=True),  # \\u escapes
                               lambda d: canonical(d).replace("/", "\\/")]))
def test_no_clear_value_is_left_whatever_the_text_escapes(document, clear, encode):
    """Texts that escape non-ASCII characters (\\uXXXX) or slashes write a clear value
    differently from the value itself: the shortcut must not take them for clean."""
    scrubbed = json.loads(scrub_json(encode(document), clear, KINDS))
    assert scrubbed == json.loads(slow(encode(document), clear, KINDS))
    for path, value in clear.items():
        if not value or any(mask(KINDS[p], v) == v for p, v in clear.items() if v == value):
            continue  # a value some mask leaves as it is (an empty one) cannot be told apart
        assert value not in set(strings(scrubbed))


def test_decisions_of_generated_applicants_keep_their_texts_byte_for_byte():
    """The reference policy's result and trace texts, scrubbed with and without the shortcut."""
    from pathlib import Path
    policy = load_policy_root(Path(__file__).resolve().parent.parent).policies["zhishandai.application"]
    kinds = policy.pii_fields()
    for body in generate(150, seed=11):
        body = {**body, "decision_date": datetime.date(2026, 11, 29).isoformat()}
        clear = extract(body, kinds)
        decision = policy.decide(policy.parse_input(body))
        for text in (decision.to_json(), decision.trace.to_json()):
            assert scrub_json(text, clear, kinds) == slow(text, clear, kinds)
        # a trace that copied a clear ID number into one of its strings is still masked
        text = canonical({"note": f"id {clear['applicant.id_number']}",
                          "trace": json.loads(decision.trace.to_json())})
        assert clear["applicant.id_number"] not in scrub_json(text, clear, kinds)
