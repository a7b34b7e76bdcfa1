"""Champion/challenger: the keyed split is stable and keeps its share; a shadow challenger is
decided and stored beside every decision, linked to it, searchable by arm, and compared in a swap
matrix; a split sends the same applicant to the same arm every time."""
import datetime
import random
import re

import pytest

from app.engine import load_policy_root
from app.privacy import PersonalData
from app.services import build
from app.services.access import Principal
from app.services.challengers import bucket
from app.services.deciding import DecisionRequest
from app.services.records import Search
from support.applicants import generate
from support.settings import POLICY_ROOT, make_settings

CHAMPION, CHALLENGER = "zhishandai.application", "zhishandai.application_b"
CHANNEL = Principal("test-channel", "channel")


def test_the_split_is_stable_and_keeps_its_share_on_ten_thousand_keys():
    personal = PersonalData("a-test-secret-of-at-least-thirty-two-characters")
    rng = random.Random(5)
    keys = [f"{rng.randrange(10**17):017d}X" for _ in range(10_000)]
    buckets = [bucket(personal, CHAMPION, CHALLENGER, key) for key in keys]
    assert buckets == [bucket(personal, CHAMPION, CHALLENGER, key) for key in keys]   # stable
    for share in (10, 25, 50):
        inside = sum(b < share * 100 for b in buckets) / len(keys)
        assert abs(inside - share / 100) < 0.02, share      # about 4 standard errors at 50%
    # another experiment (or another key) draws its own arms
    others = [bucket(personal, CHAMPION, "zhishandai.application_c", key) for key in keys]
    assert sum(a < 5000 and b >= 5000 for a, b in zip(buckets, others)) > 2000
    other_secret = PersonalData("another-test-secret-of-thirty-two-characters!")
    assert [bucket(other_secret, CHAMPION, CHALLENGER, k) for k in keys[:50]] != buckets[:50]


def _root(tmp_path, challenger: str) -> str:
    root = tmp_path / "root"
    for folder in ("policies", "rules"):
        import shutil
        shutil.copytree(POLICY_ROOT / folder, root / folder)
    champion = root / "policies" / "zhishandai" / "application.yaml"
    text = champion.read_text(encoding="utf-8")
    challenger_text = text.replace("policy: zhishandai.application\n", f"policy: {CHALLENGER}\n", 1)
    challenger_text = re.sub(r"max_pd: [0-9.]+", "max_pd: 0.02", challenger_text)   # a stricter policy
    (champion.parent / "application_b.yaml").write_text(challenger_text, encoding="utf-8")
    champion.write_text(text.replace("\nstages:", f"\nchallenger: {challenger}\n\nstages:", 1),
                        encoding="utf-8")
    assert load_policy_root(root).ok
    return str(root)


@pytest.fixture
def experiment(request, tmp_path, database_url, redis_url, clean_state):
    services = build(make_settings(database_url, redis_url,
                                   FIREFLY_POLICY_ROOT=_root(tmp_path, request.param)))
    yield services
    services.close()


def _decide(services, bodies):
    return [services.deciding.decide(DecisionRequest(policy_name=CHAMPION, body=body, caller=CHANNEL,
                                                     request_id=f"r{i}"))
            for i, body in enumerate(bodies)]


@pytest.mark.parametrize("experiment", [f"{{policy: {CHALLENGER}, mode: shadow}}"], indirect=True)
def test_a_shadow_is_stored_beside_every_decision_and_the_comparison_counts_the_swaps(experiment):
    decided = _decide(experiment, generate(60, 3))
    assert all(d.answer["arm"] == "champion" and d.answer["policy"]["name"] == CHAMPION for d in decided)
    shadows = experiment.records.search(Search(arm="shadow", limit=200)).items
    assert len(shadows) == 60
    assert {s["shadow_of"] for s in shadows} == {d.decision_id for d in decided}
    assert {s["policy"]["name"] for s in shadows} == {CHALLENGER}
    by_champion = {s["shadow_of"]: s["outcome"] for s in shadows}
    day = datetime.date.fromisoformat(decided[0].answer["decision_date"])
    report = experiment.comparing.compare(CHAMPION, day - datetime.timedelta(days=1),
                                          day + datetime.timedelta(days=1))
    expected = {}
    for d in decided:
        pair = (d.answer["outcome"], by_champion[d.decision_id])
        expected[pair] = expected.get(pair, 0) + 1
    matrix = report["swap_matrix"]
    assert {(a, b): n for a, row in matrix.items() for b, n in row.items() if n} == expected
    assert report["shadow_pairs"] == 60 and report["arms"]["shadow"]["decisions"] == 60
    # the stricter PD cut-off declines some the champion did not, and approves none it did not
    assert matrix["APPROVE"]["DECLINE"] + matrix["REFER"]["DECLINE"] > 0, matrix
    assert report["swap_in"] == 0 and report["agreement"] < 1


@pytest.mark.parametrize("experiment", [f"{{policy: {CHALLENGER}, mode: split, share: 50}}"], indirect=True)
def test_a_split_answers_with_the_arm_of_the_applicant_every_time(experiment):
    bodies = generate(40, 4)
    first = _decide(experiment, bodies)
    again = _decide(experiment, bodies)
    arms = [d.answer["arm"] for d in first]
    assert arms == [d.answer["arm"] for d in again]
    assert {"champion", "challenger"} == set(arms)
    for d in first:
        expected = CHALLENGER if d.answer["arm"] == "challenger" else CHAMPION
        assert d.answer["policy"]["name"] == expected
    assert experiment.records.search(Search(arm="shadow")).items == []


@pytest.mark.parametrize("experiment", [f"{{policy: {CHALLENGER}, mode: shadow}}"], indirect=True)
def test_the_arm_and_the_shadow_link_are_in_the_chained_content_hash(experiment):
    from sqlalchemy import select

    from app.storage import chain
    from app.storage.models import Decision
    _decide(experiment, generate(1, 6))
    with experiment.database.session() as session:
        champion, shadow = sorted(session.scalars(select(Decision)).all(), key=lambda r: r.arm)
        session.expunge_all()
    assert (champion.arm, shadow.arm, shadow.shadow_of) == ("champion", "shadow", champion.id)
    for row in (champion, shadow):
        stored = row.content_hash
        assert chain.decision_content_hash(row) == stored
        row.arm = "challenger"                               # an edited arm does not verify
        assert chain.decision_content_hash(row) != stored
    shadow.arm, shadow.shadow_of = "shadow", "0" * 32
    assert chain.decision_content_hash(shadow) != shadow.content_hash
    # a row without an arm hashes as it did before migration 0014
    champion.arm = None
    columns = {n: chain.plain(getattr(champion, n), numeric=n == "score") for n in chain.DECISION_COLUMNS}
    header = chain.dumps(columns)
    assert chain.decision_content_hash(champion) == chain.sha256("\x1e".join(
        [header, *(chain.json_text(getattr(champion, n)) for n in chain.DECISION_DOCUMENTS)]))
