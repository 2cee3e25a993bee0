"""What a state says should be on the output topics: pure functions of a State (no Kafka here).

`derived_events(state)` maps every derived event, by (topic kind, event id), to its topic, key and
record; the worker diffs this against what it already published, so the events follow from the
state alone, whatever the batches, the arrival order or a restart. An id is unique within a topic,
not across topics: a detector's suspicion and the violation it becomes share one
(`barcode-mismatch:CALL-1` on `suspicions` and on `violations`), and both are published.
`projection_values(state, t)` gives the latest value of every key of the compacted projection topics
at time t.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

import msgspec

from projections.state import State
from projections.view import BlacklistEntry, CertificateTally, company_counters, penalty_status
from schemas.derived import Derived, Penalty

from .events import (
    BlacklistChange,
    BlacklistChanged,
    BlacklistValue,
    CertificateTallyValue,
    Change,
    CompanyCountersValue,
    RecordChanged,
)

replace = msgspec.structs.replace


class Out(NamedTuple):
    kind: str  # the topic, a key of schemas.topics.DERIVED or PROJECTIONS
    key: str  # the record key: the subject
    record: msgspec.Struct


def _changed(record: Derived, change: Change, at: datetime) -> RecordChanged:
    return RecordChanged(
        id=f"{record.id}@{change}",
        record_id=record.id,
        record_type=type_tag(record),
        change=change,
        at=at,
        policy_version=record.policy_version,
    )


def blacklist_change(p: Penalty, change: BlacklistChange, at: datetime | None) -> BlacklistChanged:
    return BlacklistChanged(
        id=f"{p.id}@{change}",
        at=at,
        policy_version=p.policy_version,
        causes=p.causes,
        change=change,
        subject_kind=p.subject_kind,
        subject=p.subject,
        penalty_id=p.id,
        rule=p.rule,
        violation_id=p.violation_id,
        until=p.until,
    )


def derived_events(state: State) -> dict[tuple[str, str], Out]:
    """Every derived event the state implies, by (topic kind, event id). A record is published as it
    first was (its later changes cleared) and each change is its own event, so an id always means one
    payload on its topic. The same id may be on two topics: a suspicion stays on `suspicions` when it
    is confirmed, and its violation goes to `violations` under the same id."""
    out: dict[tuple[str, str], Out] = {}

    def add(kind: str, key: str, record: Derived | RecordChanged | BlacklistChanged) -> None:
        out[(kind, record.id)] = Out(kind, key, record)

    for s in state.suspicions.values():
        add("suspicions", s.account_id, s)
    for v in state.violations.values():
        add("violations", v.account_id, replace(v, annulled_at=None) if v.annulled_at else v)
        if v.annulled_at is not None:
            add("violations", v.account_id, _changed(v, "annulled", v.annulled_at))
    for p in state.penalties.values():
        topic = "company-penalties" if p.subject_kind == "company" else "penalties"
        add(topic, p.subject, replace(p, lifted_at=None, ended_at=None, ended_by=None, annulled_at=None))
        for what, at in (
            ("imposed", p.at),
            ("lifted", p.lifted_at),
            ("ended", p.ended_at),
            ("annulled", p.annulled_at),
        ):
            if at is not None:
                add("blacklist-changes", p.subject, blacklist_change(p, what, at))  # type: ignore[arg-type]
    for r in state.revocations.values():
        add("certificate-revocations", r.account_id, replace(r, annulled_at=None))
        if r.annulled_at is not None:
            add("certificate-revocations", r.account_id, _changed(r, "annulled", r.annulled_at))
    for a in state.permanent.values():
        add("certificate-revocations", a.account_id, a)
    return out


def retraction(event_id: str, record_type: str, kind: str, key: str, policy_version: str) -> Out:
    """The event that withdraws `event_id` (on the same topic and key, so it follows it in the
    partition): a late fact showed that what it said never happened."""
    return Out(
        kind,
        key,
        RecordChanged(
            id=f"{event_id}@retracted",
            record_id=event_id,
            record_type=record_type,
            change="retracted",
            at=None,
            policy_version=policy_version,
        ),
    )


def type_tag(record: msgspec.Struct) -> str:
    return str(type(record).__struct_config__.tag)


def projection_values(state: State, t: datetime | None) -> dict[tuple[str, str], msgspec.Struct]:
    """(projection kind, key) -> latest value at t, for the compacted topics of schemas.topics.PROJECTIONS."""
    values: dict[tuple[str, str], msgspec.Struct] = {}
    by_subject: defaultdict[tuple[str, str], list[Penalty]] = defaultdict(list)
    for _, p in sorted(state.penalties.items()):
        by_subject[(p.subject_kind, p.subject)].append(p)
    for (kind, subject), penalties in by_subject.items():
        values[("blacklist", f"{kind}:{subject}")] = BlacklistValue(
            subject_kind=kind,
            subject=subject,
            as_of=t,
            entries=[BlacklistEntry(penalty=p, status=penalty_status(p, t)) for p in penalties],
        )
    by_company: defaultdict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for counter in company_counters(state, t):
        by_company[counter.company_id].append(counter)
    for company, counters in by_company.items():
        values[("company-counters", company)] = CompanyCountersValue(
            company_id=company, as_of=t, counters=counters
        )
    for account, tally in state.account_revocations.items():
        permanent = state.permanent.get(account)
        values[("certificate-tallies", account)] = CertificateTallyValue(
            as_of=t,
            tally=CertificateTally(
                account_id=account,
                revoked=[r.certificate_id for r in tally],
                all_revoked_at=permanent.at if permanent else None,
            ),
        )
    return values
