"""Which facts introduce an entity, which facts must name one, and the batch check of both.

A fact that names an unknown account, company, certificate or device barcode is refused at ingest (an
unknown barcode on a call is valid input: admission refuses the call). A reference is checked as of
the fact's event time: the entity must be introduced at or before it (RULES.md "No silent guess"). A
report naming a device B installed only later in event time is refused with that reason, not
accepted and judged as if B were unknown; the fold's own hold (projections.consequences) covers facts
that reached a log without this check. `admit_references` is the one routine both ingest paths run
over a batch: producers.ingest (into the embedded log) and producers.kafka_producer (onto the facts
topic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from schemas import facts as f

T = TypeVar("T")

#: Facts that introduce something other facts refer to: (kind, attribute holding its key).
ENTITY_KEYS: dict[type[f.Fact], tuple[str, str]] = {
    f.CompanyRegistered: ("company", "company_id"),
    f.AccountOpened: ("account", "account_id"),
    f.CertificateGranted: ("certificate", "certificate_id"),
    f.DeviceInstalled: ("barcode", "barcode"),
}

#: Which attributes of a fact must name something already known: (attribute, entity kind).
REFERENCES: dict[type[f.Fact], tuple[tuple[str, str], ...]] = {
    f.AccountOpened: (("company_id", "company"),),
    f.RatingIssued: (("company_id", "company"),),
    f.CertificateGranted: (("account_id", "account"),),
    f.CertificateExamResult: (("certificate_id", "certificate"), ("account_id", "account")),
    f.MaintenanceAgreed: (("company_id", "company"),),
    f.AdmissionRefused: (("account_id", "account"),),
    f.CallReceived: (("account_id", "account"),),  # an unknown barcode is the line's answer, not bad input
    f.CaseOpened: (("account_id", "account"),),
    f.ViolationReported: (
        ("account_id", "account"),
        ("certificate_id", "certificate"),
        ("device_barcode", "barcode"),
    ),
    f.WarningIssued: (("account_id", "account"),),
}


#: Where a kind is introduced elsewhere (the log, the topic): the earliest event time, or None.
IntroducedAt = Callable[[str, str], datetime | None]


def unknown_references(fact: f.Fact, introduced_at: IntroducedAt) -> list[tuple[str, str]]:
    """(attribute, reason) for each reference of `fact` to something not introduced by its event time."""
    out = []
    for attr, kind in REFERENCES.get(type(fact), ()):
        key = getattr(fact, attr)
        if key is None:
            continue
        since = introduced_at(kind, key)
        if since is None:
            out.append((attr, f"unknown {kind} {key!r}: no fact introduces it"))
        elif since > fact.at:
            out.append(
                (
                    attr,
                    f"unknown {kind} {key!r} at {fact.at.isoformat()}: it is introduced only at "
                    f"{since.isoformat()}, later in event time",
                )
            )
    return out


def admit_references(
    batch: Sequence[T],
    fact_of: Callable[[T], f.Fact],
    introduced_elsewhere: IntroducedAt,
    refresh: Callable[[], object] | None = None,
) -> tuple[list[T], list[tuple[T, list[tuple[str, str]]]]]:
    """Split a batch into the items whose references hold and the refused items with their problems
    (in batch order, round by round).

    A reference holds when the entity is introduced at or before the referring fact's event time: by
    an accepted item of the batch, whatever its place in the batch, or elsewhere
    (`introduced_elsewhere(kind, key)`: the earliest event time on the log, the topic; None when
    unknown). Refusing an item that introduces an entity can refuse what relied on it, so the check
    runs again until nothing more is refused. `refresh`, when given, is called once, before the
    first refusal, and the check repeated: the caller learns what was added elsewhere meanwhile
    (another producer's facts)."""
    kept = list(batch)
    refused: list[tuple[T, list[tuple[str, str]]]] = []
    refreshed = refresh is None
    while True:
        introduced: dict[tuple[str, str], datetime] = {}
        for item in kept:
            fact = fact_of(item)
            if (entity := ENTITY_KEYS.get(type(fact))) is not None:
                key = (entity[0], getattr(fact, entity[1]))
                if key not in introduced or fact.at < introduced[key]:
                    introduced[key] = fact.at

        def since(kind: str, key: str, here: dict[tuple[str, str], datetime] = introduced) -> datetime | None:
            return _earliest(here.get((kind, key)), introduced_elsewhere(kind, key))

        bad = {i: p for i, item in enumerate(kept) if (p := unknown_references(fact_of(item), since))}
        if not bad:
            return kept, refused
        if not refreshed and refresh is not None:
            refresh()
            refreshed = True
            continue
        refused += [(kept[i], problems) for i, problems in bad.items()]
        refused_entity = any(type(fact_of(kept[i])) in ENTITY_KEYS for i in bad)
        kept = [item for i, item in enumerate(kept) if i not in bad]
        if not refused_entity:
            # A refused fact that introduces nothing cannot make another fact's reference fail.
            return kept, refused


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
