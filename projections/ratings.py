"""Star ratings: in force for one calendar year, checked against the certified-engineer minimum, and
flagged for recertification review after a black key event in the rating year (seed 001)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from domain.calendar import add_months

if TYPE_CHECKING:
    from projections.state import State
    from schemas.facts import RatingIssued


class RatingView(msgspec.Struct, kw_only=True):
    """One rating as the snapshot shows it (projections.view.Snapshot.ratings)."""

    company_id: str
    product_line: str
    stars: int
    issued_at: datetime
    valid_until: datetime
    in_force: bool
    meets_requirements: bool
    qualifying_engineers: int
    review_flag: bool  # a black key event in the current rating year (seed 001: recertification review)


def certificates_by_company(state: State) -> dict[tuple[str, str], list[str]]:
    """(company, product line) -> certificate ids of its engineers; built once per view."""
    index: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for cid, cert in state.certificates.items():
        if (account := state.accounts.get(cert.account_id)) is not None:
            index[(account.company_id, cert.product_line)].append(cid)
    return index


def qualifying_engineers(state: State, rating: RatingIssued, index: dict[tuple[str, str], list[str]]) -> int:
    """Distinct engineers of the company whose certificate for the line is valid for more than the
    policy's margin (3 months) after the application date and not revoked then."""
    applied = rating.applied_on or rating.at
    horizon = add_months(applied, state.policy.rating_certificate_margin_months, state.policy.tz)
    certificate_ids = rating.certificate_ids or index.get((rating.company_id, rating.product_line), ())
    engineers = set()
    for cid in certificate_ids:
        cert = state.certificates.get(cid)
        account = state.accounts.get(cert.account_id) if cert else None
        revoked = state.revocations.get(cid)
        if (
            cert is not None
            and account is not None
            and account.company_id == rating.company_id
            and cert.product_line == rating.product_line
            and cert.at <= applied
            and cert.valid_until > horizon
            and (revoked is None or revoked.annulled_at is not None or revoked.at > applied)
        ):
            engineers.add(cert.account_id)
    return len(engineers)


def rating_views(state: State, as_of: datetime | None) -> list[RatingView]:
    views = []
    index = certificates_by_company(state)
    for (company, line), ratings in sorted(state.ratings.items()):
        for rating in sorted(ratings, key=lambda r: (r.at, r.id)):
            end = state.rating_end(rating)
            upto = min(end, as_of) if as_of is not None else end
            qualifying = qualifying_engineers(state, rating, index)
            views.append(
                RatingView(
                    company_id=company,
                    product_line=line,
                    stars=rating.stars,
                    issued_at=rating.at,
                    valid_until=end,
                    in_force=as_of is None or rating.at <= as_of < end,
                    meets_requirements=qualifying >= state.policy.rating_min_engineers[str(rating.stars)],
                    qualifying_engineers=qualifying,
                    review_flag=any(
                        e.company_id == company and e.annulled_at is None and rating.at <= e.at < upto
                        for e in state.black_key_events.values()
                    ),
                )
            )
    return views
