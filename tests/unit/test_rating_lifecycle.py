"""Seed 001: a certificate used for a star rating must be valid for more than three months from the
application date (RULES.md); a three-star rating needs 3 such engineers. By hand: applied on
2025-01-01 10:00 +08:00, so a certificate must be valid after 2025-04-01 10:00 +08:00."""

from __future__ import annotations

from projections.ratings import rating_views
from schemas import facts as f
from tests.unit.builders import SRC, account, cert, company, fold, t


def rated(valid_until: dict[str, str], granted: str = "2024-06-01") -> tuple[int, bool]:
    facts: list[f.Fact] = [company("co1")]
    for a, until in valid_until.items():
        facts += [account(a, "co1"), cert(f"cert-{a}", a, "L1", granted, until)]
    facts.append(
        f.RatingIssued(
            id="rating",
            at=t("2025-01-20"),
            source=SRC,
            company_id="co1",
            product_line="L1",
            stars=3,
            applied_on=t("2025-01-01"),
            certificate_ids=tuple(f"cert-{a}" for a in valid_until),
        )
    )
    [view] = rating_views(fold(facts), t("2025-02-01"))
    return view.qualifying_engineers, view.meets_requirements


def test_a_certificate_valid_exactly_three_months_after_the_application_does_not_count() -> None:
    ok = "2025-04-01T10:01"
    assert rated({"a1": ok, "a2": ok, "a3": "2025-04-01T10:00"}) == (2, False)


def test_three_certificates_valid_beyond_three_months_meet_three_stars() -> None:
    ok = "2025-04-01T10:01"
    assert rated({"a1": ok, "a2": ok, "a3": ok}) == (3, True)


def test_a_certificate_granted_after_the_application_does_not_count() -> None:
    ok = "2026-01-01"
    assert rated({"a1": ok, "a2": ok, "a3": ok}, granted="2025-01-02") == (0, False)
