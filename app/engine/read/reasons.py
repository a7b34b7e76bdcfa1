"""Reading a policy's reason-code catalogue: every code the policy uses must be in it, each with
the internal text (zh, en, for staff and compliance) and the text the applicant is shown
(`customer: {zh, en}`); `{parameter}` in any of them is filled from the policy's parameters, so a
text never quotes a threshold the rules no longer use."""
from __future__ import annotations

import re
from string import Formatter
from typing import Any

from .. import model as m
from ..errors import WARNING, did_you_mean
from ..source import Node
from .context import BuildContext

# A reason code: a name such as DTI_HIGH, as an id is (never a spreadsheet formula, never markup).
CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$")
# A reason is one short sentence, copied into every decision that gives it: a width or precision in
# a placeholder ({cap:50000000}) is applied before anything else could bound it.
MAX_FORMAT_WIDTH = 40
MAX_REASON_TEXT = 500


def read_reasons(ctx: BuildContext, node: Node | None,
                 parameters: dict[str, Any]) -> dict[str, m.ReasonText]:
    """The reason-code catalogue the policy names, checked against every code it uses; each code
    has an internal and a customer text, `{parameter}` in them filled from the parameters."""
    name = node.value if node is not None else "reason_codes"
    if not isinstance(name, str):
        ctx.error("REASONS_NAME", "reasons names the catalogue file under rules/, e.g. "
                  "reasons: reason_codes", node.location)
        name = "reason_codes"
    document = ctx.catalogue.documents.get(("reason_codes", name))
    texts = {code: m.ReasonText(code, t["zh"], t["en"], t["customer"]["zh"], t["customer"]["en"])
             for code, t in m.ENGINE_REASONS.items()}
    if document is None:
        ctx.error("REASONS_MISSING", f"no reason-code catalogue '{name}' under rules/ (a file "
                  "rules/<name>.yaml with reason_codes:)", (node or ctx.node).location)
        return texts
    ctx.used_files.add(document.file)
    entries = document.node.get("reason_codes")
    if entries is None or not entries.is_map:
        ctx.error("REASONS_SHAPE", "reason_codes must be a mapping of CODE: {zh, en}",
                  document.node.location)
        return texts
    # A catalogue written before customer texts existed (a stored version replayed today) still
    # loads, with a warning; once it gives one customer text, every code needs one.
    with_customer = any(entry.is_map and entry.get("customer") is not None
                        for _, entry in entries.items())
    for code, entry in entries.items():
        if not isinstance(code, str) or not CODE.match(code):
            ctx.error("REASON_CODE", f"reason code {code!r}: a code is a name such as DTI_HIGH (letters, "
                      "digits, '_', '.', '-', starting with a letter); it goes as it is into CSV files, "
                      "reviews and addresses, where '=', '+', '-' or '@' first would be a spreadsheet "
                      "formula", entry.location)
            continue
        text = _entry(ctx, code, entry, parameters, with_customer)
        if text is not None:
            texts[code] = text
    if not with_customer:
        for code in m.ENGINE_REASONS:  # no customer texts at all, as the catalogue says
            texts[code] = m.ReasonText(code, texts[code].zh, texts[code].en)
        ctx.error("REASON_CUSTOMER_TEXT", f"the catalogue {document.file} gives no customer "
                  "texts: a decision's reasons carry only the internal texts, which must not be "
                  "shown to applicants as they are (add customer: {zh, en} to every code)",
                  entries.location, WARNING)
    for code, location in ctx.reason_uses:
        if code not in texts:
            ctx.error("REASON_UNKNOWN", f"reason code '{code}' is not in the catalogue "
                      f"{document.file}{did_you_mean(code, texts)}", location)
    return texts


def _entry(ctx: BuildContext, code: str, entry: Node, parameters: dict[str, Any],
           with_customer: bool) -> m.ReasonText | None:
    """One code's texts, parameters filled in; None (and an error) when a text is missing."""
    if not entry.is_map or entry.get("zh") is None or entry.get("en") is None:
        ctx.error("REASON_TEXT", f"reason code {code} needs both zh and en text", entry.location)
        return None
    ctx.unknown_keys(entry, {"zh", "en", "customer"}, f"reason code {code}")
    customer = entry.get("customer")
    if customer is None and not with_customer:
        return m.ReasonText(code, *(_fill(ctx, entry.get(lang), parameters, code)
                                    for lang in ("zh", "en")))
    if customer is None or not customer.is_map or customer.get("zh") is None \
            or customer.get("en") is None:
        ctx.error("REASON_CUSTOMER_TEXT", f"reason code {code} needs customer: {{zh, en}}, the "
                  "text the applicant is shown (an internal reason such as a blacklist hit must "
                  "not reach the applicant)", (customer or entry).location)
        return None
    return m.ReasonText(code, *(_fill(ctx, text, parameters, code) for text in (
        entry.get("zh"), entry.get("en"), customer.get("zh"), customer.get("en"))))


def _fill(ctx: BuildContext, node: Node, parameters: dict[str, Any], code: str) -> str:
    """A reason text with `{parameter}` (or `{parameter:,}`, any format spec) replaced by the
    parameter's value, so that a text never quotes a threshold the rules no longer use."""
    text = str(node.value)
    try:
        fields = [(name, spec) for _, name, spec, _ in Formatter().parse(text) if name is not None]
    except ValueError:
        ctx.error("REASON_PLACEHOLDER", f"reason code {code}: unbalanced braces in '{text}' "
                  "(write {{ and }} for a brace)", node.location)
        return text
    values = {}
    for name, spec in fields:
        if name not in parameters:
            ctx.error("REASON_PLACEHOLDER", f"reason code {code}: '{{{name}}}' is not a parameter"
                      f"{did_you_mean(name, parameters)}", node.location)
            return text
        value = parameters[name]
        if any(int(digits) > MAX_FORMAT_WIDTH for digits in re.findall(r"\d+", spec or "")):
            ctx.error("REASON_PLACEHOLDER", f"reason code {code}: '{{{name}:{spec}}}' pads or "
                      f"rounds to more than {MAX_FORMAT_WIDTH} characters; a reason is one short "
                      "sentence", node.location)
            return text
        try:
            values[name] = (", ".join(map(str, value)) if isinstance(value, tuple)
                            else format(value, spec or ""))
        except (TypeError, ValueError):
            ctx.error("REASON_PLACEHOLDER", f"reason code {code}: '{{{name}:{spec}}}' is not a "
                      f"format for {value!r}", node.location)
            return text
    # every field is now a plain name with its value already formatted
    filled = Formatter().vformat(_plain_fields(text), (), values)
    if len(filled) > MAX_REASON_TEXT:
        ctx.error("REASON_TEXT", f"reason code {code}: the text has {len(filled)} characters; a reason "
                  f"is one short sentence, at most {MAX_REASON_TEXT} (it is in every decision that "
                  "gives it)", node.location)
    return filled


def _plain_fields(text: str) -> str:
    """The text with format specs removed from its fields ('{cap:,}' -> '{cap}')."""
    parts = []
    for literal, name, _, _ in Formatter().parse(text):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            parts.append("{" + name + "}")
    return "".join(parts)
