"""A velocity key names the kind of value it counts by (app/services/velocity.py): counts, last-seen
facts and fraud links of one kind of value never meet another kind's.

Before, a key was the value's keyed hash alone: `ev:applications:<hash>` served every `count:
applications` declaration, per device, phone, ID, IP or employer alike. A device id is what the
applicant's phone says it is (a tampered app sends any text), so a fraudster could send a victim's
phone number as the device id: each such application counted against the victim's phone, and a
fraud decline linked the victim's phone to fraud for 30 days. The victim was then declined
(VELOCITY_PHONE, FRAUD_RING) for what someone else did. A contact phone still meets an applicant's
phone: both are phones, which is what "contacts shared with declined applicants" means.

Also: one IP address written two ways (`::ffff:10.1.2.3`, `10.1.2.3`) is one key."""
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import load_policy_root
from app.privacy import PersonalData, normalise
from support.shared_state import START, Run, typed_application
from support.simulation import candidate_folder

SECRET = "the-secret-of-the-key-tests-thirty-two-chars"
VICTIM_PHONE = 77  # the victim's mobile is 1381234 0077


def minutes(n):
    return START + datetime.timedelta(minutes=n)


def test_a_device_id_typed_as_someones_phone_number_counts_nothing_against_that_phone(
        policy, lists, make_store):
    run = Run(policy, lists, make_store(), PersonalData(SECRET))
    victim_mobile = f"1381234{VICTIM_PHONE:04d}"
    # a fraudster's burst from a "device" whose id is the victim's phone number, with other IDs
    # and phones: the third is declined for the burst (a fraud reason), marking its link keys
    outcomes = [run.apply(typed_application(policy, victim_mobile, 10 + n, 10 + n), minutes(n))[1]
                for n in range(3)]
    assert outcomes[2] == "DECLINE"
    # the victim applies from an honest device: their phone has never applied before
    values, outcome = run.apply(typed_application(policy, 1, 1, VICTIM_PHONE), minutes(5))
    assert values["shared.phone_applications_24h"] == 1
    assert values["shared.fraud_links_30d"] == 0
    assert values["shared.days_since_fraud_link"] is None
    assert outcome == "APPROVE"


def test_a_contact_phone_still_meets_a_fraud_declined_applicants_phone(policy, lists, make_store):
    run = Run(policy, lists, make_store(), PersonalData(SECRET))
    # a burst from one device, the third declined (fraud): its applicant's mobile is 1381234 0012
    for n in range(3):
        run.apply(typed_application(policy, 0, 10 + n, 10 + n), minutes(n))
    # a later applicant from another device gives that mobile as their emergency contact
    typed = typed_application(policy, 1, 1, 1, **{"applicant.contact_mobile": "13812340012"})
    values, _ = run.apply(typed, minutes(10))
    assert values["shared.fraud_links_30d"] == 1
    # and an applicant whose own device id is that mobile is no link (a device is no phone)
    values, _ = run.apply(typed_application(policy, "13812340012", 2, 2), minutes(11))
    assert values["shared.fraud_links_30d"] == 0


def test_a_phone_named_as_a_contact_is_not_counted_as_that_phones_own_applications(
        lists, make_store, tmp_path):
    """Counts are kept per field: a policy counting applications per contact phone and per
    applicant's phone keeps two counters, though both fields hold phones."""
    root = candidate_folder(tmp_path, {
        "  phone_applications_24h: {count: applications, per: applicant.mobile, window: 24h}\n":
        "  phone_applications_24h: {count: applications, per: applicant.mobile, window: 24h}\n"
        "  contact_applications_24h: {count: applications, per: applicant.contact_mobile, window: 24h}\n"})
    policy = load_policy_root(root).policies["zhishandai.application"]
    run = Run(policy, lists, make_store(), PersonalData(SECRET))
    victim = f"1381234{VICTIM_PHONE:04d}"
    for n in range(3):  # three applicants name the victim as their emergency contact
        values, _ = run.apply(typed_application(policy, n, 10 + n, 10 + n, **{"applicant.contact_mobile": victim}),
                              minutes(n))
    assert values["shared.contact_applications_24h"] == 3
    values, _ = run.apply(typed_application(policy, 1, 1, VICTIM_PHONE), minutes(5))
    assert values["shared.phone_applications_24h"] == 1


@pytest.mark.parametrize("written", [["10.1.2.3", "::ffff:10.1.2.3", "::FFFF:10.1.2.3"],
                                     ["2001:db8::1", "2001:0DB8:0:0:0:0:0:1", "2001:db8:0::0:1"],
                                     ["10.1.2.3:50123", "[::ffff:10.1.2.3]:443", "[10.1.2.3]"],
                                     ["[2001:db8::1]:443", "[2001:DB8::1]", "2001:db8::1"]])
