"""What a state says should be on the output topics: pure functions of a State (no Kafka here).

`derived_events(state)` maps every derived event id to its topic, key and record; the worker diffs
this against what it already published, so the events follow from the state alone, whatever the
batches, the arrival order or a restart. `projection_values(state, t)` gives the latest value of
every key of the compacted projection topics at time t.
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


def derived_events(state: State) -> dict[str, Out]:
    """Every derived event the state implies, by event id. A record is published as it first was
    (its later changes cleared) and each change is its own event, so an id always means one payload."""
    out: dict[str, Out] = {}
    for s in state.suspicions.values():
        out[s.id] = Out("suspicions", s.account_id, s)
    for v in state.violations.values():
        out[v.id] = Out("violations", v.account_id, replace(v, annulled_at=None) if v.annulled_at else v)
        if v.annulled_at is not None:
            change = _changed(v, "annulled", v.annulled_at)
            out[change.id] = Out("violations", v.account_id, change)
    for p in state.penalties.values():
        topic = "company-penalties" if p.subject_kind == "company" else "penalties"
        imposed = replace(p, lifted_at=None, ended_at=None, ended_by=None, annulled_at=None)
        out[p.id] = Out(topic, p.subject, imposed)
        for what, at in (
            ("imposed", p.at),
            ("lifted", p.lifted_at),
            ("ended", p.ended_at),
            ("annulled", p.annulled_at),
        ):
            if at is not None:
                event = blacklist_change(p, what, at)  # type: ignore[arg-type]
                out[event.id] = Out("blacklist-changes", p.subject, event)
    for r in state.revocations.values():
        out[r.id] = Out("certificate-revocations", r.account_id, replace(r, annulled_at=None))
        if r.annulled_at is not None:
            change = _changed(r, "annulled", r.annulled_at)
            out[change.id] = Out("certificate-revocations", r.account_id, change)
    for a in state.permanent.values():
        out[a.id] = Out("certificate-revocations", a.account_id, a)
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
