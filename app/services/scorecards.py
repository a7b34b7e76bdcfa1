"""Scorecards made by the modelling tools: import a points table as a Firefly scorecard, and score
raw characteristic values with a card alone, so a data scientist can check parity with the tool."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from app import files
from app.engine import InputError, Policy, load_policies
from app.engine.source import parse_yaml
from app.engine.scorecard_import import CardImportError, card_inputs, card_yaml, read_card, reasons_yaml
from app.services.errors import InvalidInput

SCORING_POLICY = "scorecard.score"


@dataclass(frozen=True)
class ImportedScorecard:
    card: str          # the scorecard YAML (rules/<name>.yaml)
    reasons: str       # catalogue entries for its reason codes, to be worded
    skipped: list[str]  # source bins the card cannot express, with why


@dataclass(frozen=True)
class ScoredTable:
    columns: list[str]
    rows: list[dict[str, Any]]


def import_scorecard(table: str, name: str, *, prefix: str | None = None,
                     special: tuple[str, ...] = (), scaling: dict | None = None,
                     base_points: Decimal | None = None) -> ImportedScorecard:
    """The Firefly scorecard of a tool's points table (CSV text); the card is checked by
    loading it, so what is written always loads."""
    prefix = prefix or name.upper().replace("_", "-")
    try:
        card = read_card(list(csv.DictReader(io.StringIO(table))), special)
    except CardImportError as error:
        raise InvalidInput(f"the points table cannot be read: {error}") from None
    text = card_yaml(card, name, prefix, scaling, base_points)
    scoring_policy(text)
    return ImportedScorecard(text, reasons_yaml(card, prefix), card.skipped)


def _nest(paths: dict[str, str]) -> dict:
    tree: dict = {}
    for path, kind in paths.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = kind
    return tree


def _reason_codes(document: dict) -> set[str]:
    """The codes the card names; any shape that is not a card's is left to loading to report."""
    def mappings(value: Any) -> list[dict]:
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    codes = set()
    for characteristic in mappings(document.get("characteristics")):
        for bin_ in mappings(characteristic.get("bins")):
            if isinstance(bin_.get("reason"), str):
                codes.add(bin_["reason"])
    for band in mappings(document.get("bands")):
        reason = band.get("reason")
        listed = [reason] if isinstance(reason, str) else reason if isinstance(reason, list) else []
        codes.update(r for r in listed if isinstance(r, str))
    return codes


def scoring_policy(card: str, file: str = "scorecard.yaml") -> tuple[Policy, list[str]]:
    """A policy around the card alone: its inputs are the characteristics' inputs (decimal where
    a bin tests a number, text otherwise). Returns it with the input paths in card order."""
    # Read as the engine reads rule files (bounded aliases and nesting, dates that exist), so a
    # broken card is file:line:column, never a traceback.
    node, problems = parse_yaml(card, file)
    errors = [d for d in problems if d.severity == "error"]
    if node is None or errors:
        raise InvalidInput("the scorecard cannot be read: " + "; ".join(str(d) for d in errors))
    document = node.plain()
    if not isinstance(document, dict) or "scorecard" not in document:
        raise InvalidInput("not a scorecard file: it has no 'scorecard:' key")
    inputs = card_inputs(document)
    name = str(document["scorecard"])
    policy = {"policy": SCORING_POLICY, "version": "1", "name": {"zh": name, "en": name},
              "reasons": "reason_codes", "input": _nest(inputs),
              "stages": [{"id": "score", "scorecard": name}]}
    catalogue = {"reason_codes": {code: {"zh": code, "en": code,
                                         "customer": {"zh": code, "en": code}}
                                  for code in sorted(_reason_codes(document))}}
    files = {"policies/scorecard/score.yaml": yaml.safe_dump(policy, allow_unicode=True),
             f"rules/{name}.yaml": card,
             "rules/reason_codes.yaml": yaml.safe_dump(catalogue, allow_unicode=True)}
    loaded = load_policies(files)
    if not loaded.ok:
        raise InvalidInput("the scorecard does not load: " + "; ".join(
            str(d) for d in loaded.diagnostics if d.severity == "error"))
    return loaded.policies[SCORING_POLICY], list(inputs)


def score_table(card: str, table: str, file: str = "scorecard.yaml") -> ScoredTable:
    """Every row of a CSV of raw characteristic values (columns named after the inputs; an empty
    cell is missing, and NA or NaN in a numeric column), scored: the input columns, `score`, then the points of each
    characteristic (`points_<id>`)."""
    policy, inputs = scoring_policy(card, file)
    reader = csv.DictReader(io.StringIO(table))
    absent = [path for path in inputs if path not in (reader.fieldnames or [])]
    if absent:
        raise InvalidInput(f"the input has no column for {', '.join(absent)} "
                           f"(it has {', '.join(reader.fieldnames or [])})")
    scorecard = policy.parts.stages[0].target
    columns = [*inputs, "score", *(f"points_{c.id}" for c in scorecard.characteristics)]
    rows = []
    for number, row in enumerate(reader, start=2):
        raw = {path: row[path] for path in inputs}
        typed = _parse(policy, raw, number)
        stage = policy.decide(typed).trace.stages[0]
        scored: dict[str, Any] = dict(raw)
        scored["score"] = stage.score
        for characteristic, position in zip(scorecard.characteristics, stage.picked):
            points = characteristic.bins[position].points if position >= 0 else 0
            scored[f"points_{characteristic.id}"] = points
        rows.append(scored)
    return ScoredTable(columns, rows)


# An empty cell is missing; so is NaN or NA in a numeric column (a category may be called "none").
_NUMBER_MISSING = {"", "na", "nan", "null"}


def _parse(policy: Policy, raw: dict[str, str], number: int) -> dict:
    fields = policy.input_schema.fields
    nested = _nest({path: None if (value or "").strip().lower() in (
        _NUMBER_MISSING if fields[path].type.name == "decimal" else {""}) else value.strip()
        for path, value in raw.items()})
    try:
        return policy.parse_input(_drop_none(nested))
    except InputError as error:
        raise InvalidInput(f"row {number}: {error}") from None


def _drop_none(tree: dict) -> dict:
    return {key: _drop_none(value) if isinstance(value, dict) else value
            for key, value in tree.items() if value is not None}


def write_csv(scored: ScoredTable) -> str:
    """The scored rows as CSV for a spreadsheet: an input cell that would be a formula is echoed
    as text (files.spreadsheet_safe)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, scored.columns, lineterminator="\n")
    writer.writeheader()
    for row in scored.rows:
        writer.writerow({k: ("" if v is None else files.spreadsheet_safe(v)) for k, v in row.items()})
    return out.getvalue()
