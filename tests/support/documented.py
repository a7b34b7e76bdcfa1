"""Where an API request's answer is documented in /openapi.json."""
# The files a page loads (the explorer), not operations of the API.
PAGE_RESOURCES = {"static", "docs.assets", "docs.explorer_js"}


def documented_path(rule, view_args, documented):
    """The OpenAPI path of a Flask URL rule (a decision's policy by its name in the request)."""
    path = rule.rule
    for converter in ("decision_id", "int", "line_id"):
        path = path.replace(f"<{converter}:", "<")
    if "<policy_name:policy_name>" in path:
        named = path.replace("<policy_name:policy_name>", str(view_args.get("policy_name", "")))
        if named in documented:
            return named
        # a policy not served (404): its answers are those of every policy's path
        return next(p for p in sorted(documented)
                    if p.startswith("/v1/decisions/") and "{" not in p and p.count("/") == 3)
    return path.replace("<", "{").replace(">", "}")
