"""Handlers of consequences set by staff: warnings issued, penalties lifted, rectification plans."""

from __future__ import annotations

from projections.consequences import anomaly, record_warning
from projections.state import State
from schemas import facts as f
from schemas.derived import Warning


def warning_issued(state: State, fact: f.WarningIssued) -> None:
    record_warning(
        state,
        Warning(
            id=fact.id,
            at=fact.at,
            policy_version=state.policy.version,
            causes=(fact.id,),
            account_id=fact.account_id,
            rule=fact.rule,
        ),
    )


def penalty_lifted(state: State, fact: f.PenaltyLifted) -> None:
    penalty = state.penalties.get(fact.penalty_id)
    if penalty is None or penalty.annulled_at is not None or fact.at < penalty.at:
        anomaly(state, fact.id, fact.at, f"no penalty {fact.penalty_id} in force to lift")
    elif penalty.lifted_at is None:
        penalty.lifted_at = fact.at


def rectification(state: State, fact: f.RectificationSubmitted | f.RectificationAccepted) -> None:
    plan = state.plans.get(fact.plan_id)
    if plan is None or plan.annulled_at is not None:
        anomaly(state, fact.id, fact.at, f"no rectification plan {fact.plan_id} required")
    elif isinstance(fact, f.RectificationSubmitted):
        plan.submitted_at = plan.submitted_at or fact.at
    elif plan.submitted_at is None:
        anomaly(state, fact.id, fact.at, f"plan {fact.plan_id} accepted before it was submitted")
    else:
        plan.accepted_at = plan.accepted_at or fact.at
