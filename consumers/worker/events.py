"""The records a worker writes that schemas/derived.py does not define: changes of a derived record,
blacklist changes, and the values of the compacted projection topics. msgspec JSON on the wire.

A derived record (a Violation, a Penalty as imposed, ...) is written once under its own id. What
happens to it later is a separate immutable event under a deterministic id, f"{record_id}@{change}"
(a penalty lifted, ended or annulled; a violation or revocation annulled). A record that a late fact
showed never happened is withdrawn by a `retracted` change (see emitter.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from projections.view import BlacklistEntry, CertificateTally, CompanyCounter

Change = Literal["annulled", "lifted", "ended", "retracted"]
BlacklistChange = Literal["imposed", "lifted", "ended", "annulled", "retracted"]


class RecordChanged(msgspec.Struct, kw_only=True, tag_field="type", tag="derived.changed", gc=False):
    id: str  # f"{record_id}@{change}"
    record_id: str  # the event id of the record it changes
    record_type: str  # that record's type tag, e.g. "violation.confirmed"
    change: Change
    at: datetime | None  # when it took effect (event time); None for a retraction
    policy_version: str


class BlacklistChanged(msgspec.Struct, kw_only=True, tag_field="type", tag="blacklist.changed", gc=False):
    id: str  # f"{penalty_id}@{change}"
    at: datetime | None  # when the change took effect (event time); None for a retraction
    policy_version: str
    causes: tuple[str, ...]
    change: BlacklistChange
    subject_kind: str
    subject: str
    penalty_id: str
    rule: str
    violation_id: str
    until: datetime | None  # the entry's natural end (None: permanent or until a condition is met)


class BlacklistValue(msgspec.Struct, kw_only=True, gc=False):
    """projection.blacklist, key f"{kind}:{subject}": every entry of the subject and its status."""

    subject_kind: str
    subject: str
    as_of: datetime | None
    entries: list[BlacklistEntry]


class CompanyCountersValue(msgspec.Struct, kw_only=True, gc=False):
    """projection.company-counters, key company id: occurrences per counter in the rolling year."""

    company_id: str
    as_of: datetime | None
    counters: list[CompanyCounter]


class CertificateTallyValue(msgspec.Struct, kw_only=True, gc=False):
    """projection.certificate-tallies, key account id."""

    as_of: datetime | None
    tally: CertificateTally
