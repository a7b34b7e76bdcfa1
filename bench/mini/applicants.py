"""Seeded applications for the small policy: the JSON a channel would send (one dict each).

Each field is usually unremarkable and sometimes on or past a rule's threshold, so that every
rule, every matrix row and every outcome occurs in a few thousand applicants."""
from __future__ import annotations

import random


def _pick(rng: random.Random, usual, unusual, p_unusual: float):
    return rng.choice(unusual) if rng.random() < p_unusual else rng.choice(usual)


def generate_one(rng: random.Random) -> dict:
    employment = _pick(rng, ["SALARIED", "SALARIED", "SELF_EMPLOYED"], ["UNEMPLOYED"], 0.05)
    return {
        "applicant": {
            "age": _pick(rng, range(25, 55), [18, 20, 21, 22, 23, 24, 55, 58, 60, 61, 66], 0.15),
            "employment": employment,
            "months_employed": _pick(rng, range(24, 240), [0, 3, 5, 6, 12, 23], 0.12),
            "monthly_income": _pick(rng, range(5000, 40000, 250),
                                    [0, 800, 2999, 3000, 4200, 4999, 5000], 0.12),
            "city_tier": rng.choice(["TIER1", "TIER2", "TIER3"]),
        },
        "bureau": {
            "credit_score": _pick(rng, range(600, 850), range(300, 620), 0.2),
            "overdue_months_24m": _pick(rng, [0, 0, 0, 1, 2], [3, 5, 6, 9], 0.08),
            "max_dpd_12m": _pick(rng, [0, 0, 0, 5, 15, 29], [30, 60, 89, 90, 120], 0.08),
            "hard_inquiries_6m": _pick(rng, range(0, 6), [6, 7, 10, 11, 15], 0.1),
            "open_loans": _pick(rng, range(0, 5), [5, 7, 8, 12], 0.08),
        },
        "application": {
            "channel": rng.choice(["APP", "APP", "BRANCH", "PARTNER"]),
            "requested_amount": _pick(rng, range(5000, 200000, 1000), [0, 500, 999, 1000, 200000, 200001, 500000], 0.08),
        },
        "device": {
            "device_age_days": _pick(rng, range(1, 2000), [0, 1], 0.06),
            "phone_months": _pick(rng, range(6, 200), [0, 2, 3, 5, 6], 0.08),
            "applications_30d": _pick(rng, [0, 0, 1, 2], [3, 4, 5, 8], 0.08),
            "ip_risk": _pick(rng, ["LOW"], ["MEDIUM", "HIGH"], 0.08),
            "on_blacklist": rng.random() < 0.03,
        },
    }


def generate(n: int, seed: int = 7) -> list[dict]:
    """n applications, the same for the same seed."""
    rng = random.Random(seed)
    return [generate_one(rng) for _ in range(n)]
