"""Roles and what each may do: call admission, read the state, explain, post facts of some types.

The fact types split three ways (schemas/facts.py):

- the CRM's reference data (`CRM_TYPES`): companies, ratings, accounts, certificates and exam
  results, the installed base, maintenance agreements;
- staff judgements (`JUDGEMENT_TYPES`): confirming, dismissing or annulling a violation, lifting a
  penalty, a warning, accepting a rectification plan, stopping support outside the rules. These
  decide who is blacklisted, so only `staff` may post them;
- the call centre's activity (`CALLCENTRE_TYPES`, the rest): calls, cases, barcode codes, submitted
  plans, and violation reports. A report is only a suspicion until staff confirm it, so the call
  centre may post it, and staff too.

The line's own record of its answers (`LINE_TYPES`: `admission.refused`) is written by admission
itself (`hotline check`, the API) and posted by no role: a refusal raises a suspicion, so a feed must
not be able to invent one.
"""

from __future__ import annotations

from enum import StrEnum

from schemas import facts as f
from schemas.facts import Fact


class Role(StrEnum):
    ROUTER = "router"  # the call router: admission only (each decision is recorded)
    READER = "reader"  # dashboards: state, blacklist, counters, certificates, digest, status
    AUDITOR = "auditor"  # a reader who may also ask why (explain; later the audit and replay views)
    STAFF = "staff"  # the line's staff: what an auditor may, and posting judgements
    PRODUCER_CRM = "producer:crm"  # the CRM's feed: posts its reference data only
    PRODUCER_CALLCENTRE = "producer:callcentre"  # the call centre's feed: calls, cases, reports


class Action(StrEnum):
    ADMIT = "admit"  # GET/POST /admission
    READ = "read"  # blacklist, counters, certificates, digest, status
    EXPLAIN = "explain"  # /explain (and the audit views to come)
    POST_FACTS = "post facts"  # POST /facts, limited to the role's fact types
    FORGET = "forget"  # destroy a person's keys on a sealed log (`hotline forget person`)


#: What each producer source sends (also the file producers' roles, producers.kafka_producer.ROLES).
CRM_TYPES: frozenset[type[Fact]] = frozenset(
    {
        f.CompanyRegistered,
        f.RatingIssued,
        f.AccountOpened,
        f.CertificateGranted,
        f.CertificateExamResult,
        f.DeviceInstalled,
        f.MaintenanceAgreed,
        f.CustomerAssigned,
    }
)
JUDGEMENT_TYPES: frozenset[type[Fact]] = frozenset(
    {
        f.ViolationConfirmed,
        f.ViolationDismissed,
        f.ViolationAnnulled,
        f.PenaltyLifted,
        f.WarningIssued,
        f.RectificationAccepted,
        f.CaseSupportStopped,
    }
)
LINE_TYPES: frozenset[type[Fact]] = frozenset({f.AdmissionRefused})
CALLCENTRE_TYPES: frozenset[type[Fact]] = frozenset(f.FACT_TYPES) - CRM_TYPES - JUDGEMENT_TYPES - LINE_TYPES
STAFF_TYPES: frozenset[type[Fact]] = JUDGEMENT_TYPES | {f.ViolationReported}

GRANTS: dict[Role, frozenset[Action]] = {
    Role.ROUTER: frozenset({Action.ADMIT}),
    Role.READER: frozenset({Action.READ}),
    Role.AUDITOR: frozenset({Action.READ, Action.EXPLAIN}),
    Role.STAFF: frozenset({Action.READ, Action.EXPLAIN, Action.POST_FACTS, Action.FORGET}),
    Role.PRODUCER_CRM: frozenset({Action.POST_FACTS}),
    Role.PRODUCER_CALLCENTRE: frozenset({Action.POST_FACTS}),
}
FACTS_OF: dict[Role, frozenset[type[Fact]]] = {
    Role.STAFF: STAFF_TYPES,
    Role.PRODUCER_CRM: CRM_TYPES,
    Role.PRODUCER_CALLCENTRE: CALLCENTRE_TYPES,
}


def may(role: Role, action: Action) -> bool:
    return action in GRANTS[role]


def may_post(role: Role) -> frozenset[type[Fact]]:
    """The fact types a role may post (empty: none)."""
    return FACTS_OF.get(role, frozenset())


def roles_that_may(action: Action) -> list[Role]:
    return [role for role in Role if may(role, action)]
