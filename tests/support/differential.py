"""What the differential tests of the file readers share (tests/services/test_cell_rows.py,
test_parquet_rows.py, test_jsonl_rows.py): the two versions they read rows for, the odd values
they draw, and how they compare what the straight way and the nested way make."""
from hypothesis import strategies as st

from app.engine import InputError, load_policy_root
from app.files import CsvLayout
from app.services.batch import file_item
from support.applicants import generate, generate_shared
from support.settings import POLICY_ROOT
from support.simulation import POLICY, candidate_folder, flat

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


def as_cell(value) -> str:
    """A value as bench/simulate.py and the tests write it into a CSV cell."""
    import json
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def reference_cells(baseline, types, shared):
    """Sixty generated applicants with their shared values as CSV cells: the layout (the columns
    any of them fills) and the rows."""
    flats = [{**flat(r), **s} for r, s in zip(generate(60, seed=31), generate_shared(60, seed=31))]
    header = [c for c in [*baseline.input_schema.fields, *shared] if any(c in f for f in flats)]
    pool = [[as_cell(f.get(c)) for c in header] for f in flats]
    return CsvLayout.of(header, types), pool


@st.composite
def odd_rows(draw, pool, width):
    """A row of a pool's cells with up to four cells replaced by odd text, a list of records' item
    changed (a field dropped or given an odd value), and cells added or cut."""
    import json
    cells = list(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        cells[draw(st.integers(min_value=0, max_value=width - 1))] = draw(ODD_CELLS)
    # a list of records (the credit report's accounts, inquiries, ...) with an item changed
    lists = [i for i, cell in enumerate(cells) if cell.startswith("[{")]
    if lists and draw(st.booleans()):
        index = draw(st.sampled_from(lists))
        items = json.loads(cells[index])
        item = items[draw(st.integers(min_value=0, max_value=len(items) - 1))]
        key = draw(st.sampled_from([*item, "extra"]))
        if draw(st.booleans()):
            item.pop(key, None)
        else:
            item[key] = draw(ODD_ITEM_VALUES)
        cells[index] = json.dumps(items, ensure_ascii=False)
    change = draw(st.sampled_from(["none"] * 6 + ["add", "cut"]))
    if change == "add":
        cells.append(draw(ODD_CELLS))
    elif change == "cut":
        del cells[draw(st.integers(min_value=0, max_value=width - 1)):]
    return cells


def policy_with_input(folder, input):
    """A small policy declaring `input` (engine.support.make_policy) and the CSV layout of a file
    with a column for every declared field."""
    from engine.support import make_policy
    policy = make_policy(folder, input=input)
    types = {path: spec.type.name for path, spec in policy.input_schema.fields.items()}
    return policy, CsvLayout.of(list(types), types)
