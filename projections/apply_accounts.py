"""Handlers of the partner side: companies, their ratings, engineer accounts and certificates."""

from __future__ import annotations

import sys

from domain.model import Account, Certificate
from projections.apply_suspicions import suspect
from projections.state import State
from schemas import facts as f


def company_registered(state: State, fact: f.CompanyRegistered) -> None:
    state.companies[fact.company_id] = fact.name


def rating_issued(state: State, fact: f.RatingIssued) -> None:
    state.add_rating(fact)


def account_opened(state: State, fact: f.AccountOpened) -> None:
    state.accounts[fact.account_id] = Account(
        fact.account_id, sys.intern(fact.company_id), fact.person_id, state.shared(fact.at), fact.authorised
    )
    others = state.person_accounts[fact.person_id]
    if not fact.authorised and state.policy.detectors.get("evasion"):
        blocking = [p.id for other in others for p in state.active_penalties("account", other, fact.at)]
        if blocking:
            suspect(
                state,
                f"evasion:{fact.id}",
                "evasion",
                "BLACKLIST-EVASION",
                fact.account_id,
                None,
                fact.at,
                f"account opened without permission while {blocking[0]} is in force",
                (fact.id, *blocking),
            )
    others.append(fact.account_id)
    state.account_listed(fact.person_id, fact.account_id)


def certificate_granted(state: State, fact: f.CertificateGranted) -> None:
    state.certificates[fact.certificate_id] = Certificate(
        fact.certificate_id,
        fact.account_id,
        sys.intern(fact.product_line),
        state.shared(fact.at),
        state.shared(fact.valid_until),
    )
    state.account_certificates[fact.account_id].append(state.certificates[fact.certificate_id])
