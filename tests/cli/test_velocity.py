"""`flask velocity accept-loss`: an admin's recorded decision that the anti-fraud memory counts as
whole again after Redis lost it (tests/faults/test_velocity_redis_down.py has the loss itself);
`flask velocity rebuild` (tests/services/test_velocity_rebuild.py has what it rebuilds)."""
from app.extensions import services
from app.services.access_audit import AuditSearch
from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.keys import KEYS
from support.tamper import tamper


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


def test_rebuilding_needs_an_admin_key_is_recorded_and_says_what_it_did(runner, client, auth):
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    body["device"]["device_id"] = "DEV-CLI-REBUILD"
    decided = client.post("/v1/decisions/zhishandai.application", json=body, headers=auth("channel"))
    assert decided.status_code == 201, decided.get_json()
    refused = runner.invoke(args=["velocity", "rebuild", "--key", KEYS["compliance"], "--reason", "x"])
    assert refused.exit_code == 1 and "needs an admin key" in refused.output
    events, _ = services(runner.app).access_audit.search(AuditSearch(action="velocity.rebuild"))
    assert events == []

    done = runner.invoke(args=["velocity", "rebuild", "--key", KEYS["admin"], "--reason", "Redis flushed"])
    assert done.exit_code == 0, done.output
    assert "1 of 1 decisions read" in done.output  # the progress line
    assert "replayed 1 decisions made from" in done.output
    assert "counts as whole from" in done.output
    events, _ = services(runner.app).access_audit.search(AuditSearch(action="velocity.rebuild"))
    assert [(e["role"], e["details"]["reason"]) for e in events] == [("admin", "Redis flushed")]

    later = runner.invoke(args=["velocity", "rebuild", "--key", KEYS["admin"], "--reason", "again",
                                "--since", "2999-01-01"])
    assert later.exit_code == 1 and "in the future" in later.output


def test_a_rebuild_over_a_row_altered_in_the_database_names_it_and_fails(runner, client, auth, database_url):
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    body["device"]["device_id"] = "DEV-CLI-ALTERED"
    decided = client.post("/v1/decisions/zhishandai.application", json=body, headers=auth("channel"))
    assert decided.status_code == 201, decided.get_json()
    altered = decided.get_json()["decision_id"]
    tamper(database_url, ("UPDATE decisions SET customer_group = 'PREMIUM' WHERE id = :i", {"i": altered}))
    done = runner.invoke(args=["velocity", "rebuild", "--key", KEYS["admin"], "--reason", "Redis flushed"])
    assert done.exit_code == 1, done.output
    assert "not replayed: 1 decisions (row MAC does not verify)" in done.output
    assert f"  {altered}\n" in done.output
    assert "not marked whole" in done.output and "counts as whole from" not in done.output


def test_a_rebuild_since_writes_the_declines_on_review_of_earlier_referrals_and_says_so(runner, client, auth):
    """A referral made before --since and declined on review after it: the rebuild reads the
    review (the decision is not among those replayed) and says it wrote its marks."""
    import datetime
    import time

    body = as_of(examples("refer_thin_file")["refer_thin_file"], business_date(utc_now()))
    body["device"]["device_id"] = "DEV-CLI-EARLIER"
    decided = client.post("/v1/decisions/zhishandai.application", json=body, headers=auth("channel"))
    assert decided.status_code == 201 and decided.get_json()["outcome"] == "REFER", decided.get_json()
    since = (utc_now() + datetime.timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (since - utc_now()).total_seconds()) + 0.05)  # the review after --since
    review = {"outcome": "DECLINE", "reason_codes": ["IDENTITY_NOT_VERIFIED"], "comment": "not the applicant"}
    closed = client.post(f"/v1/decisions/{decided.get_json()['decision_id']}/review", json=review,
                         headers=auth("underwriter"))
    assert closed.status_code in (200, 201), closed.get_json()
    done = runner.invoke(args=["velocity", "rebuild", "--key", KEYS["admin"], "--reason", "Redis flushed",
                               "--since", since.strftime("%Y-%m-%dT%H:%M:%S")])
    assert done.exit_code == 0, done.output
    assert "replayed 0 decisions" in done.output
    assert "read 1 reviews made since then of referrals made before: the marks of 1 declines on review written" \
        in done.output
    assert "counts as whole from" in done.output
