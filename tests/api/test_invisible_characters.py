"""Invisible characters in the values the anti-fraud memory and the lists key on.

A zero-width space (U+200B), a word joiner (U+2060), a byte order mark (U+FEFF), a soft hyphen
(U+00AD) or a control character inside a device id or an employer's name is not shown by any
screen an underwriter reads, and NFKC (which folds full-width characters) leaves it where it is.
Before, each such character made a new key: a burst of applications from one device, its id
written with a different invisible character each time, was counted as one application per
"device" and approved; an employer on the watchlist, its name with one zero-width space, was not
on it. Keys are hashed without them now (app/privacy.py normalise)."""
from support.keys import KEYS  # noqa: F401 - the same keys the fixtures use
from tests.api.test_anti_fraud import applicant, shared

DEVICE = "DEV-GHOST-0001"
INVISIBLE = ["", "\u200b", "\u2060", "\ufeff", "\u00ad", "\u200d", "\x00"]


def written_with(value: str, invisible: str) -> str:
    """The value with an invisible character after its fourth character."""
    return value[:4] + invisible + value[4:]


def test_a_burst_from_one_device_written_with_invisible_characters_is_one_device(decide):
    answers = [decide(applicant(n, device=written_with(DEVICE, mark)), query="?trace=true").get_json()
               for n, mark in enumerate(INVISIBLE[:3], start=1)]
    assert [shared(a["trace"])["shared.device_applications_1h"]["value"] for a in answers] == [1, 2, 3]
    assert answers[2]["outcome"] == "DECLINE"
    assert "DEVICE_BURST" in [r["code"] for r in answers[2]["reasons"]]


def test_a_blacklisted_device_with_an_invisible_character_is_still_blacklisted(decide, client, auth):
    added = client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                        json={"kind": "device", "value": DEVICE, "reason": "emulator farm", "source": "test"})
    assert added.status_code == 200, added.get_json()
    for n, mark in enumerate(INVISIBLE[1:], start=1):
        answer = decide(applicant(n, device=written_with(DEVICE, mark))).get_json()
        assert "LIST_BLACKLIST" in [r["code"] for r in answer["reasons"]], repr(mark)


def test_a_watched_employer_with_a_zero_width_space_is_still_watched(decide, client, auth):
    employer = "某某劳务派遣有限公司"
    added = client.post("/v1/lists/watchlist/entries", headers=auth("admin"),
                        json={"kind": "employer", "value": employer, "reason": "intermediary packaging",
                              "source": "test"})
    assert added.status_code == 200, added.get_json()
    body = applicant(1, device="DEV-GHOST-0002")
    body["employment"]["employer_name"] = written_with(employer, "\u200b")
    answer = decide(body).get_json()
    assert answer["outcome"] == "REFER" and [r["code"] for r in answer["reasons"]] == ["LIST_WATCHLIST"]
