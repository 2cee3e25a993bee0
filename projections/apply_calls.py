"""The call handler: each call indexed, then judged by the call detectors and the evasion watch."""

from __future__ import annotations

from projections.apply_suspicions import suspect
from projections.numbers import kept_as_written
from projections.state import CallRef, State
from schemas import facts as f


def call_received(state: State, fact: f.CallReceived) -> None:
    if fact.v < f.E164_VERSION:  # an old record with an invalid number, kept as written
        kept_as_written(state, fact)
    state.calls[fact.id] = CallRef(fact.number, fact.case_id)
    if fact.account_id in state.evasion_watch and fact.channel == "partner":
        _evasion(state, fact)
    for finding in state.detectors.observe(fact, state.devices):
        suspect(
            state,
            f"{finding.detector}:{fact.id}",
            finding.detector,
            finding.rule,
            fact.account_id,
            fact.number,
            fact.at,
            finding.detail,
            finding.causes,
            call_id=fact.id,
            case_id=fact.case_id,
        )


def _evasion(state: State, call: f.CallReceived) -> None:
    """A blacklisted engineer (this account, or another of the same person) on a number not blacklisted.

    Runs only on calls of accounts in `state.evasion_watch` (every account evasion can find); the
    usual answer there is still none, reached with the fewest lookups."""
    accounts = state.blacklist["account"]
    account_id = call.account_id
    blocking = state.active_penalties("account", account_id, call.at) if account_id in accounts else None
    if not blocking:
        account = state.accounts.get(account_id)
        if account is None:
            return
        siblings = state.person_accounts.get(account.person_id, ())
        if len(siblings) < 2:  # most people have one account: nothing more to look at
            return
        blocking = [
            penalty
            for other in siblings
            if other != account_id and other in accounts
            for penalty in state.active_penalties("account", other, call.at)
        ]
        if not blocking:
            return
    if not state.active_penalties("number", call.number, call.at):
        ids = tuple(p.id for p in blocking)
        suspect(
            state,
            f"evasion:{call.id}",
            "evasion",
            "BLACKLIST-EVASION",
            call.account_id,
            call.number,
            call.at,
            f"called from {call.number} while {ids[0]} is in force",
            (call.id, *ids),
            call_id=call.id,
        )
