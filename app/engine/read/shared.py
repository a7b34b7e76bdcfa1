"""Reading the shared-state values a policy uses (`shared:`), and the list look-ups its
expressions made (`in_list`):

    shared:
      device_applications_24h: {count: applications, per: device.device_id, window: 24h}
      ids_per_device_7d: {distinct: applicant.id_number, per: device.device_id, window: 7d}
      days_since_decline: {days_since: DECLINE, per: applicant.id_number, window: 180d}
      fraud_links_30d: {linked: count, through: [device.device_id, applicant.mobile], window: 30d,
                        reasons: [DEVICE_TAMPERED, ID_INVALID]}

Each becomes the value `shared.<name>` (an integer, missing when the store could not answer or
the key field is missing). The engine never computes them: the service does, from its own
records, and hands them in; a stored decision keeps them (docs/anti_fraud.md).
"""
from __future__ import annotations

import re

from .. import model as m
from ..errors import WARNING
from ..language.expressions import PERSONAL_ENTRY_KINDS
from ..source import Node
from ..types import ENUM, STRING, T_BOOLEAN, T_INTEGER
from .context import NAME, BuildContext

SECTION = "shared"
MAX_WINDOW_SECONDS = 31 * 86400      # the counters keep 31 days of events (bounded memory)
MAX_DAYS_SINCE_SECONDS = 366 * 86400  # "last seen" facts are kept a year
_WINDOW = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
_KEYS = {"count", "distinct", "days_since", "linked", "per", "through", "window", "reasons",
         "description"}
_KINDS = ("count", "distinct", "days_since", "linked")
_STREAM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def read_shared(ctx: BuildContext, node: Node | None) -> list[m.SharedValue]:
    """The declared shared values, each put in scope as `shared.<name>`."""
    if node is None:
        return []
    if not node.is_map:
        ctx.error("SHARED_SHAPE", "shared is a mapping of names to what they count, e.g. "
                  "device_applications_24h: {count: applications, per: device.device_id, "
                  "window: 24h}", node.location)
        return []
    if SECTION in ctx.scope.sections or any(p.startswith(SECTION + ".") for p in ctx.scope.values):
        ctx.error("SHARED_NAME", "the input has a section named 'shared', which the shared "
                  "values use: rename the section", node.location)
        return []
    found = []
    for name, item in node.items():
        where = node.key_location(name)
        value = _one(ctx, name, where, item)
        if value is not None and ctx.add_value(value.name, T_INTEGER, True, where):
            found.append(value)
    return found


def _one(ctx: BuildContext, name: str, where, node: Node) -> m.SharedValue | None:
    if not NAME.match(name):
        ctx.error("SHARED_NAME", f"'{name}' is not a usable name: lower-case letters, digits "
                  "and _", where)
        return None
    what = f"shared value '{name}'"
    if not node.is_map:
        ctx.error("SHARED_SHAPE", f"{what}: a mapping such as {{count: applications, per: "
                  "device.device_id, window: 24h}", node.location)
        return None
    ctx.unknown_keys(node, _KEYS, what)
    kinds = [k for k in _KINDS if node.get(k) is not None]
    if len(kinds) != 1:
        ctx.error("SHARED_KIND", f"{what}: say exactly one of count, distinct, days_since or "
                  "linked", node.location)
        return None
    kind = kinds[0]
    subject_node = node.get(kind)
    subject = subject_node.value
    window, seconds = _window(ctx, node.get("window"), what, required=kind != "days_since",
                              longest=MAX_DAYS_SINCE_SECONDS if kind == "days_since"
                              else MAX_WINDOW_SECONDS, at=node.location)
    if kind == "linked":
        if subject not in ("count", "days_since"):
            ctx.error("SHARED_KIND", f"{what}: linked is 'count' (how many fraud declines share "
                      "a key) or 'days_since' (how recent the latest is)", subject_node.location)
            return None
        keys = _paths(ctx, node.get("through"), what, "through", many=True, at=node.location)
        reasons = _reasons(ctx, node.get("reasons"), what, node)
        if keys is None or reasons is None:
            return None
        return m.SharedValue(f"{SECTION}.{name}", f"linked_{subject}", keys, "fraud", window,
                             seconds, reasons)
    keys = _paths(ctx, node.get("per"), what, "per", many=False, at=node.location)
    if keys is None:
        return None
    if kind == "count" and not (isinstance(subject, str) and _STREAM.match(subject)):
        ctx.error("SHARED_STREAM", f"{what}: count names the events counted, in lower case "
                  "(applications, drawdowns)", subject_node.location)
        return None
    if kind == "distinct":
        counted = _paths(ctx, subject_node, what, "distinct", many=False)
        if counted is None:
            return None
        subject = counted[0]
    if kind == "days_since" and subject not in ctx.outcomes.order:
        ctx.error("SHARED_OUTCOME", f"{what}: days_since names one of the policy's outcomes: "
                  + ", ".join(ctx.outcomes.order), subject_node.location)
        return None
    if window is None and kind != "days_since":
        return None
    if kind == "days_since" and window is None:
        window, seconds = "366d", MAX_DAYS_SINCE_SECONDS
    return m.SharedValue(f"{SECTION}.{name}", kind, keys, subject, window, seconds)


