"""The API keys of the test apps, one per role."""
KEYS = {"channel": "test-channel-key", "compliance": "test-compliance-key", "admin": "test-admin-key",
        "author": "test-author-key", "approver": "test-approver-key", "underwriter": "test-underwriter-key"}
TEST_API_KEYS = ",".join(f"test-{role}:{role}:{key}" for role, key in KEYS.items())
