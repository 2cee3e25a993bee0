"""A deterministic synthetic fact stream for `hotline demo`: a realistic partner line where every rule fires.

The bulk is ordinary traffic: companies rated per product line, engineer accounts and certificates, an
installed base, admissible calls and their cases, which the line answers mostly within the response
target of their fault level (some late, some waiting on the partner; seed 002 service levels). Every
customer has a partner of record, and a few companies hold an installed base large enough for a seed
004 priority tier. Scenarios sprinkled over the period make each rule of RULES.md fire and exercise the
combinations: company repeats, three strikes, maintenance, clemency, annulment, codes deadlines, black
key events and rectification plans, detector suspicions. Only `random.Random` seeded from `seed` is
used, so the same arguments give the same list. Every time is in UTC.

The generator is split by concern: `synthetic_data` (vocabulary and model), `synthetic_reference`
(reference data and the installed base), `synthetic_traffic` (calls, cases and their service) and
`synthetic_scenarios` (the rules firing); this module keeps the entry point and the public names.
"""

from __future__ import annotations

from datetime import UTC, datetime

from producers.synthetic_data import (
    BRANDS,
    CALLCENTRE,
    CITIES,
    DAY,
    LEVEL_WEIGHTS,
    LEVELS,
    MODELS,
    PREFIX,
    PROBLEMS,
    TRADES,
    Company,
    Device,
    Engineer,
)
from producers.synthetic_scenarios import Scenarios as _Stream
from schemas.facts import Fact

__all__ = [
    "BRANDS",
    "CALLCENTRE",
    "CITIES",
    "DAY",
    "LEVELS",
    "LEVEL_WEIGHTS",
    "MODELS",
    "PREFIX",
    "PROBLEMS",
    "TRADES",
    "Company",
    "Device",
    "Engineer",
    "generate",
]


def generate(
    seed: int = 7,
    companies: int = 300,
    engineers: int = 3000,
    months: int = 4,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
) -> list[Fact]:
    """The stream in event-time order: reference data, one round of scenarios per 40 companies,
    ordinary traffic (about five calls per engineer and month) and how the line served it, then the
    partners of record and the large installed bases."""
    stream = _Stream(seed, start, months)
    stream.reference(companies, engineers)
    for _ in range(max(1, companies // 40)):
        stream.scenarios()
    stream.traffic(per_month=5.0)
    stream.installed_base()
    return sorted(stream.facts, key=lambda fact: fact.at)
