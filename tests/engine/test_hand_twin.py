"""The hand-written twin of the reference policy (bench/hand.py, the benchmark's baseline) decides
exactly as the engine: outcome, limit, group, score, band and ordered reasons, on generated
applicants as they come and with sections and fields removed (which exercises the data
requirements). bench/ is not a package: the twin is loaded from its path."""
from __future__ import annotations

import importlib.util
import random
from collections import Counter

import pytest

from engine.support import REPO
from support.applicants import generate, generate_shared


def _load_twin():
    spec = importlib.util.spec_from_file_location("hand", REPO / "bench" / "hand.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HAND = _load_twin()
# not applicant or residence: the input schema requires the resident ID and the city
SECTIONS = ("employment", "business", "bank", "bureau", "device", "checks", "scores", "consent")
REQUIRED = ("id_number", "city_code")


def _thinned(raw: dict, rng: random.Random) -> dict:
    """The application with a section or two removed and a few fields dropped."""
    out = {key: (dict(value) if isinstance(value, dict) else value) for key, value in raw.items()}
    for section in rng.sample(SECTIONS, rng.randint(0, 2)):
        out.pop(section, None)
    for value in out.values():
        if isinstance(value, dict):
            for key in [k for k in value if k not in REQUIRED and rng.random() < 0.05]:
                value.pop(key)
    return out


def _compare(reference, raws, seed) -> Counter:
    outcomes: Counter = Counter()
    for index, (raw, shared) in enumerate(zip(raws, generate_shared(len(raws), seed))):
        typed = reference.parse_input(raw)
        expected = HAND.decide(typed, shared)
        got = reference.decide(typed, shared=shared).headline()
        assert got == expected, f"applicant {index}: {raw} {shared}"
        outcomes[expected["outcome"]] += 1
    return outcomes


def test_the_twin_agrees_on_generated_applicants(reference):
    outcomes = _compare(reference, generate(1500, 11), 11)
    # a comparison that covers every outcome, approvals common
    assert min(outcomes.values()) > 150 and set(outcomes) == {"APPROVE", "DECLINE", "REFER"}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_twin_agrees_with_data_removed(reference, seed):
    rng = random.Random(seed)
    outcomes = _compare(reference, [_thinned(raw, rng) for raw in generate(600, 100 + seed)], seed)
    assert set(outcomes) == {"APPROVE", "DECLINE", "REFER"}
