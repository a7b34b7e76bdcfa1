"""Reading a scorecard: base points, characteristics with their bins (cells like a table's), and
bands, into a Stage whose matcher is one generated function picking a bin per characteristic."""
from __future__ import annotations

from .. import model as m
from ..errors import ERROR, WARNING, Location
from ..language.expressions import Ref
from ..source import Node
from decimal import Decimal

from ..types import ENUM, T_DECIMAL, T_INTEGER, Type
from .bins import bin_problems
from .context import BuildContext
from .documents import Document

_SCORECARD_KEYS = {"scorecard", "name", "base_points", "max_reasons", "characteristics", "bands",
                   "description", "scaling"}


def read_scorecard(ctx: BuildContext, document: Document, stage_id: str, location: Location,
                   many: bool) -> m.Stage | None:
    """A scorecard stage; with several scorecards in a policy, its outputs are named after the
    stage (`<id>_score`, `<id>_band`) instead of score and score_band."""
    node = document.node
    what = f"scorecard '{document.name}'"
    ctx.unknown_keys(node, _SCORECARD_KEYS, what)
    base = node.get("base_points")
    if base is None or not _is_points(base.value):
        ctx.error("SCORECARD_BASE", f"{what} needs base_points (a number)",
                  (base or node).location)
        return None
    max_reasons = _max_reasons(ctx, node, what)
    characteristics = []
    chars_node = node.get("characteristics")
    for char_node in (chars_node.value if chars_node and chars_node.is_list else []):
        characteristic = _characteristic(ctx, char_node, what)
        if characteristic:
            characteristics.append(characteristic)
    if not characteristics:
        ctx.error("SCORECARD_CHARACTERISTICS", f"{what} needs characteristics", node.location)
        return None
    bands = _bands(ctx, node.get("bands"), what)
    if not bands:
        return None
    scaling = _scaling(ctx, node.get("scaling"), what)
    scorecard = m.Scorecard(document.name, ctx.text(node.get("name")), base.value,
                            characteristics, bands, max_reasons, document.file, scaling)
    score_name = f"{stage_id}_score" if many else "score"
    band_name = f"{stage_id}_band" if many else "score_band"
    # Points may be decimals (a fitted card's points keep their digits); so is the score then.
    decimal = isinstance(base.value, Decimal) or any(
        isinstance(b.points, Decimal) for c in characteristics for b in c.bins)
    outputs = {score_name: T_DECIMAL if decimal else T_INTEGER, band_name: Type(ENUM, values=tuple(b.band for b in bands))}
    pd_name = None
    if scaling is not None:
        pd_name = f"{stage_id}_pd" if many else "pd"
        outputs[pd_name] = T_DECIMAL
    stage = m.Stage(stage_id, "scorecard", scorecard, outputs, location,
                    score_name=score_name, band_name=band_name, pd_name=pd_name)
    lines = []
    for index, characteristic in enumerate(characteristics):
        for position, bin_ in enumerate(characteristic.bins):
            keyword = "if" if position == 0 else "elif"
            lines.append(f"{keyword} {ctx.builder.condition(bin_.condition)}: "
                         f"b{index} = {position}")
        lines.append(f"else: b{index} = -1")
    lines.append("return (" + "".join(f"b{i}, " for i in range(len(characteristics))) + ")")
    stage.pick_bins = ctx.builder.compile_body("v", lines)
    return stage


