"""Anti-fraud on shared state through the API (issue 12, "done when"): a burst of applications from
one device with different resident IDs is referred or declined from the threshold on, with the
velocity reasons and the counts in the trace; a decline marks its keys (cooling-off, fraud links);
replay uses the stored values after the counters moved on; lists imported from a CSV file and
kept through the admin API match in rules. Runs on the in-process store (SQLite run) and on Redis
(PostgreSQL + Redis run)."""
import datetime


from app.engine.language.resident_id import compose
from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.keys import KEYS

BORN = datetime.date(1990, 5, 14)


def applicant(n: int, device: str = "DEV-BURST-0001", mobile: str | None = None) -> dict:
    """The salaried example (an approval) with its own resident ID and mobile, on `device`."""
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    body["applicant"]["id_number"] = compose("330106", BORN, 100 + n)
    body["applicant"]["mobile"] = mobile or f"1381234{n:04d}"
    body["device"]["device_id"] = device
    return body


def shared(trace: dict) -> dict:
    return {entry["name"]: entry for entry in trace["shared"]}


def whitelist(client, auth, body: dict):
    """Whitelist an entry: proposed by an admin, approved by an approver (four eyes: a whitelist
    entry relaxes the device rules); the approval's answer."""
    proposed = client.post("/v1/lists/whitelist/entries", headers=auth("admin"), json=body)
    assert proposed.status_code == 202 and proposed.get_json()["result"] == "pending", proposed.get_json()
    change = proposed.get_json()["change"]["id"]
    approved = client.post(f"/v1/lists/changes/{change}/approve", headers=auth("approver"),
                           json={"reason": "checked"})
    assert approved.status_code == 200, approved.get_json()
    return approved


def test_a_burst_from_one_device_is_declined_from_the_threshold_on(decide):
    answers = [decide(applicant(n), query="?trace=true").get_json() for n in range(1, 5)]
    assert [a["outcome"] for a in answers] == ["APPROVE", "APPROVE", "DECLINE", "DECLINE"]
    assert [r["code"] for r in answers[2]["reasons"]] == ["DEVICE_BURST", "DEVICE_MANY_IDS",
                                                           "DEVICE_VELOCITY_24H"]
    first, third = shared(answers[0]["trace"]), shared(answers[2]["trace"])
    # each application counts itself: the third from the device reads 3
    assert first["shared.device_applications_1h"]["value"] == 1
    assert third["shared.device_applications_1h"]["value"] == 3
    assert third["shared.ids_per_device_7d"]["value"] == 3
    assert third["shared.id_applications_7d"]["value"] == 1
    entry = third["shared.ids_per_device_7d"]
    assert entry["window"] == "7d" and entry["kind"] == "distinct"
    assert entry["key"] == {"device.device_id": "DEV-BURST-0001"}
    assert entry["source"] == services_kind()
    # the key of a count per resident ID is shown masked, never in clear
    id_key = third["shared.id_applications_7d"]["key"]["applicant.id_number"]
    assert id_key.startswith("33") and "*" in id_key
    rules = {r["id"]: r for stage in answers[2]["trace"]["stages"] if stage["kind"] == "ruleset"
             for r in stage["rules"]}
    assert rules["AF-27"]["matched"] and rules["AF-27"]["read"]["shared.device_applications_1h"] == 3


def services_kind():
    import os
    return "redis" if os.environ.get("REDIS_URL") else "in-process"


def test_a_decline_marks_its_keys_for_cooling_off_and_links(decide):
    for n in range(1, 4):  # the third is declined (a burst): a fraud decline
        last = decide(applicant(n)).get_json()
    assert last["outcome"] == "DECLINE"
    # the declined ID again, from another device and mobile: cooling-off
    again = applicant(3, device="DEV-OTHER-0001", mobile="13900000001")
    answer = decide(again, query="?trace=true").get_json()
    assert "COOLING_OFF" in [r["code"] for r in answer["reasons"]]
    assert shared(answer["trace"])["shared.days_since_decline"]["value"] == 0
    # someone else giving the declined applicant's mobile as a contact: linked to a fraud decline
    linked = applicant(9, device="DEV-OTHER-0002", mobile="13900000002")
    linked["applicant"]["contact_mobile"] = "13812340003"
    answer = decide(linked, query="?trace=true").get_json()
    assert answer["outcome"] == "REFER" and [r["code"] for r in answer["reasons"]] == ["FRAUD_LINK"]
    values = shared(answer["trace"])
    assert values["shared.fraud_links_30d"]["value"] == 1
    assert values["shared.days_since_fraud_link"]["value"] == 0


