"""The Kafka topics of the system: names, keys, partitions, retention, who writes and who reads.

Pure data, but for the partition count and the replication factor, read once from $HOTLINE_PARTITIONS
and $HOTLINE_REPLICATION_FACTOR: adapters create and use these; docs/topics.md is written from them.
Every value is msgspec JSON (readable with kcat; decoded in batches on the hot path).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import msgspec

from schemas import facts as f

DEFAULT_PARTITIONS = 4
DEFAULT_REPLICATION_FACTOR = 1  # one broker here; 3 on a real cluster
FOREVER = "-1"


def count_from_env(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """A positive whole number from the environment variable `name` (unset or empty: `default`)."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r} is not a whole number of at least 1")
    return int(raw)


# Read once, when the process imports this module, so that every part of one process agrees: topic
# creation, faust's app and tables, the ownership of keys, the reorder buffer. Every process of one
# deployment (producers, workers, API) must be given the same values; a worker refuses to start
# when the facts topic has another partition count (consumers.kafka_log.ensure_topics).
PARTITIONS = count_from_env("HOTLINE_PARTITIONS", DEFAULT_PARTITIONS)
REPLICATION_FACTOR = count_from_env("HOTLINE_REPLICATION_FACTOR", DEFAULT_REPLICATION_FACTOR)


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    """`name` is relative to a namespace ("hotline" by default): the facts topic is hotline.facts."""

    name: str
    key: str
    schema: str
    writers: str
    readers: str
    cleanup: Literal["delete", "compact"] = "delete"
    retention_ms: str = FOREVER  # facts are the system of record: kept for ever

    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup, "retention.ms": self.retention_ms}

    def in_namespace(self, namespace: str) -> str:
        """The full topic name; a test or a second environment on one cluster uses its own namespace."""
        return f"{namespace}.{self.name}"


FACTS = Topic(
    name="facts",
    key="the fact's subject (see fact_key): company, account, barcode, case, violation, penalty or plan id",
    schema="facts.schema.json (one fact per record)",
    writers="producers (CRM, call centre, HTTP ingest); the query API (admission.refused)",
    readers="workers, the query API, audit replay",
)
REJECTS = Topic(
    name="rejects",
    key="the source (file:line, or http:request-id)",
    schema="producers.validate.Rejection: file, line, field, reason, raw",
    writers="producers",
    readers="integrators and operators",
)
DERIVED = {
    kind: Topic(
        name=kind,
        key="the subject (account, number or company id); dedupe by the event's `id`",
        schema=f"derived.schema.json ({what})",
        writers="workers (each event by the worker that owns its key)",
        readers="dashboards, auditors, downstream services",
    )
    for kind, what in {
        "suspicions": "suspicion.raised",
        "violations": "violation.confirmed",
        "penalties": "penalty.imposed on accounts and numbers",
        "company-penalties": "penalty.imposed on companies",
        "blacklist-changes": "blacklist.changed: an entry imposed, lifted, ended or annulled",
        "certificate-revocations": "certificate.revoked, certificates.permanently_revoked",
        "admission-decisions": "admission.decided",
    }.items()
}
PROJECTIONS = {
    kind: Topic(
        name=f"projection.{kind}",
        key=key,
        schema=schema,
        writers="workers",
        readers="dashboards (read the latest value per key; no need to call the API)",
        cleanup="compact",
    )
    for kind, key, schema in (
        (
            "blacklist",
            "kind:subject, e.g. account:A-1001",
            "every blacklist entry of the subject, with status",
        ),
        ("company-counters", "company id", "occurrences per counter in the rolling year"),
        ("certificate-tallies", "account id", "revoked certificates and the permanent revocation"),
    )
}
ALL = (FACTS, REJECTS, *DERIVED.values(), *PROJECTIONS.values())

_SUBJECT: dict[type[f.Fact], str] = {
    f.CompanyRegistered: "company_id",
    f.RatingIssued: "company_id",
    f.MaintenanceAgreed: "company_id",
    f.AccountOpened: "account_id",
    f.CertificateGranted: "account_id",
    f.CertificateExamResult: "account_id",
    f.AdmissionRefused: "account_id",  # beside the account's calls: one partition, in order
    f.CallReceived: "account_id",
    f.CaseOpened: "account_id",
    f.ViolationReported: "account_id",
    f.WarningIssued: "account_id",
    f.DeviceInstalled: "barcode",
    f.CaseTransferred: "case_id",
    f.CaseClosed: "case_id",
    f.CaseSupportStopped: "case_id",
    f.ViolationConfirmed: "violation_id",
    f.ViolationDismissed: "violation_id",
    f.ViolationAnnulled: "violation_id",
    f.BarcodeCodesResult: "violation_id",
    f.PenaltyLifted: "penalty_id",
    f.RectificationSubmitted: "plan_id",
    f.RectificationAccepted: "plan_id",
    f.CaseResponded: "case_id",
    f.CaseAwaitingPartner: "case_id",
    f.CasePartnerReplied: "case_id",
    f.CustomerAssigned: "company_id",
}


def fact_key(fact: f.Fact) -> bytes:
    """The partitioning key of a fact: its subject, so one subject's facts stay in order."""
    return str(getattr(fact, _SUBJECT[type(fact)])).encode()
