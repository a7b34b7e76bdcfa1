"""Fixtures of the engine tests."""
from __future__ import annotations

import pytest

from engine.support import REFERENCE, reference_root


@pytest.fixture(scope="session")
def reference():
    """The reference policy of the repository's root, loaded once for the session."""
    result = reference_root()
    assert result.ok, "the reference policy does not load:\n" + "\n".join(
        str(d) for d in result.diagnostics)
    return result.policies[REFERENCE]