def test_replay_uses_the_stored_values_after_the_counters_moved_on(decide, client, auth):
    first = decide(applicant(1)).get_json()
    for n in range(2, 6):
        decide(applicant(n))
    replayed = client.post(f"/v1/decisions/{first['decision_id']}/replay", headers=auth("compliance"))
    body = replayed.get_json()
    assert replayed.status_code == 200 and body["identical"] is True, body["differences"]
    assert body["replayed"]["outcome"] == "APPROVE"
    # today's counters would decide otherwise: a sixth application from the device is declined
    assert decide(applicant(6)).get_json()["outcome"] == "DECLINE"


def test_a_retry_with_the_same_idempotency_key_counts_once(decide):
    body = applicant(1)
    for _ in range(3):
        decide(body, headers={"Idempotency-Key": "burst-1"})
    answer = decide(applicant(2), query="?trace=true").get_json()
    assert shared(answer["trace"])["shared.device_applications_1h"]["value"] == 2


CSV = """list,kind,value,reason,source,expires
blacklist,resident_id,{id_number},identity theft ring,police notice 2026-118,
blacklist,resident_id,330106199005143572,bad check digit,test,
watchlist,employer,某某劳务派遣有限公司,intermediary packaging,investigation,2099-12-31
blacklist,phone,13800000000,expired entry,test,2020-01-01
"""


def test_lists_imported_with_the_cli_match_in_rules(decide, runner, tmp_path):
    target = applicant(1, device="DEV-LIST-0001")
    path = tmp_path / "lists.csv"
    path.write_text(CSV.format(id_number=target["applicant"]["id_number"]), encoding="utf-8")
    result = runner.invoke(args=["lists", "import", str(path), "--key", KEYS["admin"]])
    assert result.exit_code == 1  # a bad row: reported, the good rows kept
    assert f"{path}:3: not a valid 18-character resident ID number" in result.output
    assert "3 added, 0 updated, 0 unchanged, 1 rejected, 0 pending" in result.output
    again = runner.invoke(args=["lists", "import", str(path), "--key", KEYS["admin"]])
    assert "0 added, 0 updated, 3 unchanged, 1 rejected, 0 pending" in again.output  # idempotent
    answer = decide(target, query="?trace=true").get_json()
    assert answer["outcome"] == "DECLINE" and "LIST_BLACKLIST" in [r["code"] for r in answer["reasons"]]
    entry = shared(answer["trace"])["in_list.blacklist.applicant.id_number"]
    assert entry["value"] is True and entry["source"] == "database" and entry["list"] == "blacklist"
    # an expired entry no longer matches
    expired = applicant(2, device="DEV-LIST-0002", mobile="13800000000")
    assert "LIST_BLACKLIST" not in [r["code"] for r in decide(expired).get_json()["reasons"]]
    watched = applicant(3, device="DEV-LIST-0003")
    watched["employment"]["employer_name"] = "某某劳务派遣有限公司"
    answer = decide(watched).get_json()
    assert answer["outcome"] == "REFER" and [r["code"] for r in answer["reasons"]] == ["LIST_WATCHLIST"]


def test_the_admin_api_adds_pages_and_removes_entries(client, auth, decide):
    target = applicant(1, device="DEV-API-0001")
    device = {"kind": "device", "value": "DEV-API-0001", "reason": "emulator farm", "source": "ops"}
    created = client.post("/v1/lists/blacklist/entries", json=device, headers=auth("admin"))
    assert created.status_code == 200 and created.get_json()["result"] == "added"
    shown = created.get_json()["entry"]
    assert shown["value"] == "****0001" and shown["added_by"] == "test-admin"
    assert client.post("/v1/lists/blacklist/entries", json=device,
                       headers=auth("admin")).get_json()["result"] == "unchanged"
    assert decide(target).get_json()["reasons"][0]["code"] == "LIST_BLACKLIST"
    page = client.get("/v1/lists/blacklist/entries", headers=auth("compliance")).get_json()
    assert [item["id"] for item in page["items"]] == [shown["id"]]
    assert "DEV-API-0001" not in str(page)  # never the value in clear
    assert client.post("/v1/lists/blacklist/entries", json=device, headers=auth("channel")).status_code == 403
    bad = client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                      json={"kind": "resident_id", "value": "330106199005143572", "reason": "x"})
    assert bad.status_code == 422 and "check digit" in bad.get_json()["error"]["message"]
    # removing a blacklist entry relaxes a control: pending until another person approves it
    removal = client.delete(f"/v1/lists/blacklist/entries/{shown['id']}", headers=auth("admin"))
    assert removal.status_code == 202 and removal.get_json()["change"]["action"] == "remove"
    assert "LIST_BLACKLIST" in [r["code"] for r in decide(applicant(2, device="DEV-API-0001")).get_json()["reasons"]]
    change = removal.get_json()["change"]["id"]
    assert client.post(f"/v1/lists/changes/{change}/approve", headers=auth("approver"),
                       json={"reason": "false positive"}).status_code == 200
    assert "LIST_BLACKLIST" not in [r["code"] for r in decide(applicant(3, device="DEV-API-0001")).get_json()["reasons"]]
    assert client.get("/v1/lists/greylist/entries", headers=auth("admin")).status_code == 404


