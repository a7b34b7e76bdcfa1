"""The console through Flask's test client: sign-in, roles, CSRF, the idle timeout, search with
personal data hashed and kept out of addresses, one decision explained, replay, language, policies."""
import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from app.extensions import services
from app.services.clock import business_date, utc_now
from app.storage.models import ConsoleSession
from support.keys import KEYS
from tests.console.conftest import PASSWORD, csrf_token, post_form, sign_in


def text(answer):
    return answer.get_data(as_text=True)


def test_pages_need_a_session_and_send_strict_headers(client):
    answer = client.get("/console/decisions")
    assert answer.status_code == 302 and "/console/sign-in" in answer.headers["Location"]
    page = client.get("/console/sign-in")
    assert page.status_code == 200 and "登录" in text(page)
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in text(page)


OPEN_PAGES = {"console.sign_in", "console.home", "console.static", "console.switch_language", "console.sign_out"}


def test_every_console_page_but_sign_in_needs_a_session(client, app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in OPEN_PAGES:
            continue
        path = re.sub(r"<[^>]+>", "0" * 32, rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            token = csrf_token(text(client.get("/console/sign-in")))
            answer = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert answer.status_code == 302, (method, path)
            assert "/console/sign-in" in answer.headers["Location"]


def test_sign_in_sets_a_secure_httponly_samesite_cookie_and_sign_out_ends_the_session(client, accounts, app):
    answer = sign_in(client, "li.wei")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/")
    assert client.get("/console/").headers["Location"].endswith("/console/decisions")
    cookie = answer.headers["Set-Cookie"]
    assert "firefly_console=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/console" in cookie
    page = client.get("/console/decisions")
    assert page.status_code == 200 and "li.wei" in text(page)
    stolen = client.get_cookie("firefly_console", path="/console").value
    out = client.post("/console/sign-out", data={"csrf_token": csrf_token(text(page))})
    assert out.status_code == 303
    assert client.get("/console/decisions").status_code == 302
    # the cookie as it was before signing out opens nothing: the session ended on the server
    client.set_cookie("firefly_console", stolen, path="/console")
    assert client.get("/console/decisions").status_code == 302


def test_wrong_passwords_and_channel_keys_do_not_open_the_console(client, accounts):
    wrong = sign_in(client, "li.wei", PASSWORD + "!")
    assert wrong.status_code == 401 and "用户名或密码不正确" in text(wrong)
    assert client.get("/console/decisions", headers={"X-API-Key": KEYS["compliance"]}).status_code == 302
    page = client.get("/console/sign-in")
    channel = client.post("/console/sign-in", data={"key-csrf_token": csrf_token(text(page)),
                                                    "key-api_key": KEYS["channel"]})
    assert channel.status_code == 401 and "渠道密钥" in text(channel)
    assert client.get("/console/decisions").status_code == 302
    key = client.post("/console/sign-in", data={"key-csrf_token": csrf_token(text(page)),
                                                "key-api_key": KEYS["compliance"]})
    assert key.status_code == 303
    assert client.get("/console/decisions").status_code == 200


def test_every_form_refuses_a_post_without_its_csrf_token(client, accounts, decided):
    unsigned = client.post("/console/sign-in", data={"account-username": "li.wei", "account-password": PASSWORD})
    assert unsigned.status_code == 400
    assert client.get("/console/decisions").status_code == 302     # not signed in
    sign_in(client, "li.wei")
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    for action, data in (("/console/sign-out", {}), ("/console/language", {"lang": "en"}),
                         ("/console/decisions", {"outcome": "DECLINE"}),
                         (f"/console/decisions/{decision_id}/replay", {})):
        refused = client.post(action, data=data)
        assert refused.status_code == 400, action
        assert "表单已过期" in text(refused)
        forged = client.post(action, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 400, action
    assert client.get("/console/decisions").status_code == 200  # still signed in


def test_an_idle_session_ends(client, accounts, app):
    sign_in(client, "li.wei")
    assert client.get("/console/decisions").status_code == 200
    idle = services(app).accounts.idle_timeout
    with services(app).database.session() as session:
        session.execute(update(ConsoleSession).values(last_seen=utc_now() - idle - idle))
        session.commit()
    ended = client.get("/console/decisions")
    assert ended.status_code == 302 and "ended=ended" in ended.headers["Location"]
    assert "会话已结束" in text(client.get(ended.headers["Location"]))


@pytest.mark.parametrize("role, decisions, policies", [
    ("compliance", 200, 200), ("underwriter", 200, 200), ("admin", 403, 200), ("author", 403, 200)])
def test_roles_open_their_pages(client, accounts, role, decisions, policies):
    sign_in(client, accounts[role])
    first = client.get("/console/").headers["Location"]      # the first page is one the role may open
    assert first.endswith("/console/decisions" if decisions == 200 else "/console/policies")
    assert client.get("/console/decisions").status_code == decisions
    assert client.get("/console/policies").status_code == policies


def test_search_filters_counts_and_pages(compliance, decided):
    declines = compliance.get("/console/decisions?outcome=DECLINE")
    html = text(declines)
    found = set(re.findall(r"/console/decisions/([0-9a-f]{32})", html))
    expected = {a["decision_id"] for a in decided.values() if a["outcome"] == "DECLINE"}
    assert found == expected and expected
    assert f'<span id="total">{len(expected)}</span>' in html
    everything = text(compliance.get("/console/decisions"))
    assert f'<span id="total">{len(decided)}</span>' in everything
    by_rule = text(compliance.get("/console/decisions?rule=EL-01"))
    assert set(re.findall(r"/console/decisions/([0-9a-f]{32})", by_rule)) == \
        {decided["decline_overdue_pattern"]["decision_id"]}
    bad = compliance.get("/console/decisions?outcome=MAYBE&date_from=yesterday")
    assert bad.status_code == 400 and "field-error" in text(bad)


def test_an_id_number_is_hashed_on_the_way_in_and_never_in_an_address(compliance, decided, app):
    from support.applicants import examples
    clear = examples()["decline_overdue_pattern"]["applicant"]["id_number"]
    answer = post_form(compliance, "/console/decisions", "/console/decisions", {"id_number": clear})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert clear not in location and clear[-4:] not in location
    assert parse_qs(urlsplit(location).query)["id_hash"] == list(services(app).records.search_hash(clear))
    page = text(compliance.get(location))
    assert clear not in page
    assert set(re.findall(r"/console/decisions/([0-9a-f]{32})", page)) == \
        {decided["decline_overdue_pattern"]["decision_id"]}


def test_a_decline_is_explained_from_the_stored_release(compliance, decided):
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    html = text(compliance.get(f"/console/decisions/{decision_id}"))
    assert 'id="outcome">DECLINE' in html
    assert "BUREAU_OVERDUE_PATTERN" in html and "征信近24个月连续逾期3期或累计逾期6期" in html
    # the rule that matched, with its name and condition as written and the values it read
    assert "连三累六" in html and "max_consecutive_overdue_24m &gt;= params.overdue_consecutive_decline" in html
    assert "rules/eligibility.yaml:" in html
    assert "<code>params.overdue_consecutive_decline</code> = <code>3</code>" in html  # the stored parameter
    assert 'id="record-intact"' in html                   # the chained log's integrity check
    assert 'id="summary"' in html and "BUREAU_OVERDUE_PATTERN</code>, eligibility <code>EL-01" in html
    assert re.search(r"overdue_months_24m</code> = <code>\d+</code>", html)
    assert 'class="missing"' in html                      # a value that was missing is marked
    assert "评分卡" in html and "额度计算" in html
    assert "3201**********" in html or "**********" in html  # masked input, never the clear number
    from support.applicants import examples
    assert examples()["decline_overdue_pattern"]["applicant"]["id_number"] not in html
    printable = compliance.get(f"/console/decisions/{decision_id}/print")
    assert printable.status_code == 200 and "BUREAU_OVERDUE_PATTERN" in text(printable)
    assert compliance.get("/console/decisions/" + "0" * 32).status_code == 404


def test_rules_edited_in_the_database_are_not_quoted_and_the_page_says_so(compliance, decided, app):
    """The rule text shown beside a decision is its stored version's; edited in the database (its
    files no longer hash to the version the decision names), no rule is quoted, the page says
    why, and the version's own page refuses (409) instead of showing the edited files."""
    from support.tamper import edit_version_files
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    policy_hash = services(app).records.row(decision_id).policy_hash
    edit_version_files(services(app), policy_hash, "连三累六", "连五累十")
    html = text(compliance.get(f"/console/decisions/{decision_id}"))
    assert 'id="rules-altered"' in html
    assert "连五累十" not in html and "max_consecutive_overdue_24m &gt;=" not in html  # no rule quoted
    assert 'id="outcome">DECLINE' in html  # the decision itself, from its own (intact) row
    assert compliance.get(f"/console/policies/{policy_hash}").status_code == 409


def test_the_pdf_export_holds_the_explanation(compliance, decided):
    import io

    from pypdf import PdfReader
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    answer = compliance.get(f"/console/decisions/{decision_id}/pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert f'filename="decision-{decision_id}.pdf"' in answer.headers["Content-Disposition"]
    document = PdfReader(io.BytesIO(answer.data))
    assert decision_id in document.metadata.title
    words = "".join(page.extract_text() for page in document.pages)
    assert "BUREAU_OVERDUE_PATTERN" in words and "连三累六" in words and "EL-01" in words


def test_without_weasyprint_the_pdf_export_says_why(compliance, decided, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "weasyprint", None)   # as on a host where it cannot be imported
    answer = compliance.get(f"/console/decisions/{decided['decline_overdue_pattern']['decision_id']}/pdf")
    assert answer.status_code == 503 and "无法生成 PDF" in text(answer)
    assert compliance.get("/console/decisions").status_code == 200


def test_replay_on_the_stored_version_is_identical(compliance, decided):
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    page = f"/console/decisions/{decision_id}"
    answer = post_form(compliance, page, f"{page}/replay", {})
    assert answer.status_code == 200
    assert 'id="replay-verdict"' in text(answer) and "完全一致" in text(answer)


def test_underwriters_read_but_do_not_replay(client, accounts, decided):
    sign_in(client, accounts["underwriter"])
    referred = text(client.get("/console/decisions?outcome=REFER"))
    assert 'id="nav-referred"' in referred
    assert set(re.findall(r"/console/decisions/([0-9a-f]{32})", referred)) == \
        {a["decision_id"] for a in decided.values() if a["outcome"] == "REFER"}
    page = f"/console/decisions/{decided['refer_thin_file']['decision_id']}"
    html = text(client.get(page))
    assert 'id="replay"' not in html
    assert client.post(f"{page}/replay", data={"csrf_token": csrf_token(html)}).status_code == 403


def test_the_language_switch_keeps_the_page(compliance, decided):
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    page = f"/console/decisions/{decision_id}"
    answer = post_form(compliance, page, "/console/language", {"lang": "en", "back": page})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(page)
    english = text(compliance.get(page))
    assert "Reasons, most important first" in english and 'lang="en"' in english
    assert "Three consecutive or six total overdue months in 24" in english
    post_form(compliance, page, "/console/language", {"lang": "zh", "back": "https://elsewhere.example/"})
    assert "原因（按重要性排序）" in text(compliance.get(page))


def test_policies_list_files_and_diff(compliance, decided, app):
    html = text(compliance.get("/console/policies"))
    served = services(app).registry.current().policies["zhishandai.application"]
    assert served.hash[:16] in html
    files = text(compliance.get(f"/console/policies/{served.hash}"))
    assert "rules/eligibility.yaml" in files and "连三累六" in files
    same = compliance.get(f"/console/policies/diff?old={served.hash}&new={served.hash}")
    assert same.status_code == 200 and 'id="no-changes"' in text(same)
    assert compliance.get("/console/policies/" + "f" * 64).status_code == 404
    assert compliance.get("/console/policies/diff?old=x&new=y").status_code == 400


def test_no_page_carries_a_script(compliance, decided):
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    for path in ("/console/decisions", f"/console/decisions/{decision_id}", f"/console/decisions/{decision_id}/print",
                 "/console/policies"):
        page = compliance.get(path)
        assert page.status_code == 200 and "<script" not in text(page), path
        assert "script-src" not in page.headers["Content-Security-Policy"]


def test_every_view_is_in_the_access_audit(compliance, decided, app):
    from app.services.access_audit import AuditSearch
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    compliance.get("/console/decisions?outcome=DECLINE")
    compliance.get(f"/console/decisions/{decision_id}")
    post_form(compliance, f"/console/decisions/{decision_id}", f"/console/decisions/{decision_id}/replay", {})
    compliance.get("/console/policies")
    events, _ = services(app).access_audit.search(AuditSearch(actor="li.wei", limit=200))
    seen = {(e["action"], tuple(e["decision_ids"])[:1]) for e in events}
    assert ("decision.read", (decision_id,)) in seen
    assert ("decision.replay", (decision_id,)) in seen
    assert any(action == "decision.search" for action, _ in seen)
    assert ("console.policies", ()) in seen
    assert all(e["role"] == "compliance" for e in events)


def test_a_decision_taken_away_is_audited_as_an_export(compliance, decided, app):
    """The printable view and the PDF are copies that leave the service: the access log records them
    as decision.export with their form, not as a page read, so compliance can tell who took one."""
    from app.services.access_audit import AuditSearch
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    assert compliance.get(f"/console/decisions/{decision_id}/print").status_code == 200
    assert compliance.get(f"/console/decisions/{decision_id}/pdf").status_code == 200
    events, _ = services(app).access_audit.search(AuditSearch(actor="li.wei", decision_id=decision_id, limit=200))
    assert [(e["action"], e["details"]) for e in events if e["action"].startswith("decision.")] == [
        ("decision.export", {"as": "pdf"}), ("decision.export", {"as": "print"})]  # newest first


def test_a_personal_search_is_audited_by_its_hash_only(compliance, decided, app):
    from app.services.access_audit import AuditSearch
    from support.applicants import examples
    clear = examples()["decline_overdue_pattern"]["applicant"]["id_number"]
    location = post_form(compliance, "/console/decisions", "/console/decisions", {"id_number": clear}).headers["Location"]
    compliance.get(location)
    events, _ = services(app).access_audit.search(AuditSearch(actor="li.wei", action="decision.search_personal"))
    assert len(events) == 1 and clear not in str(events)
    assert events[0]["decision_ids"] == [decided["decline_overdue_pattern"]["decision_id"]]


def test_releases_show_their_state_and_who_submitted_them(compliance, app):
    releases = services(app).releases.list()
    html = text(compliance.get("/console/policies"))
    assert 'id="releases"' in html
    for release in releases:
        assert release["id"][:16] in html
        page = compliance.get(f"/console/releases/{release['id']}")
        assert page.status_code == 200 and 'id="release-events"' in text(page)
        assert release["created_by"] in text(page)
    assert compliance.get("/console/releases/nope").status_code == 404


def test_every_text_has_both_languages():
    from app.console.texts import TEXTS
    assert all(zh and en and zh != en or key in ("switch_language",) for key, (zh, en) in TEXTS.items())


def test_replay_on_another_version_shows_what_changes_and_the_policy_diff_shows_why(compliance, two_versions):
    answers, old, new = two_versions
    decision_id = answers["decline_overdue_pattern"]["decision_id"]
    page = f"/console/decisions/{decision_id}"
    html = text(compliance.get(page))
    assert f'<option value="{new}">2099.12.2' in html
    answer = post_form(compliance, page, f"{page}/replay", {"hash": new})
    replayed = text(answer)
    assert answer.status_code == 200 and 'id="differences"' in replayed
    assert re.search(r"<code>outcome</code></td><td><code>&#34;DECLINE&#34;</code></td><td><code>&#34;REFER&#34;", replayed)
    diff = text(compliance.get(f"/console/policies/diff?old={old}&new={new}"))
    assert "policies/zhishandai/application.yaml" in diff
    assert re.search(r'class="del">-\s+overdue_consecutive_decline: 3', diff)
    assert re.search(r'class="add">\+\s+overdue_consecutive_decline: 4', diff)
    unknown = post_form(compliance, page, f"{page}/replay", {"hash": "e" * 64})
    assert unknown.status_code == 409 or unknown.status_code == 404
    assert 'id="replay-error"' in text(unknown)


def test_a_row_altered_in_the_database_is_flagged_and_not_replayed(compliance, decided, database_url):
    from tests.services.test_audit_log import tamper
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    tamper(database_url, ('UPDATE decisions SET outcome = \'APPROVE\', "limit" = 500000 WHERE id = :i',
                          {"i": decision_id}))
    page = f"/console/decisions/{decision_id}"
    html = text(compliance.get(page))
    assert 'id="record-altered"' in html and "存储后被改动" in html
    refused = post_form(compliance, page, f"{page}/replay", {})
    assert refused.status_code == 409 and "record_altered" in text(refused)


def test_a_submitted_release_shows_who_approved_it_its_files_and_its_diff(compliance, app, policy_root):
    from app.services.access import Principal
    from app.services.releases import ReleaseFiles
    from support.http import set_version
    releases = services(app).releases
    active = releases.active_id()
    set_version(policy_root, "2099.12.1")  # (any version but the reference policy's own)
    submitted = releases.submit(ReleaseFiles.from_folder(policy_root), Principal("chen.jie", "author"),
                                "the December release")
    releases.approve(submitted["id"], Principal("ma.li", "approver"), "checked the cases")
    page = text(compliance.get(f"/console/releases/{submitted['id']}"))
    assert "approved" in page and "chen.jie (author)" in page and "ma.li (approver)" in page
    assert "checked the cases" in page
    assert "policies/zhishandai/application.yaml" in page and 'class="release-file"' in page
    assert 'id="release-changes"' in page                  # against the active release
    compared = text(compliance.get(f"/console/releases/{submitted['id']}?against={active}"))
    served = services(app).registry.current().policies["zhishandai.application"].version
    assert re.search(rf'class="del">-version: &#34;{re.escape(served)}&#34;', compared), compared[-3000:]
    assert re.search(r'class="add">\+version: &#34;2099\.12\.1&#34;', compared)
    assert compliance.get(f"/console/releases/{submitted['id']}?against=../x").status_code == 400


def test_an_underwriter_closes_a_referral_from_the_queue(client, accounts, decided, app):
    from app.services.access_audit import AuditSearch
    sign_in(client, accounts["underwriter"])
    refer_id = decided["refer_thin_file"]["decision_id"]
    queue = text(client.get("/console/decisions?outcome=REFER&waiting=y"))
    assert refer_id in queue and 'name="waiting"' in queue
    page = f"/console/decisions/{refer_id}"
    html = text(client.get(page))
    assert 'id="review-form"' in html and '<option value="APPROVE">' in html
    answer = post_form(client, page, f"{page}/review", {
        "outcome": "APPROVE", "limit": "30000", "reason_codes": "MANUAL_VERIFIED, INCOME_CONFIRMED",
        "comment": "payslips and six months of bank statements seen"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"{page}?closed=1")
    closed = text(client.get(answer.headers["Location"]))
    assert 'id="review-closed"' in closed and 'id="review-form"' not in closed   # closed once
    assert 'id="final-decision"' in closed and "30,000" in closed
    assert "<code>MANUAL_VERIFIED</code>, <code>INCOME_CONFIRMED</code>" in closed
    assert "payslips and six months of bank statements seen" in closed and "zhao.min (underwriter)" in closed
    # the same review the API stores, and the queue no longer holds it (the REFER list still does)
    notes = services(app).reviews.notes(refer_id)
    assert [(n["kind"], n["outcome"], n["limit"], n["reason_codes"]) for n in notes] == \
        [("review", "APPROVE", 30000, ["MANUAL_VERIFIED", "INCOME_CONFIRMED"])]
    assert refer_id not in text(client.get("/console/decisions?outcome=REFER&waiting=y"))
    assert refer_id in text(client.get("/console/decisions?outcome=REFER"))
    events, _ = services(app).access_audit.search(AuditSearch(actor="zhao.min", action="decision.review"))
    assert [e["decision_ids"] for e in events] == [[refer_id]] and events[0]["role"] == "underwriter"
    # a second close is refused by the use case, not stored twice
    again = client.post(f"{page}/review", data={"csrf_token": csrf_token(closed), "outcome": "DECLINE",
                                                 "reason_codes": "X", "comment": "again"})
    assert again.status_code == 409 and "already_reviewed" in text(again)
    assert len(services(app).reviews.notes(refer_id)) == 1


def test_a_decision_edited_in_the_database_is_marked_in_the_search_list(client, accounts, decided, database_url):
    """The list compliance browses shows each row's outcome and limit: one edited in the database
    (a DECLINE made an APPROVE) is marked there, not only on its own page."""
    from support.tamper import tamper
    declined = decided["decline_overdue_pattern"]["decision_id"]
    sign_in(client, accounts["compliance"])
    assert 'class="missing row-altered"' not in text(client.get("/console/decisions"))
    tamper(database_url, ("UPDATE decisions SET outcome = 'APPROVE' WHERE id = :i", {"i": declined}))
    listed = text(client.get("/console/decisions?outcome=APPROVE"))
    row = next(r for r in listed.split("<tr") if declined[:12] in r)
    assert 'class="missing row-altered"' in row


def test_a_final_decision_edited_in_the_database_is_shown_as_altered(client, accounts, decided, app, database_url):
    """The page shows the underwriter's final outcome and limit beside the automatic decision: a
    review raised in the database (30,000 to 300,000) is marked as failing its integrity check,
    not shown as the underwriter's."""
    import json
    from app.services.reviews import Review
    from app.services.access import Principal
    from support.tamper import tamper
    refer_id = decided["refer_thin_file"]["decision_id"]
    note = services(app).reviews.close_referral(refer_id, Review("APPROVE", 30000, ("MANUAL_VERIFIED",), "seen"),
                                                Principal("zhao.min", "underwriter"))
    sign_in(client, accounts["compliance"])
    page = f"/console/decisions/{refer_id}"
    html = text(client.get(page))
    assert 'id="final-decision"' in html and 'id="review-altered"' not in html
    body = json.dumps({"outcome": "APPROVE", "limit": 300000, "reason_codes": ["MANUAL_VERIFIED"], "comment": "seen"})
    tamper(database_url, ("UPDATE decision_reviews SET body = :b WHERE id = :i", {"b": body, "i": note["id"]}))
    html = text(client.get(page))
    assert 'id="review-altered"' in html and "300,000" in html


@pytest.mark.parametrize("fields, status, problem", [
    ({"outcome": "APPROVE", "reason_codes": "OK", "comment": "fine"}, 422, "an approval needs a limit"),
    ({"outcome": "DECLINE", "limit": "5000", "reason_codes": "NO", "comment": "no"}, 422, "a decline has no limit"),
    ({"outcome": "DECLINE", "reason_codes": "", "comment": "no"}, 422, "at least one reason code"),
    ({"outcome": "DECLINE", "reason_codes": "NO", "comment": "   "}, 422, "say why"),
    ({"outcome": "WATCH", "reason_codes": "NO", "comment": "no"}, 422, "Not a valid choice"),
    ({"outcome": "APPROVE", "limit": "0", "reason_codes": "OK", "comment": "x"}, 422, "Number must be"),
    ({"outcome": "APPROVE", "limit": "12.5", "reason_codes": "OK", "comment": "x"}, 422, "Not a valid integer"),
    ({"outcome": "DECLINE", "reason_codes": "<script>", "comment": "x"}, 422, "not a reason code"),
    ({"outcome": "DECLINE", "reason_codes": " ".join(f"R{i}" for i in range(21)), "comment": "x"}, 422,
     "at most 20 reason codes"),
    ({"outcome": "DECLINE", "reason_codes": "NO", "comment": "x" * 4001}, 422, "4000"),
])
def test_the_close_form_refuses_what_the_api_refuses(client, accounts, decided, app, fields, status, problem):
    sign_in(client, accounts["underwriter"])
    page = f"/console/decisions/{decided['refer_thin_file']['decision_id']}"
    answer = post_form(client, page, f"{page}/review", fields)
    html = text(answer)
    assert answer.status_code == status and 'id="review-refused"' in html and "复核结论未保存" in html
    assert problem in html and 'class="field-error"' in html
    assert 'id="review-form"' in html                      # the form again, to correct
    assert services(app).reviews.notes(decided["refer_thin_file"]["decision_id"]) == []


def test_only_an_underwriter_closes_only_a_waiting_refer(client, accounts, decided, app):
    refer = f"/console/decisions/{decided['refer_thin_file']['decision_id']}"
    decline = f"/console/decisions/{decided['decline_overdue_pattern']['decision_id']}"
    sign_in(client, accounts["compliance"])
    html = text(client.get(refer))
    assert 'id="review-form"' not in html
    refused = client.post(f"{refer}/review", data={"csrf_token": csrf_token(html), "outcome": "DECLINE",
                                                    "reason_codes": "NO", "comment": "no"})
    assert refused.status_code == 403
    sign_in(client, accounts["underwriter"])
    html = text(client.get(decline))
    assert 'id="review-form"' not in html                  # a DECLINE is not in the queue
    forced = client.post(f"{decline}/review", data={"csrf_token": csrf_token(html), "outcome": "APPROVE",
                                                     "limit": "50000", "reason_codes": "OK", "comment": "let it through"})
    assert forced.status_code == 409 and "not_referred" in text(forced) and "只有转人工" in text(forced)
    unsigned = client.post(f"{refer}/review", data={"outcome": "DECLINE", "reason_codes": "NO", "comment": "no"})
    assert unsigned.status_code == 400                     # CSRF
    missing = client.post("/console/decisions/" + "0" * 32 + "/review",
                          data={"csrf_token": csrf_token(html), "outcome": "DECLINE", "reason_codes": "NO",
                                "comment": "no"})
    assert missing.status_code == 404
    assert services(app).reviews.notes(decided["refer_thin_file"]["decision_id"]) == []


def test_an_outcome_the_console_does_not_know_still_shows(compliance, decided, app, database_url):
    """A policy's own vocabulary (a periodic review's WATCH, FREEZE ...) is shown as it is."""
    html = text(compliance.get(f"/console/decisions/{decided['refer_thin_file']['decision_id']}"))
    assert 'class="outcome outcome-REFER"' in html
    from flask import render_template_string
    with app.test_request_context("/console/"):
        shown = render_template_string('<span class="outcome outcome-{{ o }}">{{ o }}</span>', o="FREEZE")
    assert ">FREEZE<" in shown
    css = (__import__("pathlib").Path(app.root_path) / "console/static/console.css").read_text()
    assert re.search(r"\.outcome \{[^}]*background:", css)    # a colour for every outcome, known or not


def finished_backtest(app, release_id, bound_seconds=180):
    """A backtest of the stored decisions on a release, run to its end (polled, generously bounded)."""
    import time

    from app.services.backtest import BacktestRequest, Candidate
    jobs = services(app).backtesting
    job = jobs.start(BacktestRequest("zhishandai.application", Candidate(release=release_id)), "chen.jie")
    deadline = time.monotonic() + bound_seconds
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = jobs.job(job["backtest_id"])
    assert job["status"] == "done", job
    return job


def test_a_release_links_its_backtests_and_shows_the_rules_that_never_fired(compliance, decided, app):
    from app.services.access_audit import AuditSearch
    release_id = services(app).releases.active_id()
    assert 'id="no-backtests"' in text(compliance.get(f"/console/releases/{release_id}"))
    job = finished_backtest(app, release_id)
    report, _ = services(app).backtesting.job_report(job["backtest_id"])
    never = report["candidate"]["coverage"]["never_fired"]
    assert never and report["candidate"]["coverage"]["fired"] > 0

    page = text(compliance.get(f"/console/releases/{release_id}"))
    assert f'href="/console/backtests/{job["backtest_id"]}"' in page and 'id="release-backtests"' in page
    shown = re.findall(r"<tr><td><code>([^<]+)</code></td><td>(?:requirement|rule|row|bin)</td>",
                       page.split('id="never-fired"')[1])
    assert shown == never                                   # every item that never fired, in order
    assert f"{report['candidate']['coverage']['fired']} / {report['candidate']['coverage']['total']}" in page

    one = text(compliance.get(f"/console/backtests/{job['backtest_id']}"))
    assert 'id="backtest-status">done' in one and 'id="never-fired"' in one and 'id="open-report"' in one
    html = compliance.get(f"/console/backtests/{job['backtest_id']}/report.html")
    assert html.status_code == 200 and "Backtest report" in text(html)
    assert html.headers["Content-Security-Policy"].startswith("sandbox allow-scripts;")  # no console origin
    assert "allow-same-origin" not in html.headers["Content-Security-Policy"]
    assert compliance.get("/console/backtests/" + "0" * 32).status_code == 404
    assert compliance.get("/console/backtests/nope/report.html").status_code == 404
    events, _ = services(app).access_audit.search(AuditSearch(actor="li.wei", limit=200))
    assert {"console.backtest", "console.backtest_report"} <= {e["action"] for e in events}


def test_a_backtest_still_running_has_no_report_yet_and_underwriters_see_no_reports(client, accounts, app):
    import datetime

    from app.storage import backtests
    from app.storage.models import Backtest
    served = services(app).registry.current().policies["zhishandai.application"]
    with services(app).database.session() as session:
        backtests.add(session, Backtest(
            id="0" * 31 + "1", created_at=datetime.datetime.now(datetime.timezone.utc), status="running",
            requested_by="chen.jie", policy_name=served.name, candidate_hash=served.hash,
            candidate_version=str(served.version), candidate_files={}, selection={}, decided=3))
    sign_in(client, accounts["author"])
    page = text(client.get("/console/backtests/" + "0" * 31 + "1"))
    assert 'id="backtest-running"' in page and 'id="open-report"' not in page
    assert client.get("/console/backtests/" + "0" * 31 + "1/report.html").status_code == 409
    sign_in(client, accounts["underwriter"])
    release = text(client.get(f"/console/releases/{services(app).releases.active_id()}"))
    assert 'id="release-backtests"' in release and 'href="/console/backtests/' not in release
    assert client.get("/console/backtests/" + "0" * 31 + "1").status_code == 403


def rule_test_input(policy_root, case_id):
    """The input of one of the reference policy's rule test cases (its profile merged)."""
    from app.engine.testing import load_cases, read_test_files
    cases, _ = load_cases(read_test_files(policy_root))
    return next(case.input for case in cases if case.id == case_id)


def test_a_reason_no_single_rule_gave_names_its_source_never_none(compliance, app, policy_root):
    """A score band's reason (band D: SCORE_MARGINAL) showed "score · None"; it names the band."""
    from app.services.clock import business_date
    from support.applicants import as_of
    body = as_of(rule_test_input(policy_root, "T-SC-02"), business_date(utc_now()))
    answer = compliance.post("/v1/decisions/zhishandai.application", json=body,
                             headers={"X-API-Key": KEYS["channel"]})
    assert answer.status_code == 201, answer.get_json()
    decided = answer.get_json()
    assert decided["score_band"] == "D" and decided["reasons"][0]["code"] == "SCORE_MARGINAL"
    assert decided["reasons"][0]["rule"] is None
    html = text(compliance.get(f"/console/decisions/{decided['decision_id']}"))
    assert ">None<" not in html and "· None" not in html
    assert '<span class="reason-origin">评分档 <strong>D</strong></span>' in html
    assert re.search(r'id="summary">.*SCORE_MARGINAL</code>, score <span class="reason-origin">评分档 <strong>D', html)
    scorecard_reason = re.search(r"<code>SC_[A-Z_]+</code>.*?</tr>", html, re.S).group(0)
    assert "reason-origin" not in scorecard_reason          # a bin's reason still names its bin


def test_the_origin_of_reasons_without_a_rule():
    from app.console.explain import _origin
    stages = {"score": {"kind": "scorecard", "band": "E"},
              "segmentation": {"kind": "ruleset", "rules": [{"id": "SG-1", "matched": False}]},
              "eligibility": {"kind": "ruleset", "rules": [{"id": "EL-1", "matched": True}]}}
    assert _origin({"stage": "score", "rule": None}, stages) == ("reason.from_band", "E")
    assert _origin({"stage": "segmentation", "rule": None}, stages) == ("reason.from_no_match", None)
    assert _origin({"stage": "eligibility", "rule": None}, stages) == ("reason.from_stage", None)
    assert _origin({"stage": "limit", "rule": None}, stages) == ("reason.from_limit", None)
    assert _origin({"stage": "eligibility", "rule": "EL-1"}, stages) is None


def test_a_failed_backtest_is_run_again_from_its_page(client, accounts, app):
    import datetime

    from app.storage import backtests
    from app.storage.models import Backtest
    served = services(app).registry.current().policies["zhishandai.application"]
    dead = "0" * 31 + "2"
    with services(app).database.session() as session:
        backtests.add(session, Backtest(
            id=dead, created_at=datetime.datetime.now(datetime.timezone.utc), status="failed",
            requested_by="chen.jie", policy_name=served.name, candidate_hash=served.hash,
            candidate_version=str(served.version), candidate_files=dict(served.files), selection={}, decided=3,
            error="the worker running it (host:4242) stopped: no heartbeat since 2026-11-29T10:00:00Z"))
    services(app).accounts.create("ma.li", "approver", PASSWORD)
    sign_in(client, "ma.li")
    page = text(client.get(f"/console/backtests/{dead}"))
    assert "host:4242" in page and 'id="rerun"' not in page      # an approver reads, does not run
    assert client.post(f"/console/backtests/{dead}/rerun", data={"csrf_token": csrf_token(page)}).status_code == 403
    sign_in(client, accounts["author"])
    page = text(client.get(f"/console/backtests/{dead}"))
    assert 'id="backtest-error"' in page and 'id="rerun"' in page
    answer = client.post(f"/console/backtests/{dead}/rerun", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    again = answer.headers["Location"].rsplit("/", 1)[1]
    assert again != dead and services(app).backtesting.job(again)["requested_by"] == "chen.jie"
    refused = client.post(f"/console/backtests/{again}/rerun", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 409 and 'id="problem"' in text(refused)
    import time
    deadline = time.monotonic() + 180
    while services(app).backtesting.job(again)["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert services(app).backtesting.job(again)["status"] == "done"


def zipped(root, inside="policy-folder"):
    """The policy folder as a zip file, its files under one folder (as a file manager zips it)."""
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, f"{inside}/{path.relative_to(root).as_posix()}")
        archive.writestr(f"__MACOSX/{inside}/._x", b"\x00\x01")     # what a zip tool adds: left out
    return buffer.getvalue()


def submit_zip(client, data, reason="the December release"):
    import io
    token = csrf_token(text(client.get("/console/policies")))
    return client.post("/console/releases", content_type="multipart/form-data",
                       data={"csrf_token": token, "reason": reason, "folder": (io.BytesIO(data), "policy.zip")})


def test_an_author_submits_a_release_and_another_person_approves_it(client, accounts, app, policy_root):
    from app.services.access_audit import AuditSearch
    from support.http import set_version
    services(app).accounts.create("ma.li", "approver", PASSWORD)
    set_version(policy_root, "2099.12.1")
    sign_in(client, accounts["author"])
    assert 'id="submit-form"' in text(client.get("/console/policies"))
    answer = submit_zip(client, zipped(policy_root))
    assert answer.status_code == 303, text(answer)[-2000:]
    release_id = answer.headers["Location"].rsplit("/", 1)[1]
    submitted = services(app).releases.get(release_id)
    assert submitted["state"] == "submitted" and submitted["created_by"] == "chen.jie" and submitted["checks_passed"]
    assert submitted["policies"]["zhishandai.application"]["version"] == "2099.12.1"
    page = text(client.get(f"/console/releases/{release_id}"))
    assert 'id="decide-form"' not in page                  # an author does not approve
    sign_in(client, "ma.li")
    page = text(client.get(f"/console/releases/{release_id}"))
    assert 'id="decide-form"' in page
    empty = client.post(f"/console/releases/{release_id}/decide",
                        data={"csrf_token": csrf_token(page), "action": "approve", "reason": ""})
    assert empty.status_code == 422 and services(app).releases.get(release_id)["state"] == "submitted"
    approved = client.post(f"/console/releases/{release_id}/decide",
                           data={"csrf_token": csrf_token(page), "action": "approve", "reason": "checked the cases"})
    assert approved.status_code == 303 and approved.headers["Location"].endswith("done=approve")
    shown = text(client.get(approved.headers["Location"]))
    assert 'id="release-decided"' in shown and "ma.li (approver)" in shown and "checked the cases" in shown
    assert services(app).releases.get(release_id)["state"] == "approved"
    assert 'id="decide-form"' not in shown
    events, _ = services(app).access_audit.search(AuditSearch(actor="ma.li", action="release.approve"))
    assert len(events) == 1


def test_an_approver_never_approves_a_release_of_their_own(client, app, policy_root):
    from support.http import set_version
    services(app).accounts.create("ma.li", "approver", PASSWORD)
    set_version(policy_root, "2099.12.3")
    sign_in(client, "ma.li")
    release_id = submit_zip(client, zipped(policy_root, inside="x")).headers["Location"].rsplit("/", 1)[1]
    page = text(client.get(f"/console/releases/{release_id}"))
    own = client.post(f"/console/releases/{release_id}/decide",
                      data={"csrf_token": csrf_token(page), "action": "approve", "reason": "mine"})
    assert own.status_code == 403 and "不能审批自己提交的发布" in text(own) and "own_release" in text(own)
    assert services(app).releases.get(release_id)["state"] == "submitted"
    rejected = client.post(f"/console/releases/{release_id}/decide",
                           data={"csrf_token": csrf_token(page), "action": "reject", "reason": "withdrawn"})
    assert rejected.status_code == 303 and services(app).releases.get(release_id)["state"] == "rejected"


@pytest.mark.parametrize("upload, problem", [
    (b"not a zip", "not a zip file"),
    (b"", "not a zip file"),
])
def test_an_upload_that_is_no_policy_folder_is_refused_with_a_message(client, accounts, app, upload, problem):
    before = len(services(app).releases.list())
    sign_in(client, accounts["author"])
    answer = submit_zip(client, upload)
    assert answer.status_code == 422 and ('id="submit-refused"' in text(answer) or "field-error" in text(answer))
    assert problem in text(answer) or "field-error" in text(answer)
    assert len(services(app).releases.list()) == before


def test_a_zip_of_other_files_or_binary_files_is_refused(client, accounts, app):
    import io
    import zipfile
    sign_in(client, accounts["author"])
    for files, problem in (({"notes/readme.txt": b"hi"}, "release files live under policies/ or rules/"),
                           ({"policies/x.yaml": b"\xff\xfe\x00"}, "is not a readable UTF-8 text file")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        answer = submit_zip(client, buffer.getvalue())
        assert answer.status_code == 422 and problem in text(answer), text(answer)[-1500:]


def test_repeated_wrong_passwords_hold_a_username_back_without_saying_whether_it_exists(client, accounts, app):
    """Guessing one account's password: after MAX_FAILED_SIGN_INS wrong ones the username is held
    back for a while, even with the right password; a username that does not exist is held back
    the same way, with the same page (no telling which exist); other people sign in as before."""
    from app.services.accounts import MAX_FAILED_SIGN_INS
    pages = {}
    for username in ("li.wei", "no.such.person"):
        for _ in range(MAX_FAILED_SIGN_INS):
            assert sign_in(client, username, "a wrong password").status_code == 401
        held = sign_in(client, username)           # the right password (for li.wei) now
        assert held.status_code == 429, username
        assert int(held.headers["Retry-After"]) > 0
        assert "登录失败次数过多" in text(held)
        pages[username] = re.sub(r'value="[^"]*"', "", text(held)).replace(username, "")
    assert pages["li.wei"] == pages["no.such.person"]
    assert client.get("/console/decisions").status_code == 302            # li.wei not signed in
    assert sign_in(client, accounts["underwriter"]).status_code == 303    # zhao.min is not held back


def test_a_console_session_opened_with_an_api_key_ends_when_the_key_is_revoked(client, app):
    """Revoking a key takes away what it opened: the console session it was exchanged for ends
    (the session, not only the key, was being kept alive by its use)."""
    key = services(app).access.create("audit-desk", "compliance")
    page = client.get("/console/sign-in")
    opened = client.post("/console/sign-in", data={"key-csrf_token": csrf_token(text(page)), "key-api_key": key})
    assert opened.status_code == 303
    assert client.get("/console/decisions").status_code == 200
    services(app).access.revoke("audit-desk")
    assert client.get("/console/decisions").status_code == 302
    # a key made again under the same name is another key: the old session stays ended
    services(app).access.create("audit-desk", "compliance")
    assert client.get("/console/decisions").status_code == 302


def test_a_console_session_of_a_configured_key_ends_when_the_service_no_longer_has_the_key(
        client, app, database_url, redis_url):
    """A key taken out of FIREFLY_API_KEYS (and the service restarted) opens nothing any more,
    not even the console session it was exchanged for before."""
    from app import create_app
    from support.keys import TEST_API_KEYS
    from support.settings import make_config
    page = client.get("/console/sign-in")
    assert client.post("/console/sign-in", data={"key-csrf_token": csrf_token(text(page)),
                                                 "key-api_key": KEYS["compliance"]}).status_code == 303
    assert client.get("/console/decisions").status_code == 200
    without = ",".join(k for k in TEST_API_KEYS.split(",") if not k.startswith("test-compliance:"))
    restarted = create_app(make_config(database_url, redis_url, FIREFLY_API_KEYS=without))
    again = restarted.test_client()
    again.set_cookie("firefly_console", client.get_cookie("firefly_console", path="/console").value,
                     path="/console")
    try:
        assert again.get("/console/decisions").status_code == 302
    finally:
        services(restarted).close()


def test_no_page_can_be_framed_and_no_answer_carrying_decisions_is_kept_in_a_cache(compliance, decided):
    """Clickjacking: every console page refuses to be framed in CSP (frame-ancestors) and for
    browsers that know only X-Frame-Options, that too. The API's answers hold decisions and
    personal data (the explorer at /docs calls it from a browser): none is stored by a cache."""
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    for path in ("/console/sign-in", "/console/decisions", f"/console/decisions/{decision_id}",
                 f"/console/decisions/{decision_id}/print", "/console/policies"):
        answer = compliance.get(path)
        assert answer.status_code == 200, path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
        assert answer.headers["X-Frame-Options"] == "DENY", path
    read = compliance.get(f"/v1/decisions/{decision_id}", headers={"X-API-Key": KEYS["compliance"]})
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    from support.applicants import as_of, examples
    from support.http import URL
    body = as_of(examples()["decline_overdue_pattern"], business_date(utc_now()))
    made = compliance.post(URL, json=body, headers={"X-API-Key": KEYS["channel"]})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"


HOSTILE_TEXT = ('<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '"><svg onload=alert(3)>')


def test_text_written_by_channels_underwriters_and_policy_authors_is_shown_as_text(client, accounts, app, policy_root):
    """Stored XSS: what a channel sends (employer_name, device_id), what an underwriter writes (a
    review's comment) and what a policy author writes (a rule's name) reaches the decision page,
    its printable view and the policy file page escaped, never as markup."""
    rules = policy_root / "rules" / "anti_fraud.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "name: {zh: 身份证号码校验位无效,", f"name: {{zh: '{HOSTILE_TEXT[0]}',", 1), encoding="utf-8")
    registry = services(app).registry
    registry.root, registry.run_tests = str(policy_root), False
    assert registry.reload().ok
    from support.applicants import as_of, examples
    from support.http import URL
    body = as_of(examples()["refer_thin_file"], business_date(utc_now()))
    body.setdefault("employment", {})["employer_name"] = HOSTILE_TEXT[1]
    body.setdefault("device", {})["device_id"] = HOSTILE_TEXT[2]
    made = client.post(URL, json=body, headers={"X-API-Key": KEYS["channel"]})
    assert made.status_code == 201, made.get_json()
    refer_id = made.get_json()["decision_id"]
    sign_in(client, accounts["underwriter"])
    page = f"/console/decisions/{refer_id}"
    closed = post_form(client, page, f"{page}/review", {
        "outcome": "DECLINE", "reason_codes": "MANUAL_DECLINED", "comment": " ".join(HOSTILE_TEXT)})
    assert closed.status_code == 303, text(closed)
    shown = []
    for path in (page, f"{page}/print"):
        html = text(client.get(path))
        shown.append(html)
        for hostile in HOSTILE_TEXT:
            assert hostile not in html, (path, hostile)
        assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html        # the employer's name
        assert "&#34;&gt;&lt;svg onload=alert(3)&gt;" in html or "&quot;&gt;&lt;svg" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown[0]   # the rule's name, where the page quotes it
    version = registry.current().policies["zhishandai.application"].hash
    sign_in(client, accounts["compliance"])
    files = text(client.get(f"/console/policies/{version}"))
    assert HOSTILE_TEXT[0] not in files and "&lt;img src=x onerror=alert(1)&gt;" in files


def test_a_session_in_constant_use_still_ends_after_its_longest_life(client, accounts, app):
    """The idle timeout alone lets a session (or a stolen cookie) that is used every few minutes
    live for ever: a session ends FIREFLY_CONSOLE_MAX_HOURS after it began, however busy."""
    sign_in(client, "li.wei")
    assert client.get("/console/decisions").status_code == 200
    longest = services(app).accounts.longest_session
    with services(app).database.session() as session:
        session.execute(update(ConsoleSession).values(started_at=utc_now() - longest - datetime.timedelta(minutes=1),
                                                      last_seen=utc_now()))
        session.commit()
    ended = client.get("/console/decisions")
    assert ended.status_code == 302 and "ended=ended" in ended.headers["Location"]
    assert client.get("/console/decisions").status_code == 302       # the row is gone, not only refused