def _is_points(value) -> bool:
    """Points are exact numbers: integers or decimals read from their text, never booleans."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _scaling(ctx: BuildContext, node: Node | None, what: str) -> m.Scaling | None:
    """`scaling: {pdo: 50, odds: 19, points: 600}`: good:bad odds of 19 at 600 points, doubling
    every 50 points; the stage then outputs the probability of default."""
    if node is None:
        return None
    if not node.is_map:
        ctx.error("SCORECARD_SCALING", f"{what}: scaling is a mapping such as "
                  "{pdo: 50, odds: 19, points: 600}", node.location)
        return None
    ctx.unknown_keys(node, {"pdo", "odds", "points"}, "scaling")
    numbers = {}
    for key, positive in (("pdo", True), ("odds", True), ("points", False)):
        item = node.get(key)
        value = item.value if item is not None else None
        if not _is_points(value) or (positive and value <= 0):
            ctx.error("SCORECARD_SCALING", f"{what}: scaling needs {key} as a "
                      f"{'positive ' if positive else ''}number (pdo: points to double the odds; "
                      "odds: good:bad odds at points)", (item or node).location)
            return None
        numbers[key] = Decimal(value)
    return m.Scaling(**numbers)


def _max_reasons(ctx: BuildContext, node: Node, what: str) -> int:
    max_reasons_node = node.get("max_reasons")
    max_reasons = max_reasons_node.value if max_reasons_node else 4
    if not isinstance(max_reasons, int) or isinstance(max_reasons, bool) or max_reasons < 0:
        ctx.error("SCORECARD_MAX_REASONS", f"{what}: max_reasons must be a whole number "
                  "(how many scorecard reasons a decision may carry)", max_reasons_node.location)
        max_reasons = 4
    return max_reasons


def _characteristic(ctx: BuildContext, node: Node, what: str) -> m.Characteristic | None:
    if not node.is_map:
        ctx.error("CHARACTERISTIC_SHAPE", f"{what}: a characteristic is a mapping with id, "
                  "name, input and bins", node.location)
        return None
    ctx.unknown_keys(node, {"id", "name", "input", "bins", "description"}, "a characteristic")
    id_node = node.get("id")
    char_id = ctx.claim_id(id_node.value if id_node else None, (id_node or node).location,
                           "a characteristic")
    input_node = node.get("input")
    ref = ctx.expression(input_node) if input_node else None
    if input_node is None or (ref is not None and not isinstance(ref, Ref)):
        ctx.error("CHARACTERISTIC_INPUT", f"characteristic {char_id} needs an input that is "
                  "a field, feature or stage output (define a feature for a computed value)",
                  (input_node or node).location)
        return None
    bins_node = node.get("bins")
    if bins_node is None or not bins_node.is_list or not bins_node.value:
        ctx.error("CHARACTERISTIC_BINS", f"characteristic {char_id} needs bins", node.location)
        return None
    bins = [b for b in (_bin(ctx, bin_node, ref) for bin_node in bins_node.value) if b]
    if not bins or ref is None or char_id is None:
        return None
    if len(bins) == len(bins_node.value):  # (a bin in error would show as a gap)
        for bin_, code, message in bin_problems(bins, ref.type.name, ref.type.values or ()):
            ctx.error(code, f"characteristic {char_id}: {message}", bin_.location,
                      WARNING if code == "BIN_GAP" else ERROR)
    best = max(b.points for b in bins)
    for bin_ in bins:
        if bin_.points < best and not bin_.reason:
            ctx.error("BIN_REASON", f"bin {bin_.id} scores below the best bin of {char_id} "
                      "and needs a reason code to explain the loss", bin_.location)
    return m.Characteristic(char_id, ctx.text(node.get("name")), ref.path, bins)


def _bin(ctx: BuildContext, node: Node, ref: Ref | None) -> m.Bin | None:
    if not node.is_map:
        ctx.error("BIN_SHAPE", "a bin is a mapping with id, when, points and reason",
                  node.location)
        return None
    ctx.unknown_keys(node, {"id", "when", "points", "reason", "description"}, "a bin")
    id_node = node.get("id")
    bin_id = ctx.claim_id(id_node.value if id_node else None, (id_node or node).location, "a bin")
    points = node.get("points")
    when = node.get("when")
    if points is None or not _is_points(points.value) or when is None:
        ctx.error("BIN_SHAPE", f"bin {bin_id} needs 'when' and 'points' (a number)",
                  node.location)
        return None
    condition = ctx.cell(when, ref, f"bin {bin_id}") if ref else None
    reasons = ctx.reason_codes(node.get("reason"), f"bin {bin_id}")
    if bin_id and condition is not None:
        return m.Bin(bin_id, condition, points.value, reasons[0] if reasons else None,
                     node.location)
    return None


def _bands(ctx: BuildContext, node: Node | None, what: str) -> list[m.Band]:
    """Bands from the highest min down; the last has no min, so every score has a band."""
    bands: list[m.Band] = []
    if node is None or not node.is_list or not node.value:
        ctx.error("SCORECARD_BANDS", f"{what} needs bands", (node or ctx.node).location)
        return bands
    previous = None
    for index, band_node in enumerate(node.value):
        name = band_node.get("band") if band_node.is_map else None
        if name is None:
            ctx.error("BAND_SHAPE", "a band needs a name: {band: A, min: 720}", band_node.location)
            continue
        ctx.unknown_keys(band_node, {"band", "min", "action", "reason"}, "a band")
        minimum_node = band_node.get("min")
        minimum = minimum_node.value if minimum_node else None
        if minimum is not None and not _is_points(minimum):
            ctx.error("BAND_MIN", f"band {name.value}: min must be a number of points",
                      minimum_node.location)
            continue
        last = index == len(node.value) - 1
        if minimum is None and not last:
            ctx.error("BAND_MIN", f"band {name.value} needs a min (only the last band may "
                      "omit it)", band_node.location)
        if minimum is not None and previous is not None and minimum >= previous:
            ctx.error("BAND_ORDER", f"band {name.value}: bands go from the highest min down",
                      minimum_node.location)
        if minimum is not None:
            previous = minimum
        effect = None
        if band_node.get("action") is not None:
            effect = ctx.effect(band_node, f"band {name.value}", check_keys=False)
        bands.append(m.Band(str(name.value), minimum, effect))
    if bands and bands[-1].minimum is not None:
        ctx.error("BAND_LAST", f"{what}: the last band must have no min, so that every score "
                  "has a band", node.value[-1].location)
    return bands