def test_one_ip_address_written_several_ways_is_one_key(policy, lists, make_store, written):
    run = Run(policy, lists, make_store(), PersonalData(SECRET))
    counts = [run.apply(typed_application(policy, n, n, n, **{"device.ip_address": ip}), minutes(n))[0]
              ["shared.ip_applications_24h"] for n, ip in enumerate(written)]
    assert counts == [1, 2, 3]


def test_an_ipv6_network_is_counted_per_64_whatever_address_in_it_each_application_takes(
        policy, lists, make_store):
    """A device on an IPv6 network picks any address of its /64 (a temporary address a day, or
    one per connection): a ring rotating the last 64 bits still counts as one network. Per
    address, each of these twelve read 1 and IP_VELOCITY_24H (10 in 24 hours) never fired."""
    run = Run(policy, lists, make_store(), PersonalData(SECRET))
    found = [run.apply(typed_application(policy, f"DEV-V6-{n:02d}", n, n, **{
        "device.ip_address": f"2408:8207:2a1:5c0:{n:x}:{7 * n:x}:beef:{n + 1:x}"}), minutes(n))
        for n in range(12)]
    assert [values["shared.ip_applications_24h"] for values, _ in found] == list(range(1, 13))
    assert "IP_VELOCITY_24H" in run.last.reason_codes
    # the next /64 along is another network; an IPv4 address counts per address
    values, _ = run.apply(typed_application(policy, 0, 50, 50, **{"device.ip_address": "2408:8207:2a1:5c1::1"}),
                          minutes(13))
    assert values["shared.ip_applications_24h"] == 1
    counts = [run.apply(typed_application(policy, 0, 60 + n, 60 + n, **{"device.ip_address": ip}),
                        minutes(14 + n))[0]["shared.ip_applications_24h"]
              for n, ip in enumerate(["10.1.2.3", "10.1.2.4", "::ffff:10.1.2.3"])]
    assert counts == [1, 1, 2]


@given(prefix=st.integers(0, 2 ** 64 - 1), hosts=st.lists(st.integers(0, 2 ** 64 - 1), min_size=2, max_size=5),
       other=st.integers(0, 2 ** 64 - 1))
def test_counted_as_keeps_an_ipv6_address_to_its_64_and_nothing_else(prefix, hosts, other):
    import ipaddress

    from app.privacy import counted_as
    written = [str(ipaddress.IPv6Address(prefix << 64 | host)) for host in hosts]
    if prefix >> 32 == 0 and prefix & 0xFFFF_FFFF in (0, 0xFFFF):  # ::/64 holds IPv4 written as IPv6
        return
    assert len({counted_as(text) for text in written}) == 1
    assert len({counted_as(text.upper()) for text in written}) == 1
    elsewhere = str(ipaddress.IPv6Address(other << 64 | hosts[0]))
    assert (counted_as(elsewhere) == counted_as(written[0])) == (other == prefix)


fields = st.sampled_from(["device", "phone", "contact", "ip"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(st.tuples(fields, st.integers(0, 2), st.integers(0, 59)), min_size=1, max_size=10))
def test_values_spread_over_other_fields_change_no_phone_count(policy, lists, make_store, stream):
    """Whatever other applicants put in their device id, IP or contact phone (here: the victim's
    phone number or another's), the victim's phone count is the victim's own applications."""
    store = make_store()
    run = Run(policy, lists, store, PersonalData(SECRET))
    victim = f"1381234{VICTIM_PHONE:04d}"
    own = 0
    for step, (field, person, minute) in enumerate(stream):
        at = minutes(step * 60 + minute)
        if field == "phone":  # the victim applies
            own += 1
            values, _ = run.apply(typed_application(policy, 2, 0, VICTIM_PHONE), at)
            assert values["shared.phone_applications_24h"] == sum(
                1 for n, (f, _, m) in enumerate(stream[:step + 1])
                if f == "phone" and (step * 60 + minute) - (n * 60 + m) < 24 * 60)
            continue
        extra = {"device": {}, "contact": {"applicant.contact_mobile": victim},
                 "ip": {"device.ip_address": victim}}[field]
        device = victim if field == "device" else person
        run.apply(typed_application(policy, device, 20 + step, 20 + step, **extra), at)
    assert own == sum(1 for f, _, _ in stream if f == "phone")


def test_normalise_leaves_what_is_no_ip_address_as_it_was():
    for text in ["13812345678", "dev-001", "010.1.2.3", "1.2", "Shanghai Co., Ltd.", "a:b", "12:30",
                 "10.1.2.3:65536", "010.1.2.3:80", "[x]:1", "10.1.2.3:"]:
        assert normalise(text) == "".join(text.split()).upper()
    assert normalise(" ::ffff:10.1.2.3 ") == "10.1.2.3"


_SHOW_NOTHING = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e",
                                 "\u034f", "\ufe0f", "\u3164", "\U000e0041", "\x00", "\x7f", "\x9f"])


