"""What the differential tests of the file readers share (tests/services/test_cell_rows.py,
test_parquet_rows.py, test_jsonl_rows.py): the two versions they read rows for, the odd values
they draw, and how they compare what the straight way and the nested way make."""
from hypothesis import strategies as st

from app.engine import InputError, load_policy_root
from app.services.batch import file_item
from support.settings import POLICY_ROOT
from support.simulation import POLICY, candidate_folder

# A candidate whose input differs: a shorter longest term, so that some rows only it refuses.
NARROWER_INPUT = {"requested_term_months: {type: integer, min: 1, max: 36}":
                  "requested_term_months: {type: integer, min: 1, max: 24}",
                  "  region_cap_developed: 500000": "  region_cap_developed: 400000"}

# Text a file might hold in any cell: empty, blank, numbers of every sort, odd booleans, dates,
# lists, too long, non-ASCII (full-width digits read as integers by int()).
ODD_CELLS = st.one_of(
    st.sampled_from(["", " ", "abc", " 7", "7 ", "1e3", "-1", "0", "1", "2", "36", "37", "25",
                     "99999999999999999999", "1_000", "+5", "\uff13", "0.5", "-0", "00012", "NaN",
                     "true", "TRUE", " false", "yes", "2026-02-30", "2026-11-01", "20261101",
                     "2026-11-01T10:00:00+08:00", "2026-11-01T10:00:00", "[", "[]", "[null]", "[1, 2]",
                     '[{"type": "LOAN"}]', "a|b", "x" * 65, "1" * 19, "330100", "COLLEGE", "\u674e\u521a",
                     "SALARIED", "EMPLOYEE", "RM_APP"]),
    st.text(max_size=6))

# Values an item of a list of records might hold in place of any of its fields.
ODD_ITEM_VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
                            st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                            st.sampled_from(["NORMAL", "LOAN", "BANK", "2026-02-30", "2020-01-01", "N" * 24,
                                             "X" * 40, "李"]),
                            st.lists(st.integers(), max_size=2))


def exact(value):
    """A value with its types, dict orders and decimal exponents visible."""
    if isinstance(value, dict):
        return ("dict", [(k, exact(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [exact(v) for v in value])
    return (type(value).__name__, repr(value))


def two_versions(folder):
    """The reference policy and a candidate with NARROWER_INPUT (written under `folder`), with
    every declared field's type and every shared value's type of the two (a file's columns)."""
    baseline = load_policy_root(POLICY_ROOT).policies[POLICY]
    candidate = load_policy_root(candidate_folder(folder, NARROWER_INPUT)).policies[POLICY]
    policies = (baseline, candidate)
    types = {path: spec.type.name for p in policies for path, spec in p.input_schema.fields.items()}
    shared = {d.name: d.type_name for p in policies for d in p.parts.shared}
    types.update(shared)
    return baseline, candidate, types, shared


def assert_read_alike(policy, made, expected, where):
    """The straight way made (typed input, flat values) what the nested way made for the row
    (`where`: the row, named in the failure)."""
    assert made is not None, where
    assert exact(made[0]) == exact(expected)
    assert exact(made[1]) == exact(policy.input_schema.flatten(expected))


def nested_typed(policy, shared, row):
    """The nested way for one file row (files.Row): (typed input, shared values), or (None, the
    errors or the RowError)."""
    item = file_item(row, policy.hash, shared)
    if not isinstance(item.data, dict):
        return None, item.data
    try:
        return policy.parse_input(item.data), item.shared
    except InputError as error:
        return None, error.errors
