"""Reading a policy's challenger (`challenger:`): another policy of the same root run beside it.

    challenger: {policy: zhishandai.application_b, mode: shadow}           # decided and stored beside
    challenger: {policy: zhishandai.application_b, mode: split, share: 10}  # answers 10% of applicants
"""
from __future__ import annotations

from .. import model as m
from ..errors import did_you_mean
from ..source import Node
from .context import BuildContext


def read_challenger(ctx: BuildContext, node: Node | None) -> m.Challenger | None:
    if node is None:
        return None
    if not node.is_map:
        ctx.error("CHALLENGER_SHAPE", "challenger is a mapping such as {policy: NAME, mode: "
                  "shadow} or {policy: NAME, mode: split, share: 10}", node.location)
        return None
    ctx.unknown_keys(node, {"policy", "mode", "share"}, "challenger")
    policy_node, mode_node, share_node = node.get("policy"), node.get("mode"), node.get("share")
    policy = policy_node.value if policy_node else None
    # that it names another policy of the root is checked on the whole root (loading.py)
    if not isinstance(policy, str) or policy == ctx.document.name:
        ctx.error("CHALLENGER_POLICY", "challenger: policy names another policy of this root "
                  "(the challenger), e.g. policy: zhishandai.application_b",
                  (policy_node or node).location)
        return None
    mode = mode_node.value if mode_node else None
    if mode not in (m.SHADOW, m.SPLIT):
        ctx.error("CHALLENGER_MODE", f"challenger: mode must be shadow or split"
                  f"{did_you_mean(str(mode), (m.SHADOW, m.SPLIT))}", (mode_node or node).location)
        return None
    share = share_node.value if share_node else None
    if mode == m.SPLIT and (not isinstance(share, int) or isinstance(share, bool)
                            or not 1 <= share <= 99):
        ctx.error("CHALLENGER_SHARE", "challenger: a split needs share, the whole per cent of "
                  "applicants the challenger decides (1 to 99)", (share_node or node).location)
        return None
    if mode == m.SHADOW and share_node is not None:
        ctx.error("CHALLENGER_SHARE", "challenger: a shadow decides every application; share "
                  "is for a split", share_node.location)
        return None
    return m.Challenger(policy, mode, share if mode == m.SPLIT else 100, node.location)