def test_an_api_import_with_a_bad_header_imports_nothing(client, auth):
    answer = client.post("/v1/lists/import", headers=auth("admin"),
                         json={"csv": "name,value\nblacklist,13800000000\n"})
    assert answer.status_code == 422 and "line 1" in answer.get_json()["error"]["message"]
    assert client.get("/v1/lists/blacklist/entries", headers=auth("admin")).get_json()["items"] == []


FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})  # ASCII -> full width


def test_a_mobile_number_in_full_width_digits_is_refused_naming_the_field(decide):
    """The same number in full-width digits passed the old schema (11 characters) and escaped the
    virtual-operator prefix rule, the blacklist and the per-mobile velocity: it is refused now."""
    body = applicant(1, mobile="17012345678".translate(FULL_WIDTH))  # 170: a virtual operator's prefix
    answer = decide(body)
    assert answer.status_code == 422
    assert list(answer.get_json()["error"]["details"]) == ["applicant.mobile"]
    assert decide(applicant(1, mobile="17012345678")).get_json()["outcome"] in ("DECLINE", "REFER")


def test_a_device_id_in_full_width_characters_counts_and_matches_as_itself(decide, client, auth):
    """Keys are hashed after compatibility folding (NFKC): a device id sent in full-width letters,
    digits and hyphen is the same device for velocity and for the lists."""
    plain, wide = "DEV-WIDE-0001", "DEV-WIDE-0001".translate(FULL_WIDTH)
    assert plain != wide
    answers = [decide(applicant(n, device=device), query="?trace=true").get_json()
               for n, device in enumerate([plain, wide, wide.lower()], start=1)]
    assert [shared(a["trace"])["shared.device_applications_1h"]["value"] for a in answers] == [1, 2, 3]
    assert answers[2]["outcome"] == "DECLINE" and "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]
    added = client.post("/v1/lists/blacklist/entries", json={"kind": "device", "value": "DEV-BAD-0001",
                                                              "reason": "emulator farm", "source": "test"},
                        headers=auth("admin"))
    assert added.status_code == 200 and added.get_json()["result"] == "added"
    answer = decide(applicant(9, device="dev-bad-0001".translate(FULL_WIDTH))).get_json()
    assert "LIST_BLACKLIST" in [r["code"] for r in answer["reasons"]]


def test_a_device_id_typed_as_a_whitelisted_phone_is_not_whitelisted(decide, client, auth):
    """A list entry matches only fields of its own kind (app/services/lists.py entry_kinds).
    Before, an entry matched any field with the same characters: a fraud ring that sent a
    whitelisted customer's phone number as its device id was whitelisted, and its burst passed the
    device rules (DEVICE_BURST: `... and not in_list("whitelist", device.device_id)`)."""
    trusted = "13912340001"
    whitelist(client, auth, {"kind": "phone", "value": trusted, "reason": "private banking customer",
                             "source": "test"})
    answers = [decide(applicant(40 + n, device=trusted), query="?trace=true").get_json() for n in range(3)]
    entry = shared(answers[2]["trace"])["in_list.whitelist.device.device_id"]
    assert entry["value"] is False
    assert answers[2]["outcome"] == "DECLINE" and "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]