@given(text=st.text(st.characters(categories=("Lu", "Ll", "Nd", "Pd", "Lo")), min_size=1, max_size=20),
       marks=st.lists(st.tuples(st.integers(0, 20), _SHOW_NOTHING), max_size=4))
def test_characters_that_show_nothing_are_no_part_of_a_key(text, marks):
    """A zero-width space, a soft hyphen, a byte order mark or a control character inside a device
    id or an employer's name made a new velocity key and missed the lists (tests/api/
    test_invisible_characters.py): a key is what a screen shows."""
    written = text
    for place, mark in marks:
        written = written[:place] + mark + written[place:]
    assert normalise(written) == normalise(text)


@pytest.mark.parametrize("written", [
    ["某某勞務派遣有限公司", "某某劳务派遣有限公司", "某某勞务派遣有限公司", "某某勞務派遣有限公司 "],
    ["臺灣積體電路製造", "台湾积体电路制造", "臺湾積体電路制造"]])
def test_traditional_and_simplified_characters_are_one_key(written):
    """An employer written in traditional characters is the employer written in simplified ones."""
    assert len({normalise(text) for text in written}) == 1
    assert normalise(written[0], folded=False) != normalise(written[0])  # hashed apart before


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_keys_are_hashed_as_before(text):
    """Folding touches no ASCII value: resident IDs, phones, cards and device ids hash as they did."""
    assert normalise(text) == normalise(text, folded=False)


@pytest.mark.parametrize("written", [
    ["DEV-0001", "DEV\u20100001", "DEV\u20110001", "DEV\u20120001", "DEV\u20130001", "DEV\u20140001",
     "DEV\u20150001", "DEV\u22120001", "DEV\uff0d0001", "dev\ufe630001"],
    ["阿布都·某某商贸", "阿布都・某某商贸", "阿布都･某某商贸", "阿布都‧某某商贸", "阿布都•某某商贸", "阿布都∙某某商贸",
     "阿布都⋅某某商贸", "阿布都\u0387某某商贸"]])
def test_dashes_and_middle_dots_that_look_alike_are_one_key(written):
    """NFKC folds the full-width and small hyphen-minus, not the typeset hyphen, the dashes or
    the minus sign, nor the katakana middle dot or the bullet: a key is what a screen shows."""
    assert len({normalise(text) for text in written}) == 1
    # a wave dash or a tilde is not a hyphen; a full stop is not a middle dot
    assert normalise("DEV\u301c0001") != normalise(written[0]) != normalise("DEV.0001")


@pytest.mark.parametrize("written", [
    "DEV-BAD-0002", "DEV-\u0412\u0410D-0002", "dev-\u0432ad-0002", "DEV-\u0392\u0391D-0002", "DEV-\u1c80AD-0002",
    "D\u0415V-BAD-0002"])
def test_cyrillic_and_greek_letters_that_look_latin_are_the_latin_letters(written):
    """A tampered app sent `DEV-ВАD-0002` with the Cyrillic В and А: a screen shows the listed device
    `DEV-BAD-0002`, the key was another. As written or once in capitals (the small в shows as no
    Latin letter, its capital В as B), such a letter is the Latin one."""
    assert normalise(written) == "DEV-BAD-0002"
    if not written.isascii():
        assert normalise(written, folded=False) != "DEV-BAD-0002"  # hashed apart before


def test_letters_that_look_like_no_latin_letter_stay_as_they_are():
    """Д, Ж, Л and Ф look like no Latin letter; Chinese characters are no Latin letters either."""
    assert normalise("дж-лф") == "ДЖ-ЛФ"
    assert normalise("某某劳务派遣有限公司") == "某某劳务派遣有限公司"


def _lookalikes_of():
    """{ASCII letter or digit: the characters of other scripts that normalise to it alone}."""
    from app.privacy import _lookalikes
    found: dict[str, list[str]] = {}
    for code, latin in _lookalikes().items():
        if latin.isascii() and latin.isalnum() and normalise(chr(code)) == latin:
            found.setdefault(latin, []).append(chr(code))
    return found


_LOOKALIKES_OF = _lookalikes_of()


@given(data=st.data(), text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=24))
def test_a_key_typed_with_look_alike_letters_is_the_key_typed_in_latin(data, text):
    """Any letter or digit of a device id replaced by a character of another script that looks like
    it (UTS #39's confusables): the key is the same."""
    assert set("ABCEHIKMOPTXY3") <= _LOOKALIKES_OF.keys()  # at least the Cyrillic and Greek capitals
    places = data.draw(st.sets(st.sampled_from([i for i, c in enumerate(text) if c in _LOOKALIKES_OF]))
                       if any(c in _LOOKALIKES_OF for c in text) else st.just(set()))
    written = "".join(data.draw(st.sampled_from(_LOOKALIKES_OF[c])) if i in places else c
                      for i, c in enumerate(text))
    assert normalise(written) == normalise(text)
