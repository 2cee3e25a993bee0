"""The API's answers, as msgspec Structs, and the response class that encodes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from starlette.responses import Response

from projections.view import (
    BlacklistEntry,
    CompanyCounter,
)
from schemas.derived import AdmissionDecision, AllCertificatesRevoked, CertificateRevoked


# --- responses ------------------------------------------------------------------------------------
class AdmissionAnswer(AdmissionDecision, tag="admission.decided"):
    """The decision as answered over HTTP: `recorded` says whether it is on the record (the topic
    acknowledged it with acks=all, or the embedded log holds it) before the answer went out."""

    recorded: bool = False


class ParameterProblem(msgspec.Struct, kw_only=True):
    parameter: str
    reason: str


class Problem(msgspec.Struct, kw_only=True):
    """Every error: the status, one line saying what went wrong, and each bad parameter with why."""

    status: int
    error: str
    problems: list[ParameterProblem] = []


class BlacklistAnswer(msgspec.Struct, kw_only=True):
    as_of: datetime
    entries: list[BlacklistEntry]


class SubjectBlacklist(msgspec.Struct, kw_only=True):
    kind: str
    subject: str
    as_of: datetime
    blacklisted: bool
    entries: list[BlacklistEntry]  # every entry the subject ever had, with its status at as_of


class CompanyCounters(msgspec.Struct, kw_only=True):
    company_id: str
    as_of: datetime
    counters: list[CompanyCounter]


class CertificateStatus(msgspec.Struct, kw_only=True):
    account_id: str
    as_of: datetime
    revoked: list[CertificateRevoked]  # the tally toward permanent revocation (annulled ones excluded)
    permanent: AllCertificatesRevoked | None


class DigestAnswer(msgspec.Struct, kw_only=True):
    as_of: datetime | None
    digest: str
    facts: int


class Health(msgspec.Struct, kw_only=True):
    status: str


class LastRefold(msgspec.Struct, kw_only=True):
    facts: int  # refolded from the checkpoint
    seconds: float
    since: str | None  # the checkpoint's event time (None: from the start)


class Readiness(msgspec.Struct, kw_only=True):
    ready: bool  # caught up (lag at most Replica.BEHIND records) and reading
    facts: int  # distinct facts applied
    records: int  # records read from the facts topic
    error: str | None = None  # the last failure to read the topic, until a read succeeds again
    lag: dict[str, int] = {}  # partition -> records not read yet (as of the last look, every second)
    refolding: bool = False  # a refold runs; answers come from the state before the change
    refolds: int = 0
    last_refold: LastRefold | None = None
    annulments_voided: int = 0  # annulments voided in place, with no refold (docs/checkpoints.md)
    late_applied: int = 0  # late calls applied where the fold stood, with no refold
    warm_checkpoints: int = 0  # checkpoints kept thawed for the next refold
    peak_rss_mib: float = 0.0  # of this process


_encoder = msgspec.json.Encoder()


class MsgspecResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)