def test_one_value_listed_as_a_device_and_as_a_phone_is_two_entries_each_matching_its_own_field(
        decide, client, auth):
    """A device id that is a phone number's digits is blacklisted: that phone is not. Listing
    the phone too is a second entry, not an update of the first."""
    digits = "13912340002"
    device = {"kind": "device", "value": digits, "reason": "emulator farm", "source": "test"}
    assert client.post("/v1/lists/blacklist/entries", json=device,
                       headers=auth("admin")).get_json()["result"] == "added"
    owner = applicant(50, device="DEV-OWNER-0001", mobile=digits)
    assert "LIST_BLACKLIST" not in [r["code"] for r in decide(owner).get_json()["reasons"]]
    assert "LIST_BLACKLIST" in [r["code"] for r in decide(applicant(51, device=digits)).get_json()["reasons"]]
    phone = {**device, "kind": "phone", "reason": "confirmed fraud"}
    assert client.post("/v1/lists/blacklist/entries", json=phone,
                       headers=auth("admin")).get_json()["result"] == "added"
    kinds = sorted(item["kind"] for item in client.get(
        "/v1/lists/blacklist/entries", headers=auth("admin")).get_json()["items"])
    assert kinds == ["device", "phone"]
    again = applicant(52, device="DEV-OWNER-0002", mobile=digits)
    assert "LIST_BLACKLIST" in [r["code"] for r in decide(again).get_json()["reasons"]]


def test_an_employer_on_the_whitelist_does_not_whitelist_a_device_id_typed_as_its_name(decide, client, auth):
    """The reference policy names the kind of entries a device id is matched against
    (`in_list("whitelist", device.device_id, "device")`, 2026.12.6): before, device and employer
    entries both matched a field holding no personal data, so a device id typed as a whitelisted
    employer's name was a whitelisted device and its burst passed."""
    employer = "某某银行股份有限公司"
    whitelist(client, auth, {"kind": "employer", "value": employer, "reason": "payroll partner",
                             "source": "test"})
    answers = [decide(applicant(60 + n, device=employer), query="?trace=true").get_json() for n in range(3)]
    assert shared(answers[2]["trace"])["in_list.whitelist.device.device_id"]["value"] is False
    assert answers[2]["outcome"] == "DECLINE" and "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]
    # a device entry still whitelists the device
    whitelist(client, auth, {"kind": "device", "value": "DEV-TRUSTED-0001", "reason": "branch tablet",
                             "source": "test"})
    trusted = [decide(applicant(70 + n, device="DEV-TRUSTED-0001"), query="?trace=true").get_json()
               for n in range(3)]
    assert shared(trusted[2]["trace"])["in_list.whitelist.device.device_id"]["value"] is True
    assert "DEVICE_BURST" not in [r["code"] for r in trusted[2]["reasons"]]


def test_one_ip_address_sent_with_its_port_or_in_brackets_is_one_address(decide):
    """A channel that passes the client's socket address (`10.9.8.7:50123`, as some proxies write
    X-Forwarded-For) or an IPv6 address in URL brackets (`[2408:...]:443`) sent a new written form
    on every connection: each was its own key, every application read 1 and IP_VELOCITY_24H (10
    in 24 hours) never fired. The address is counted without the port or the brackets."""
    written = ["10.9.8.7:50123", "10.9.8.7:50124", "10.9.8.7", "[10.9.8.7]", "[::ffff:10.9.8.7]:443",
               "[::ffff:10.9.8.7]", " 10.9.8.7:8080 ", "10.9.8.7:1", "10.9.8.7:65535", "10.9.8.7:443"]
    answers = []
    for n, address in enumerate(written, start=1):
        body = applicant(200 + n, device=f"DEV-PORT-{n:04d}", mobile=f"1390001{n:04d}")
        body["device"]["ip_address"] = address
        answers.append(decide(body, query="?trace=true").get_json())
    assert [shared(a["trace"])["shared.ip_applications_24h"]["value"] for a in answers] == list(range(1, 11))
    assert "IP_VELOCITY_24H" in [r["code"] for r in answers[-1]["reasons"]]
    # the trace shows the address as sent
    assert shared(answers[0]["trace"])["shared.ip_applications_24h"]["key"] == {"device.ip_address": "10.9.8.7:50123"}
    # an IPv6 network, bracketed with a port or not, is one /64
    counts = []
    for n, address in enumerate(["[2408:8207:2a1:5c0::1]:443", "2408:8207:2a1:5c0::2", "[2408:8207:2a1:5c0::3]"]):
        body = applicant(300 + n, device=f"DEV-PORT6-{n:04d}", mobile=f"1390002{n:04d}")
        body["device"]["ip_address"] = address
        counts.append(shared(decide(body, query="?trace=true").get_json()["trace"])
                      ["shared.ip_applications_24h"]["value"])
    assert counts == [1, 2, 3]


DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"]  # hyphen, dashes, minus


