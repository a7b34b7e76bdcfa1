"""Files of applications for the simulation tests: the examples/ bodies (whose decisions are known)
as CSV, JSON Lines or Parquet, with rows that must be reported invalid, and candidate folders."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from support.applicants import CLEAN_SHARED, examples
from support.settings import POLICY_ROOT

POLICY = "zhishandai.application"


def flat(record: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def with_shared(record: dict, values: dict) -> dict:
    """The record with its dotted shared values as nested sections, as a JSON Lines row has them
    (a copy: the record is left as it was)."""
    out = json.loads(json.dumps(record))
    for name, value in values.items():
        *heads, last = name.split(".")
        node = out
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return out


def example_rows() -> list[dict]:
    """The eight example bodies, in file-name order: five approvals (business owner, local
    resident, new citizen, premium, salaried), two declines, one referral; each with the shared
    anti-fraud values of a first application on no list (columns shared.<name> in a file)."""
    clean = {name.removeprefix("shared."): value for name, value in CLEAN_SHARED.items()
             if name.startswith("shared.") and value is not None}
    return [{**body, "shared": dict(clean)} for body in examples().values()]


def columns_of(records: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(flat(record)))
    return list(seen)


def write_csv(path: Path, records: list[dict], extra_lines: list[str] = ()) -> Path:
    columns = columns_of(records)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            cells = flat(record)
            writer.writerow([_cell(cells.get(c)) for c in columns])
        for line in extra_lines:
            handle.write(line + "\r\n")
    return path


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a list of records or values: its JSON text
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_parquet(path: Path, records: list[dict], row_group_size: int | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    columns = columns_of(records)
    flats = [flat(r) for r in records]
    pq.write_table(pa.table({c: [_plain(f.get(c)) for f in flats] for c in columns}), path,
                   row_group_size=row_group_size)
    return path


def _plain(value):
    """A list as its JSON text (Parquet columns of lists of records would need a struct type)."""
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, list) else value


def candidate_folder(tmp_path: Path, replacements: dict[str, str]) -> Path:
    """A copy of the served policy folder with lines of the policy file replaced."""
    root = tmp_path / "candidate"
    for folder in ("policies", "rules"):
        shutil.copytree(POLICY_ROOT / folder, root / folder)
    policy_file = root / "policies" / "zhishandai" / "application.yaml"
    text = policy_file.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    policy_file.write_text(text, encoding="utf-8")
    return root


# The candidate of the comparison tests: developed-city cap 400,000 (the premium example's
# 500,000 comes down), local residents' income floor 60,000 (the local resident is declined).
CANDIDATE_EDITS = {"  region_cap_developed: 500000": "  region_cap_developed: 400000",
                   "  min_income_local: 3000 ": "  min_income_local: 60000 "}


def rename_in_report(report: dict, names) -> dict:
    """A report.json whose customer groups and reason codes are renamed to `names` (as many as
    there are names), in both versions: text an author or a channel chose, shown by the report."""
    for side in ("baseline", "candidate"):
        by_group = report[side]["by"]["customer_group"]
        for name, new in zip(list(by_group), names):
            by_group[new] = by_group.pop(name)
        for reason, new in zip(report[side]["reasons"], names):
            reason["code"] = new
    return report
