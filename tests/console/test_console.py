"""The console through Flask's test client: sign-in, roles, CSRF, the idle timeout, search with
personal data hashed and kept out of addresses, one decision explained, replay, language, policies."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from app.extensions import services
from app.services.clock import utc_now
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
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/decisions")
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