def test_a_device_id_or_employer_written_with_another_dash_or_middle_dot_is_the_same_key(decide, client, auth):
    """A hyphen (U+2010), an en or em dash or a minus sign shows as the ASCII hyphen does, and the
    katakana middle dot (U+30FB) or a bullet as the Chinese interpunct (U+00B7), but NFKC keeps
    them apart: a device id pasted from a document (where the hyphen was typeset) or an employer's
    name typed with another input method's dash was a new key, so a burst from one device counted
    once per dash, and a blacklisted device or a watched employer written so was on no list."""
    answers = [decide(applicant(400 + n, device=f"DEV{dash}DASH{dash}0001"), query="?trace=true").get_json()
               for n, dash in enumerate(DASHES)]
    assert [shared(a["trace"])["shared.device_applications_1h"]["value"] for a in answers] == list(range(1, 9))
    assert "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]
    added = client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                        json={"kind": "device", "value": "DEV\u2013BAD\u20130002", "reason": "emulator farm",
                              "source": "police notice (pasted)"})
    assert added.status_code == 200, added.get_json()
    answer = decide(applicant(420, device="dev-bad-0002")).get_json()
    assert "LIST_BLACKLIST" in [r["code"] for r in answer["reasons"]]
    employer = "某某人力资源—阿布都·派遣中心"
    added = client.post("/v1/lists/watchlist/entries", headers=auth("admin"),
                        json={"kind": "employer", "value": employer, "reason": "intermediary packaging",
                              "source": "test"})
    assert added.status_code == 200, added.get_json()
    for n, written in enumerate(["某某人力资源-阿布都・派遣中心", "某某人力资源－阿布都•派遣中心",
                                 "某某人力资源\u2010阿布都\u2027派遣中心"]):
        body = applicant(430 + n, device=f"DEV-EMPLOYER-{n:04d}", mobile=f"1390003{n:04d}")
        body["employment"]["employer_name"] = written
        answer = decide(body, query="?trace=true").get_json()
        assert [r["code"] for r in answer["reasons"]] == ["LIST_WATCHLIST"], written
        assert shared(answer["trace"])["shared.employer_applications_7d"]["value"] == n + 1


def test_a_device_id_typed_with_cyrillic_or_greek_letters_that_look_latin_is_the_same_device(decide, client, auth):
    """A tampered app sends a listed device's id with the Cyrillic А, В, Е or the Greek Β, Α in it:
    a screen shows the listed id, and the key was another, so the device was on no list and its
    burst counted apart. Letters that look Latin (UTS #39's confusables) are the Latin ones."""
    added = client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                        json={"kind": "device", "value": "DEV-BAD-0003", "reason": "emulator farm",
                              "source": "test"})
    assert added.status_code == 200, added.get_json()
    for n, written in enumerate(["DEV-ВАD-0003", "dеv-вad-0003", "DEV-ΒΑD-0003"]):
        answer = decide(applicant(470 + n, device=written)).get_json()
        assert "LIST_BLACKLIST" in [r["code"] for r in answer["reasons"]], written
    answers = [decide(applicant(480 + n, device=written), query="?trace=true").get_json()
               for n, written in enumerate(["DEV-CYR-0001", "DEV-CYR-0001".replace("C", "\u0421"),
                                            "DEV-CYR-0001".replace("E", "\u0415").replace("Y", "\u03a5")])]
    assert [shared(a["trace"])["shared.device_applications_1h"]["value"] for a in answers] == [1, 2, 3]


def test_an_employer_written_in_traditional_characters_is_the_same_employer(decide, client, auth):
    """An intermediary packaging applications writes its client's employer in traditional
    characters (勞務 for 劳务) and was a new employer: counted apart and on no watchlist. Keys are
    hashed in simplified characters (OpenCC t2s), whichever way the entry or the application is written."""
    added = client.post("/v1/lists/watchlist/entries", headers=auth("admin"),
                        json={"kind": "employer", "value": "某某劳务派遣有限公司", "reason": "intermediary packaging",
                              "source": "test"})
    assert added.status_code == 200, added.get_json()
    for n, written in enumerate(["某某勞務派遣有限公司", "某某劳务派遣有限公司", "某某勞务派遣有限公司"]):
        body = applicant(450 + n, device=f"DEV-TRAD-{n:04d}", mobile=f"1390004{n:04d}")
        body["employment"]["employer_name"] = written
        answer = decide(body, query="?trace=true").get_json()
        assert [r["code"] for r in answer["reasons"]] == ["LIST_WATCHLIST"], written
        assert shared(answer["trace"])["shared.employer_applications_7d"]["value"] == n + 1
