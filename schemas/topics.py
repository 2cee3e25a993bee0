"""The Kafka topics of the system: names, keys, partitions, retention, who writes and who reads.

Pure data: adapters create and use these; docs/topics.md is written from them. Every value is
msgspec JSON (readable with kcat; decoded in batches on the hot path).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas import facts as f

PARTITIONS = 4
FOREVER = "-1"


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
    writers="producers (CRM, call centre, HTTP ingest)",
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
}


def fact_key(fact: f.Fact) -> bytes:
    """The partitioning key of a fact: its subject, so one subject's facts stay in order."""
    return str(getattr(fact, _SUBJECT[type(fact)])).encode()