def _window(ctx: BuildContext, node: Node | None, what: str, required: bool,
            longest: int, at=None) -> tuple[str | None, int | None]:
    if node is None:
        if required:
            ctx.error("SHARED_WINDOW", f"{what}: give a window such as 1h, 24h, 7d or 30d",
                      at or ctx.node.location)
        return None, None
    text = str(node.value)
    match = _WINDOW.match(text)
    seconds = int(match.group(1)) * _UNIT[match.group(2)] if match else None
    if seconds is None or seconds > longest:
        ctx.error("SHARED_WINDOW", f"{what}: window '{text}' is not a duration of at most "
                  f"{longest // 86400} days written as minutes, hours or days: 30m, 24h, 7d",
                  node.location)
        return None, None
    return text, seconds


def _paths(ctx: BuildContext, node: Node | None, what: str, key: str,
           many: bool, at=None) -> tuple[str, ...] | None:
    if node is None:
        ctx.error("SHARED_KEY", f"{what}: '{key}' names the input field{'s' if many else ''} "
                  "that key it, e.g. device.device_id", at or ctx.node.location)
        return None
    items = node.value if node.is_list else [node]
    if not items or (node.is_list and not many):
        ctx.error("SHARED_KEY", f"{what}: '{key}' names {'input fields' if many else 'one input field'}",
                  node.location)
        return None
    paths = []
    for item in items:
        path = item.value
        declared = ctx.scope.values.get(path) if isinstance(path, str) else None
        if declared is None or path not in ctx.scope.input_fields \
                or declared[0].name not in (STRING, ENUM):
            ctx.error("SHARED_KEY", f"{what}: '{path}' must be an input field holding text "
                      "(an ID number, phone, device id, IP address, employer or card number)",
                      item.location)
            return None
        ctx.read_paths.add(path)
        paths.append(path)
    return tuple(paths)


def _reasons(ctx: BuildContext, node: Node | None, what: str, parent: Node) -> tuple[str, ...] | None:
    if node is None or not node.is_list or not node.value:
        ctx.error("SHARED_REASONS", f"{what}: 'reasons' lists the DECLINE reason codes that mark "
                  "a fraud decline, e.g. [DEVICE_TAMPERED, ID_INVALID]",
                  (node or parent).location)
        return None
    return tuple(ctx.reason_codes(node, what))


def list_lookups(ctx: BuildContext) -> list[m.SharedValue]:
    """The in_list calls the policy's expressions made, one value per (list, field)."""
    found = []
    for name, (list_name, path, kind) in sorted(ctx.scope.list_lookups.items()):
        ctx.read_paths.add(path)
        if kind is None and ctx.pii_sources.get(path) not in PERSONAL_ENTRY_KINDS:
            ctx.error("LIST_KIND", f'in_list("{list_name}", {path}) matches both device and employer '
                      f"entries: {path} holds no personal data whose kind says which (an employer on "
                      f"the {list_name} would match a device id typed as its name). Name the kind: "
                      f'in_list("{list_name}", {path}, "device") or "employer"',
                      ctx.scope.list_lookup_at.get(name), WARNING)
        found.append(m.SharedValue(name, "list", (path,), list_name, type_name=T_BOOLEAN.name,
                                   entry_kind=kind))
    return found
