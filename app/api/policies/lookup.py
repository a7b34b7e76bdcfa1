from flask import current_app

from app.errors import ApiError


def policy_or_404(name):
    """The currently served policy of that name, or a 404 listing the known ones."""
    policies = current_app.extensions["firefly_policies"].current().policies
    policy = policies.get(name)
    if policy is None:
        known = ", ".join(sorted(policies)) or "none"
        raise ApiError(404, "unknown_policy", f"no policy named {name!r}; known policies: {known}")
    return policy
