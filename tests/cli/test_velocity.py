"""`flask velocity accept-loss`: an admin's recorded decision that the anti-fraud memory counts as
whole again after Redis lost it (tests/faults/test_velocity_redis_down.py has the loss itself)."""
from app.extensions import services
from app.services.access_audit import AuditSearch
from support.keys import KEYS


def test_accepting_the_loss_needs_an_admin_key_and_a_reason_and_is_recorded(runner):
    refused = runner.invoke(args=["velocity", "accept-loss", "--key", KEYS["compliance"], "--reason", "x"])
    assert refused.exit_code == 1 and "needs an admin key" in refused.output
    unknown = runner.invoke(args=["velocity", "accept-loss", "--key", "no-such-key", "--reason", "x"])
    assert unknown.exit_code == 1 and "unknown API key" in unknown.output
    blank = runner.invoke(args=["velocity", "accept-loss", "--key", KEYS["admin"], "--reason", "  "])
    assert blank.exit_code == 1 and "say why" in blank.output
    events, _ = services(runner.app).access_audit.search(AuditSearch(action="velocity.accept_loss"))
    assert events == []  # nothing refused was recorded as done

    done = runner.invoke(args=["velocity", "accept-loss", "--key", KEYS["admin"],
                               "--reason", "Redis restarted without its AOF"])
    assert done.exit_code == 0, done.output
    assert "counts as whole again" in done.output
    # Redis says when its memory had begun (here: never written, so it did not say); a process's
    # memory is not kept
    assert "it had begun: not recorded" in done.output
    events, _ = services(runner.app).access_audit.search(AuditSearch(action="velocity.accept_loss"))
    assert [(e["role"], e["details"]["reason"]) for e in events] == [("admin", "Redis restarted without its AOF")]
