"""Which facts introduce an entity, which facts must name one, and the batch check of both.

A fact that names an unknown account, company, certificate or device barcode is refused at ingest (an
unknown barcode on a call is valid input: admission refuses the call). `admit_references` is the one
routine both ingest paths run over a batch: producers.ingest (into the embedded log) and
producers.kafka_producer (onto the facts topic).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
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
    f.CallReceived: (("account_id", "account"),),  # an unknown barcode is the line's answer, not bad input
    f.CaseOpened: (("account_id", "account"),),
    f.ViolationReported: (
        ("account_id", "account"),
        ("certificate_id", "certificate"),
        ("device_barcode", "barcode"),
    ),
    f.WarningIssued: (("account_id", "account"),),
}


def unknown_references(fact: f.Fact, known: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    """(attribute, reason) for each reference of `fact` that `known(kind, key)` does not know."""
    out = []
    for attr, kind in REFERENCES.get(type(fact), ()):
        key = getattr(fact, attr)
        if key is not None and not known(kind, key):
            out.append((attr, f"unknown {kind} {key!r}: no fact introduces it"))
    return out


def admit_references(
    batch: Sequence[T],
    fact_of: Callable[[T], f.Fact],
    known_elsewhere: Callable[[str, str], bool],
    refresh: Callable[[], object] | None = None,
) -> tuple[list[T], list[tuple[T, list[tuple[str, str]]]]]:
    """Split a batch into the items whose references hold and the refused items with their problems
    (in batch order, round by round).

    A reference holds when an accepted item of the batch introduces the entity, whatever its place in
    the batch, or when `known_elsewhere(kind, key)` (the log, the topic). Refusing an item that
    introduces an entity can refuse what relied on it, so the check runs again until nothing more is
    refused. `refresh`, when given, is called once, before the first refusal, and the check repeated:
    the caller learns what was added elsewhere meanwhile (another producer's facts)."""
    kept = list(batch)
    refused: list[tuple[T, list[tuple[str, str]]]] = []
    refreshed = refresh is None
    while True:
        introduced: dict[str, set[str]] = defaultdict(set)
        for item in kept:
            fact = fact_of(item)
            if (entity := ENTITY_KEYS.get(type(fact))) is not None:
                introduced[entity[0]].add(getattr(fact, entity[1]))

        def known(kind: str, key: str, introduced: dict[str, set[str]] = introduced) -> bool:
            return key in introduced[kind] or known_elsewhere(kind, key)

        bad = {i: p for i, item in enumerate(kept) if (p := unknown_references(fact_of(item), known))}
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
