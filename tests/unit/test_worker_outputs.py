"""The worker's output path (consumers/worker: outputs.py, emitter.py, reorder.py), no broker needed.

Every expected value here is typed by hand from ../shared/spec/RULES.md and docs/kafka.md, never
computed with project() or the output functions: ids, topics, keys, dates, counts. The facts are
folded with the builders (the state is the input of the output path, not what is tested).

Times: facts are given on the line's calendar (+08:00) and normalised to UTC at the edge, so the
wire shows 10:00 +08:00 as 02:00Z. The emitter gets a fake `send` (records what it is given and
acknowledges at once) and plain dicts as its `emitted` and `published` tables.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from consumers.worker.emitter import Emitter
from consumers.worker.outputs import derived_events, projection_values
from consumers.worker.ownership import Ownership
from consumers.worker.reorder import Reorder
from schemas import facts as f

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    annul,
    call,
    cert,
    confirm,
    exam,
    fold,
    report,
    t,
    world,
)

A1 = "A-1"


# --- helpers ---------------------------------------------------------------------------------------
class Topics:
    """The emitter's `send`: keeps (kind, key, decoded value or None for a tombstone) in send order
    and acknowledges each record at once, or fails every delivery while `down` is set."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any] | None]] = []
        self.down = False

    async def send(self, kind: str, key: str, value: bytes | None) -> asyncio.Future[None]:
        self.records.append((kind, key, None if value is None else json.loads(value)))
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.down:
            delivery.set_exception(ConnectionError("the broker did not acknowledge"))
        else:
            delivery.set_result(None)
        return delivery

    def take(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        out, self.records = self.records, []
        return out


def emitter(topics: Topics, emitted: dict[str, Any], published: dict[str, Any], index: int = 0, of: int = 1):
    return Emitter(Ownership(index, of), topics.send, emitted, published, "3.0")


def publish(e: Emitter, facts: list[f.Fact], at: str) -> int:
    """What the worker does after a batch: the state as of its latest fact, published at that time."""
    return asyncio.run(e.publish(fold(facts, at), t(at)))


def ids(records: list[tuple[str, str, dict[str, Any] | None]]) -> list[tuple[str, str, str | None]]:
    """(topic kind, key, event id) of each record; None for a projection value or a tombstone."""
    return [(kind, key, value.get("id") if value else None) for kind, key, value in records]


def by_id(records: list[tuple[str, str, dict[str, Any] | None]]) -> dict[str, dict[str, Any]]:
    return {value["id"]: value for _, _, value in records if value is not None and "id" in value}


def shared_account() -> list[f.Fact]:
    """A-1 (company co1) calls from NUMBER on 9 March; staff report the call as ACCOUNT-SHARED and
    confirm it on 10 March 2025 at 10:00 (+08:00)."""
    return world([A1]) + [
        call("CALL-1", "2025-03-09T15:00", account_id=A1),
        report("R-17", "ACCOUNT-SHARED", "2025-03-09T16:00", A1, call_id="CALL-1"),
        confirm("R-17", "2025-03-10T10:00", id="F-CONFIRM-17"),
    ]


def cert_fraud(rid: str, certificate: str, failed_at: str) -> list[f.Fact]:
    """A CERT-FRAUD report on A-1's certificate, confirmed by the exam A-1 fails at `failed_at`."""
    reported = failed_at.replace("T10:00", "T09:00")
    return [
        report(rid, "CERT-FRAUD", reported, A1, certificate_id=certificate),
        exam(certificate, failed_at, A1, id=f"F-EXAM-{rid}"),
    ]


# --- ACCOUNT-SHARED: 3 calendar months on the account and the number ---------------------------
def test_account_shared_publishes_the_violation_and_blacklists_account_and_number() -> None:
    events = derived_events(fold(shared_account(), "2025-03-10T10:00"))

    # RULES.md: every engineer penalty hits both the account and the number the call came from;
    # ACCOUNT-SHARED has no company consequence. docs/kafka.md: topic and key of each.
    assert {event: out.key for event, out in events.items()} == {
        ("violations", "R-17"): "A-1",
        ("penalties", "R-17/account"): "A-1",
        ("penalties", "R-17/number"): "+8613800000001",
        ("blacklist-changes", "R-17/account@imposed"): "A-1",
        ("blacklist-changes", "R-17/number@imposed"): "+8613800000001",
    }
    assert all(out.kind == kind for (kind, _), out in events.items())
    for penalty_id, kind, subject in (
        ("R-17/account", "account", "A-1"),
        ("R-17/number", "number", "+8613800000001"),
    ):
        p = events[("penalties", penalty_id)].record
        # from the confirmation, 10 March 10:00, for 3 calendar months: 10 June 10:00
        assert (p.subject_kind, p.subject, p.rule, p.violation_id) == (
            kind,
            subject,
            "ACCOUNT-SHARED",
            "R-17",
        )
        assert (p.at, p.until) == (t("2025-03-10T10:00+08:00"), t("2025-06-10T10:00+08:00"))
        change = events[("blacklist-changes", f"{penalty_id}@imposed")].record
        assert (change.change, change.penalty_id, change.at, change.until) == (
            "imposed",
            penalty_id,
            t("2025-03-10T10:00+08:00"),
            t("2025-06-10T10:00+08:00"),
        )


def test_account_shared_on_the_wire() -> None:
    topics = Topics()
    assert publish(emitter(topics, {}, {}), shared_account(), "2025-03-10T10:00") == 7  # 5 events, 2 keys
    records = topics.take()
    assert sorted(ids(records)) == [
        ("blacklist", "account:A-1", None),
        ("blacklist", "number:+8613800000001", None),
        ("blacklist-changes", "+8613800000001", "R-17/number@imposed"),
        ("blacklist-changes", "A-1", "R-17/account@imposed"),
        ("penalties", "+8613800000001", "R-17/number"),
        ("penalties", "A-1", "R-17/account"),
        ("violations", "A-1", "R-17"),
    ]
    assert by_id(records)["R-17/account"] == {
        "type": "penalty.imposed",
        "id": "R-17/account",
        "at": "2025-03-10T02:00:00Z",
        "policy_version": "3.0",
        "causes": ["R-17"],
        "subject_kind": "account",
        "subject": "A-1",
        "rule": "ACCOUNT-SHARED",
        "violation_id": "R-17",
        "until": "2025-06-10T02:00:00Z",
        "lifted_at": None,
        "ended_at": None,
        "ended_by": None,
        "annulled_at": None,
    }
    assert by_id(records)["R-17"] == {
        "type": "violation.confirmed",
        "id": "R-17",
        "at": "2025-03-10T02:00:00Z",  # a violation's time is its confirmation
        "policy_version": "3.0",
        "causes": ["R-17", "F-CONFIRM-17"],
        "rule": "ACCOUNT-SHARED",
        "account_id": "A-1",
        "number": "+8613800000001",  # from the reported call
        "company_id": "co1",
        "occurred_at": "2025-03-09T08:00:00Z",  # the report's time, kept for the record
        "annulled_at": None,
    }
    account = next(v for kind, key, v in records if (kind, key) == ("blacklist", "account:A-1"))
    assert account is not None
    assert (account["subject_kind"], account["subject"], account["as_of"]) == (
        "account",
        "A-1",
        "2025-03-10T10:00:00+08:00",
    )
    assert [(e["penalty"]["id"], e["status"]) for e in account["entries"]] == [("R-17/account", "in force")]


def test_blacklist_projection_status_over_the_three_months() -> None:
    state = fold(shared_account(), "2025-03-10T10:00")
    status = {
        at: {
            key: [e.status for e in value.entries]
            for (_, key), value in projection_values(state, t(at)).items()
        }
        for at in ("2025-03-10T09:59", "2025-06-10T09:59", "2025-06-10T10:00")
    }
    assert status == {
        "2025-03-10T09:59": {"account:A-1": ["not yet"], "number:+8613800000001": ["not yet"]},
        "2025-06-10T09:59": {"account:A-1": ["in force"], "number:+8613800000001": ["in force"]},
        # periods are [start, end): at 10 June 10:00 the entry no longer covers the subject
        "2025-06-10T10:00": {"account:A-1": ["expired"], "number:+8613800000001": ["expired"]},
    }


def test_published_once_and_not_again_after_a_restart() -> None:
    topics, emitted, published = Topics(), {}, {}
    first = emitter(topics, emitted, published)
    assert publish(first, shared_account(), "2025-03-10T10:00") == 7
    topics.take()
    # the same facts later on, by the same worker or by one restarted on the same tables: nothing new
    assert publish(first, shared_account(), "2025-04-01T10:00") == 0
    assert publish(emitter(topics, emitted, published), shared_account(), "2025-04-01T10:00") == 0
    # the ledger is keyed by topic and id (an id is unique per topic, not across topics)
    assert sorted(emitted) == [
        "blacklist-changes|R-17/account@imposed",
        "blacklist-changes|R-17/number@imposed",
        "penalties|R-17/account",
        "penalties|R-17/number",
        "violations|R-17",
    ]
    assert sorted(published) == ["blacklist|account:A-1", "blacklist|number:+8613800000001"]
    # at the end of the three months only the projection values change (the status), no event
    assert publish(first, shared_account(), "2025-06-10T10:00") == 2
    assert [(kind, key, [e["status"] for e in v["entries"]]) for kind, key, v in topics.take() if v] == [
        ("blacklist", "account:A-1", ["expired"]),
        ("blacklist", "number:+8613800000001", ["expired"]),
    ]


def test_nothing_is_recorded_before_the_broker_acknowledges() -> None:
    topics, emitted, published = Topics(), {}, {}
    e = emitter(topics, emitted, published)
    topics.down = True
    with pytest.raises(ConnectionError):
        publish(e, shared_account(), "2025-03-10T10:00")
    assert (emitted, published) == ({}, {})
    topics.down = False
    topics.take()
    assert publish(e, shared_account(), "2025-03-10T10:00") == 7  # everything again, nothing lost


def test_two_workers_split_the_keys_without_overlap() -> None:
    alone, split = Topics(), Topics()
    publish(emitter(alone, {}, {}), shared_account(), "2025-03-10T10:00")
    for index in (0, 1):
        publish(emitter(split, {}, {}, index=index, of=2), shared_account(), "2025-03-10T10:00")
    assert sorted(ids(split.records)) == sorted(ids(alone.records))  # each record once, by its owner


# --- annulment: retractions and tombstones --------------------------------------------------------
def two_cert_frauds() -> list[f.Fact]:
    """A-1 loses a certificate to CERT-FRAUD on 31 Jan and another on 30 Apr 2025: two black key
    events of co1 within one year, so co1 is blacklisted 6 months from 30 Apr 10:00 (to 30 Oct)."""
    return (
        world([A1])
        + [cert("c2", A1, "L1")]
        + cert_fraud("R-1", "cert-A-1", "2025-01-31T10:00")
        + cert_fraud("R-2", "c2", "2025-04-30T10:00")
    )


def test_two_black_key_events_blacklist_the_company() -> None:
    topics = Topics()
    publish(emitter(topics, {}, {}), two_cert_frauds(), "2025-04-30T10:00")
    records = topics.take()
    assert sorted(ids(records)) == [
        ("blacklist", "company:co1", None),
        ("blacklist-changes", "co1", "R-2/company-black-key@imposed"),
        ("certificate-revocations", "A-1", "R-1/revocation"),
        ("certificate-revocations", "A-1", "R-2/revocation"),
        ("certificate-tallies", "A-1", None),
        ("company-counters", "co1", None),
        ("company-penalties", "co1", "R-2/company-black-key"),
        ("violations", "A-1", "R-1"),
        ("violations", "A-1", "R-2"),
    ]
    penalty = by_id(records)["R-2/company-black-key"]
    assert (penalty["subject_kind"], penalty["subject"], penalty["at"], penalty["until"]) == (
        "company",
        "co1",
        "2025-04-30T02:00:00Z",
        "2025-10-30T02:00:00Z",
    )
    values = {(kind, key): v for kind, key, v in records if v is not None and "id" not in v}
    assert values[("company-counters", "co1")]["counters"] == [
        {
            "company_id": "co1",
            "counter": "BLACK-KEY-EVENT",
            "in_rolling_year": 2,
            "violation_ids": ["R-1", "R-2"],
        }
    ]
    assert values[("certificate-tallies", "A-1")]["tally"] == {
        "account_id": "A-1",
        "revoked": ["cert-A-1", "c2"],
        "all_revoked_at": None,
    }


def test_annulment_publishes_changes_retractions_and_tombstones() -> None:
    topics, emitted, published = Topics(), {}, {}
    e = emitter(topics, emitted, published)
    publish(e, two_cert_frauds(), "2025-04-30T10:00")
    topics.take()

    # R-1 found false on 6 May: it voids from the start, so R-2 has no black key event within a year
    # before it and co1 was never blacklisted (RULES.md: what was derived from it disappears too)
    publish(e, [*two_cert_frauds(), annul("R-1", "2025-05-06T10:00")], "2025-05-06T10:00")
    records = topics.take()
    assert sorted(ids(records)) == [
        ("blacklist", "company:co1", None),  # a tombstone: the subject has no entry left
        ("blacklist-changes", "co1", "R-2/company-black-key@imposed@retracted"),
        ("certificate-revocations", "A-1", "R-1/revocation@annulled"),
        ("certificate-tallies", "A-1", None),
        ("company-counters", "co1", None),
        ("company-penalties", "co1", "R-2/company-black-key@retracted"),
        ("violations", "A-1", "R-1@annulled"),
    ]
    assert ("blacklist", "company:co1", None) in records
    events = by_id(records)
    assert events["R-1@annulled"] == {
        "type": "derived.changed",
        "id": "R-1@annulled",
        "record_id": "R-1",
        "record_type": "violation.confirmed",
        "change": "annulled",
        "at": "2025-05-06T02:00:00Z",
        "policy_version": "3.0",
    }
    assert events["R-2/company-black-key@retracted"] == {
        "type": "derived.changed",
        "id": "R-2/company-black-key@retracted",
        "record_id": "R-2/company-black-key",
        "record_type": "penalty.imposed",
        "change": "retracted",
        "at": None,
        "policy_version": "3.0",
    }
    values = {(kind, key): v for kind, key, v in records if v is not None and "id" not in v}
    assert values[("company-counters", "co1")]["counters"] == [
        {"company_id": "co1", "counter": "BLACK-KEY-EVENT", "in_rolling_year": 1, "violation_ids": ["R-2"]}
    ]
    assert values[("certificate-tallies", "A-1")]["tally"]["revoked"] == ["c2"]
    # the ledgers: the penalty is withdrawn after generation 1, the tombstoned key forgotten
    assert emitted["company-penalties|R-2/company-black-key"][0] == -1
    assert "blacklist|company:co1" not in published


def test_a_late_fact_that_changes_an_event_republishes_it_as_a_new_generation() -> None:
    topics = Topics()
    e = emitter(topics, {}, {})
    opening = [x for x in world([A1]) if isinstance(x, f.AccountOpened)]
    others = [x for x in world([A1]) if not isinstance(x, f.AccountOpened)]
    leaked = [
        report("R-17", "ACCOUNT-LEAKED", "2025-03-09T16:00", A1, number=NUMBER),
        confirm("R-17", "2025-03-10T10:00", id="F-CONFIRM-17"),
    ]
    publish(e, others + leaked, "2025-03-10T10:00")  # A-1's opening not read yet: no company known
    first = by_id(topics.take())
    assert first["R-17"]["company_id"] is None
    assert first["R-17/account"]["until"] == "2025-09-10T02:00:00Z"  # ACCOUNT-LEAKED: 6 months

    publish(e, others + leaked + opening, "2025-03-10T10:00")
    # withdrawn, then said again as generation 2, on the same topic and key (so in that order)
    assert [(kind, key, v["id"], v.get("company_id")) for kind, key, v in topics.take() if v] == [
        ("violations", "A-1", "R-17@retracted", None),
        ("violations", "A-1", "R-17#2", "co1"),
    ]


# --- CERT-FRAUD: three strikes, month-end clamping, the rolling year ------------------------------
def test_three_revoked_certificates_revoke_all_for_ever() -> None:
    facts = (
        world([A1])
        + [cert("c2", A1, "L1"), cert("c3", A1, "L2")]
        + cert_fraud("R-1", "cert-A-1", "2025-01-31T10:00")
        + cert_fraud("R-2", "c2", "2025-04-30T10:00")
        + cert_fraud("R-3", "c3", "2025-08-29T10:00")
    )
    state = fold(facts, "2025-08-29T10:00")
    events = derived_events(state)
    assert {event: out.key for event, out in events.items()} == {
        ("violations", "R-1"): "A-1",
        ("violations", "R-2"): "A-1",
        ("violations", "R-3"): "A-1",
        ("certificate-revocations", "R-1/revocation"): "A-1",
        ("certificate-revocations", "R-2/revocation"): "A-1",
        ("certificate-revocations", "R-3/revocation"): "A-1",
        ("certificate-revocations", "A-1/all-certificates-revoked"): "A-1",
        # two black key events within one year: 6 months, from the second and from the third
        ("company-penalties", "R-2/company-black-key"): "co1",
        ("blacklist-changes", "R-2/company-black-key@imposed"): "co1",
        ("company-penalties", "R-3/company-black-key"): "co1",
        ("blacklist-changes", "R-3/company-black-key@imposed"): "co1",
    }
    permanent = events[("certificate-revocations", "A-1/all-certificates-revoked")].record
    assert permanent.at == t("2025-08-29T10:00+08:00")
    assert permanent.revoked_certificate_ids == ("cert-A-1", "c2", "c3")
    assert events[("company-penalties", "R-2/company-black-key")].record.until == t("2025-10-30T10:00+08:00")
    # 29 Aug + 6 months: there is no 29 Feb 2026, clamped to the end of February
    assert events[("company-penalties", "R-3/company-black-key")].record.until == t("2026-02-28T10:00+08:00")

    def counted(at: str) -> tuple[int, list[str]]:
        (value,) = [
            v for (kind, _), v in projection_values(state, t(at)).items() if kind == "company-counters"
        ]
        (counter,) = value.counters
        assert counter.counter == "BLACK-KEY-EVENT"
        return counter.in_rolling_year, counter.violation_ids

    # "within one year": less than one calendar year apart; R-1 (31 Jan 2025) leaves on 31 Jan 2026
    assert counted("2025-08-29T10:00") == (3, ["R-1", "R-2", "R-3"])
    assert counted("2026-01-31T09:59") == (3, ["R-1", "R-2", "R-3"])
    assert counted("2026-01-31T10:00") == (2, ["R-2", "R-3"])
    tally = projection_values(state, t("2025-08-29T10:00"))[("certificate-tallies", "A-1")].tally
    assert (tally.account_id, tally.revoked, tally.all_revoked_at) == (
        "A-1",
        ["cert-A-1", "c2", "c3"],
        t("2025-08-29T10:00+08:00"),
    )


# --- suspicions: raised by a detector, later confirmed -------------------------------------------
# A detector's suspicion and the violation it becomes share an id (barcode-mismatch:CALL-1): ids are
# unique per topic, so the events and the emitter's ledger are keyed by (topic, id).
def test_confirming_a_suspicion_keeps_it_and_publishes_the_violation() -> None:
    topics = Topics()
    e = emitter(topics, {}, {})
    # A-1 states model M9 for barcode BC1, installed as M1: a barcode-mismatch suspicion (RULES.md)
    mismatch = [*world([A1]), call("CALL-1", "2025-03-09T15:00", account_id=A1, model="M9")]
    publish(e, mismatch, "2025-03-09T15:00")
    assert ("suspicions", "A-1", "barcode-mismatch:CALL-1") in ids(topics.take())

    # staff confirm it: it becomes a violation; the suspicion did happen and stays published
    publish(e, [*mismatch, confirm("barcode-mismatch:CALL-1", "2025-03-10T10:00")], "2025-03-10T10:00")
    records = [r for r in ids(topics.take()) if r[0] in ("suspicions", "violations")]
    assert records == [("violations", "A-1", "barcode-mismatch:CALL-1")]


def test_evasion_publishes_its_suspicion_and_its_violation() -> None:
    topics = Topics()
    facts = [
        *shared_account(),  # A-1 and NUMBER blacklisted from 10 March 10:00
        call("CALL-9", "2025-03-12T09:00", account_id=A1, number=OTHER_NUMBER),
    ]
    publish(emitter(topics, {}, {}), facts, "2025-03-12T09:00")
    published = {(kind, event_id) for kind, _, event_id in ids(topics.records) if event_id}
    assert {("suspicions", "evasion:CALL-9"), ("violations", "evasion:CALL-9")} <= published
    # BLACKLIST-EVASION: the company for 6 months from the call
    assert by_id(topics.records)["evasion:CALL-9/company"]["until"] == "2025-09-12T01:00:00Z"


def test_a_worker_restarted_on_a_ledger_keyed_by_bare_ids_republishes_nothing_it_had() -> None:
    """Tables written before the ledger was keyed by topic hold bare event ids; each entry names its
    topic kind, so they are read back under (kind, id) and nothing that was published goes again."""
    topics = Topics()
    facts = [
        *world([A1]),
        call("CALL-1", "2025-03-09T15:00", account_id=A1, model="M9"),
        confirm("barcode-mismatch:CALL-1", "2025-03-10T10:00"),
    ]
    ledger: dict[str, Any] = {}
    published: dict[str, Any] = {}
    publish(emitter(topics, ledger, published), facts, "2025-03-10T10:00")
    assert sorted(ledger) == [
        "suspicions|barcode-mismatch:CALL-1",
        "violations|barcode-mismatch:CALL-1",
    ]
    topics.take()
    # the old worker keyed by id alone: the violation, published as "#2", had taken the entry over
    violation = ledger["violations|barcode-mismatch:CALL-1"]
    old = {"barcode-mismatch:CALL-1": [2, *violation[1:]]}

    e = emitter(topics, dict(old), dict(published))
    publish(e, facts, "2025-03-10T10:00")
    # only the suspicion the old ledger had lost goes (again): consumers dedupe by topic and id
    assert ids(topics.take()) == [("suspicions", "A-1", "barcode-mismatch:CALL-1")]
    assert publish(e, facts, "2025-03-10T10:00") == 0

    # an entry written since the change wins over the old one of the same event
    newer = {**old, "violations|barcode-mismatch:CALL-1": [-2, *violation[1:]]}
    publish(emitter(topics, newer, dict(published)), facts, "2025-03-10T10:00")
    assert ids(topics.take()) == [
        ("suspicions", "A-1", "barcode-mismatch:CALL-1"),
        ("violations", "A-1", "barcode-mismatch:CALL-1#3"),  # retracted after generation 2, and back
    ]


# --- the reorder buffer -------------------------------------------------------------------------
def fact(fact_id: str, at: str) -> f.Fact:
    return call(fact_id, at)


def released(buffer: Reorder, idle: tuple[int, ...] = (), now: float = 100.0) -> list[str]:
    return [x.id for x, _ in buffer.release(idle, now=now)]


def test_reorder_holds_a_fact_until_every_partition_has_passed_it() -> None:
    buffer = Reorder(2)
    buffer.add(0, fact("p0-10:00", "2025-03-10T10:00"), sent=1.0)
    buffer.add(0, fact("p0-10:05", "2025-03-10T10:05"), sent=1.0)
    assert released(buffer) == []  # partition 1 has delivered nothing yet
    buffer.add(1, fact("p1-10:02", "2025-03-10T10:02"), sent=1.0)
    # 10:00 is behind both partitions; 10:02 is not behind partition 1 (a tie may still come)
    assert released(buffer) == ["p0-10:00"]
    buffer.add(1, fact("p1-10:07", "2025-03-10T10:07"), sent=1.0)
    assert released(buffer) == ["p1-10:02"]  # 10:05 waits: partition 0 may send another 10:05
    assert buffer.pending == 2


def test_reorder_releases_in_event_order_whatever_the_arrival() -> None:
    buffer = Reorder(3)
    for partition, fact_id, at in (
        (2, "c", "2025-03-10T10:03"),
        (0, "a", "2025-03-10T10:01"),
        (1, "b", "2025-03-10T10:02"),
        (0, "z0", "2025-03-10T11:00"),
        (1, "z1", "2025-03-10T11:00"),
        (2, "z2", "2025-03-10T11:00"),
    ):
        buffer.add(partition, fact(fact_id, at), sent=1.0)
    assert released(buffer) == ["a", "b", "c"]
    # all three partitions idle and the grace (0.2 s) passed: the 11:00 facts go, in arrival order
    assert released(buffer, idle=(0, 1, 2), now=1.5) == ["z0", "z1", "z2"]


def test_reorder_an_idle_partition_does_not_hold_the_others_after_the_grace() -> None:
    buffer = Reorder(2)
    buffer.add(0, fact("a", "2025-03-10T10:00"), sent=10.0)
    buffer.add(0, fact("b", "2025-03-10T10:01"), sent=10.0)
    assert released(buffer, idle=(), now=20.0) == []  # partition 1 might still deliver 09:59
    assert released(buffer, idle=(1,), now=10.1) == []  # idle, but "a" was sent 0.1 s ago (grace 0.2 s)
    assert released(buffer, idle=(1,), now=10.5) == ["a"]
    # "b" is not behind partition 0 itself, which is not known to be idle
    assert released(buffer, idle=(1,), now=20.0) == []
    assert released(buffer, idle=(0,), now=20.0) == []  # and partition 1 is not known to be idle
    assert released(buffer, idle=(0, 1), now=20.0) == ["b"]


def test_reorder_after_the_drain_starts_every_partition_at_its_end() -> None:
    buffer = Reorder(2, start=t("2025-03-10T10:00"))
    buffer.add(0, fact("late", "2025-03-10T09:00"), sent=1.0)  # older than the drain: goes at once
    buffer.add(0, fact("new", "2025-03-10T10:30"), sent=1.0)  # newer: partition 1 is at 10:00
    buffer.add(0, fact("later", "2025-03-10T10:45"), sent=1.0)
    assert released(buffer) == ["late"]
    buffer.add(1, fact("other", "2025-03-10T10:31"), sent=1.0)
    assert released(buffer) == ["new"]
