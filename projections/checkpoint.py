"""A checkpoint: the folded state after a position of the event-time order, frozen to bytes.

`freeze(state, position)` gives a self-verifying blob; `thaw(blob, policy)` gives back an independent
State equal to the one frozen (the fold can go on from it), or raises CorruptCheckpoint when the blob
does not match its digest. Pure: no storage, the caller keeps the bytes where it likes.

The state is written with msgspec as JSON, not pickled: pickle costs ~2 µs per object here and the
state is millions of small records, msgspec a tenth of that. JSON rather than MessagePack because it
keeps each time's UTC offset, so a thawed state prints exactly as the original. Shared mutable
records (a penalty sits in `penalties` and in the blacklist index, where a lift or a maintenance
agreement mutates it) are written once and re-linked by id on thaw. The detectors hand over their
history as plain data (`CallDetectors.history`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from datetime import UTC, datetime

import msgspec

from domain.detectors import DetectorHistory
from domain.model import Account, Certificate, Device
from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.fold import collector_paused
from projections.service_books import ServiceBook
from projections.state import CallRef, Case, Pending, State
from schemas.derived import (
    AllCertificatesRevoked,
    Anomaly,
    BlackKeyEvent,
    CertificateRevoked,
    CodesRequested,
    Penalty,
    RectificationPlan,
    SupportStopped,
    Suspicion,
    Violation,
    Warning,
)
from schemas.facts import RatingIssued

#: (event time, fact kind rank, fact id): the fold's sort key of the last fact a checkpoint holds.
Position = tuple[datetime, int, str]
#: After every fact: a refold from the newest checkpoint there is.
END: Position = (datetime.max.replace(tzinfo=UTC), 1 << 30, "")
#: Before every fact: a refold from the empty state.
START: Position = (datetime.min.replace(tzinfo=UTC), -1, "")


def start_of(t: datetime) -> Position:
    """A position before every fact at instant t."""
    return (t, -1, "")


def end_of(t: datetime) -> Position:
    """A position after every fact at instant t."""
    return (t, 1 << 30, "\U0010ffff")


# 2: numbers in E.164; a v1 image holds them as written. 3: `admission.refused` took a rank before
# `call.received`, so a position of an older image names its fact by a rank that has moved: refused
# (CorruptCheckpoint), the projector refolds from an older sound one or from the start.
_MAGIC = b"hotline-checkpoint-3\n"
_DIGEST = 32


class CorruptCheckpoint(ValueError):
    """The blob is truncated, altered or not a checkpoint."""


class StateImage(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    policy: str  # the history's fingerprint: a state folded under other policies is not this one
    position: Position | None
    facts: int  # distinct facts folded into it
    annulled: dict[str, datetime]
    companies: dict[str, str]
    accounts: dict[str, Account]
    person_accounts: dict[str, list[str]]
    devices: dict[str, Device]
    certificates: dict[str, Certificate]
    account_certificates: dict[str, list[Certificate]]
    ratings: list[tuple[str, str, list[RatingIssued]]]
    calls: dict[str, CallRef]
    cases: dict[str, Case]
    pending: dict[str, Pending]
    fraud_reports: dict[str, list[str]]
    suspicions: dict[str, Suspicion]
    violations: dict[str, Violation]
    penalties: dict[str, Penalty]
    blacklist: dict[str, dict[str, list[str]]]  # penalty ids: the records live in `penalties`
    occurrences: list[tuple[str, str, list[tuple[datetime, str]]]]
    awaiting_maintenance: list[tuple[str, str, list[str]]]  # penalty ids
    revocations: dict[str, CertificateRevoked]
    account_revocations: dict[str, list[CertificateRevoked]]
    permanent: dict[str, AllCertificatesRevoked]
    black_key_events: dict[str, BlackKeyEvent]
    plans: dict[str, RectificationPlan]
    support_stops: dict[str, SupportStopped]
    codes_requests: dict[str, CodesRequested]
    warnings: dict[str, Warning]
    account_warnings: dict[str, list[Warning]]
    rating_ends: dict[str, datetime]
    rating_periods: list[tuple[str, str, list[tuple[datetime, datetime, int]]]]
    anomalies: list[Anomaly]
    scheduled: list[tuple[datetime, int, str]]
    scheduled_count: int
    detectors: DetectorHistory
    service: ServiceBook = msgspec.field(default_factory=ServiceBook)  # seeds 002/004 (projections.sla)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StateImage)


def _penalty_ids(state: State, entries: list[Penalty]) -> list[str]:
    ids = [p.id for p in entries]
    if any(state.penalties.get(i) is not p for i, p in zip(ids, entries, strict=True)):
        # Re-linking by id would split one record in two; never seen, but refuse rather than guess.
        raise ValueError("a blacklist entry is not the penalty recorded under its id")
    return ids


def policy_fingerprint(policy: Policy | PolicyHistory) -> str:
    """The content of the policy history, hashed (a pack alone: its own content hash, domain.policy):
    the label alone may stay the same across edits."""
    return as_history(policy).fingerprint


def freeze(state: State, position: Position | None, facts: int) -> bytes:
    """The state after the fact at `position` (None: before any fact), `facts` distinct facts in."""
    image = StateImage(
        policy=state.history.fingerprint,
        position=position,
        facts=facts,
        annulled=state.annulled,
        companies=state.companies,
        accounts=state.accounts,
        person_accounts=state.person_accounts,
        devices=state.devices,
        certificates=state.certificates,
        account_certificates=state.account_certificates,
        ratings=[(c, line, r) for (c, line), r in state.ratings.items()],
        calls=state.calls,
        cases=state.cases,
        pending=state.pending,
        fraud_reports=state.fraud_reports,
        suspicions=state.suspicions,
        violations=state.violations,
        penalties=state.penalties,
        blacklist={
            kind: {s: _penalty_ids(state, ps) for s, ps in subjects.items()}
            for kind, subjects in state.blacklist.items()
        },
        occurrences=[(c, counter, o) for (c, counter), o in state.occurrences.items()],
        awaiting_maintenance=[
            (c, customer, _penalty_ids(state, ps)) for (c, customer), ps in state.awaiting_maintenance.items()
        ],
        revocations=state.revocations,
        account_revocations=state.account_revocations,
        permanent=state.permanent,
        black_key_events=state.black_key_events,
        plans=state.plans,
        support_stops=state.support_stops,
        codes_requests=state.codes_requests,
        warnings=state.warnings,
        account_warnings=state.account_warnings,
        rating_ends=state.rating_ends,
        rating_periods=[(c, line, p) for (c, line), p in state.rating_periods.items()],
        anomalies=state.anomalies,
        scheduled=state.scheduled,
        scheduled_count=state._scheduled_count,
        detectors=state.detectors.history(),
        service=state.service,
    )
    body = _encoder.encode(image)
    return _MAGIC + hashlib.sha256(body).digest() + body


def _body(blob: bytes) -> memoryview:
    """The body after the magic and digest, not copied (a copy of 68 MB cost ~90 ms)."""
    head = len(_MAGIC)
    if not blob.startswith(_MAGIC) or len(blob) < head + _DIGEST:
        raise CorruptCheckpoint("not a checkpoint, or cut short before its digest")
    return memoryview(blob)[head + _DIGEST :]


def _check_digest(blob: bytes, digest: bytes) -> None:
    if digest != blob[len(_MAGIC) : len(_MAGIC) + _DIGEST]:
        raise CorruptCheckpoint("the content does not match its digest (altered or truncated)")


def verify(blob: bytes) -> memoryview:
    """The body of a sound checkpoint; CorruptCheckpoint otherwise."""
    body = _body(blob)
    _check_digest(blob, hashlib.sha256(body).digest())
    return body


def _decoded(blob: bytes) -> StateImage:
    """The image in a sound blob. The digest is computed on another thread while the body decodes:
    sha256 lets go of the GIL, and on a second core its ~90 ms cost nothing. A body that fails its
    digest is refused whether or not it decoded."""
    body = _body(blob)
    digest: list[bytes] = []
    hasher = threading.Thread(target=lambda: digest.append(hashlib.sha256(body).digest()))
    hasher.start()
    try:
        image: StateImage | None = _decoder.decode(body)
    except msgspec.DecodeError as e:
        image, error = None, str(e)
    finally:
        hasher.join()
    _check_digest(blob, digest[0] if digest else b"")
    if image is None:  # a sound digest over a foreign body: not ours
        raise CorruptCheckpoint(f"not a checkpoint of this version: {error}")
    return image


def thaw(blob: bytes, policy: Policy | PolicyHistory) -> tuple[State, Position | None, int]:
    """An independent State equal to the frozen one, with its position and fact count. The version in
    force is the one at the position; the fold moves it on as it goes."""
    history = as_history(policy)
    with collector_paused():  # millions of small records, none of them in a cycle
        image = _decoded(blob)
        if image.policy != history.fingerprint:
            raise CorruptCheckpoint("folded under another policy")
        return _state(image, history), image.position, image.facts


def _state(image: StateImage, history: PolicyHistory) -> State:
    state = State(history.earliest if image.position is None else history.at(image.position[0]), history)
    state.annulled = image.annulled
    state.companies = image.companies
    state.accounts = image.accounts
    state.person_accounts = defaultdict(list, image.person_accounts)
    state.devices = image.devices
    state.certificates = image.certificates
    state.account_certificates = defaultdict(list, image.account_certificates)
    state.ratings = defaultdict(list, {(c, line): r for c, line, r in image.ratings})
    state.calls = image.calls
    state.cases = image.cases
    state.pending = image.pending
    state.fraud_reports = defaultdict(list, image.fraud_reports)
    state.suspicions = image.suspicions
    state.violations = image.violations
    state.penalties = penalties = image.penalties
    for kind, subjects in image.blacklist.items():
        index = state.blacklist.setdefault(kind, defaultdict(list))
        for subject, ids in subjects.items():
            index[subject] = [penalties[i] for i in ids]
    state.occurrences = defaultdict(list, {(c, k): o for c, k, o in image.occurrences})
    state.awaiting_maintenance = defaultdict(
        list, {(c, k): [penalties[i] for i in ids] for c, k, ids in image.awaiting_maintenance}
    )
    state.revocations = image.revocations
    state.account_revocations = defaultdict(list, image.account_revocations)
    state.permanent = image.permanent
    state.black_key_events = image.black_key_events
    state.plans = image.plans
    state.support_stops = image.support_stops
    state.codes_requests = image.codes_requests
    state.warnings = image.warnings
    state.account_warnings = defaultdict(list, image.account_warnings)
    state.rating_ends = image.rating_ends
    state.rating_periods = defaultdict(list, {(c, line): p for c, line, p in image.rating_periods})
    state.anomalies = image.anomalies
    state.scheduled = image.scheduled  # a heap stays a heap: written and read in list order
    state._scheduled_count = image.scheduled_count
    state.detectors.restore(image.detectors, state.devices)
    state.service = image.service
    state.reindex()
    return state
