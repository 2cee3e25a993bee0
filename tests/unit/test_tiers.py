"""Seed 004 priority tiers, by hand: Priority Access from 250 units of the installed base under
warranty; Priority Access Plus and Priority Management from 1,000; out-of-warranty units do not count."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.fold import apply_in_order
from projections.tiers import priority_tier, priority_tiers
from schemas import facts as f
from schemas.codec import normalise
from tests.unit.builders import SRC, company, device, fold, t

ACCESS = ["priority-access"]
ALL = ["priority-access", "priority-access-plus", "priority-management"]


def assigned(customer: str, company_id: str, at: str = "2020-01-01") -> f.CustomerAssigned:
    return f.CustomerAssigned(
        id=f"assign-{customer}-{at}", at=t(at), source=SRC, customer_id=customer, company_id=company_id
    )


def units(n: int, customer: str = "cu1", warranty_end: str = "2026-01-01", tag: str = "") -> list[f.Fact]:
    return [
        device(f"B{tag}{i}", customer=customer, warranty_end=warranty_end, id=f"dev-{tag}{i}")
        for i in range(n)
    ]


def tier_at(facts: list[f.Fact], at: str, company_id: str = "co1") -> tuple[int, list[str]]:
    tier = priority_tier(fold(facts), company_id, t(at))
    return tier.units_in_warranty, tier.eligible


def test_the_thresholds_249_250_999_1000() -> None:
    base = [company("co1"), assigned("cu1", "co1")]
    assert tier_at(base + units(249), "2025-06-01") == (249, [])
    assert tier_at(base + units(250), "2025-06-01") == (250, ACCESS)
    assert tier_at(base + units(999), "2025-06-01") == (999, ACCESS)
    assert tier_at(base + units(1000), "2025-06-01") == (1000, ALL)


def test_units_stop_counting_when_their_warranty_ends() -> None:
    facts = [company("co1"), assigned("cu1", "co1")] + units(1000)  # warranty until 2026-01-01 10:00
    assert tier_at(facts, "2026-01-01T09:59") == (1000, ALL)
    assert tier_at(facts, "2026-01-01T10:00") == (0, [])


def test_out_of_warranty_units_and_other_companies_customers_do_not_count() -> None:
    facts = [company("co1"), company("co2"), assigned("cu1", "co1"), assigned("cu2", "co2")]
    facts += units(249, warranty_end="2026-01-01", tag="in")
    facts += units(600, warranty_end="2024-12-31", tag="out")  # out of warranty by mid-2025
    facts += units(300, customer="cu2", tag="other")
    facts += units(5, customer="cu-nobody", tag="free")  # a customer of no company
    assert tier_at(facts, "2025-06-01") == (249, [])
    assert tier_at(facts, "2025-06-01", "co2") == (300, ACCESS)


def test_a_reassigned_customer_takes_its_units_along() -> None:
    facts = [company("co1"), company("co2"), assigned("cu1", "co1")] + units(250)
    facts += [assigned("cu1", "co2", "2025-03-01")]
    assert tier_at(facts, "2025-06-01") == (0, [])
    assert tier_at(facts, "2025-06-01", "co2") == (250, ACCESS)


def test_the_index_follows_installations_folded_after_it_was_built() -> None:
    state = fold([company("co1"), assigned("cu1", "co1")] + units(250))
    at = t("2025-06-01")
    assert priority_tier(state, "co1", at).units_in_warranty == 250  # builds the index
    # device B0 re-registered out of warranty, and one more unit in warranty
    later = [device("B0", warranty_end="2025-01-01", at="2025-02-01", id="dev-again")]
    later += [device("Bnew", warranty_end="2027-01-01", at="2025-02-02", id="dev-new")]
    apply_in_order(state, [normalise(x) for x in later])
    assert priority_tier(state, "co1", at).units_in_warranty == 250
    state.warranty_index = None  # rebuilt from the devices: the same count
    assert priority_tier(state, "co1", at).units_in_warranty == 250


def test_the_snapshot_lists_tiers_at_its_as_of_time() -> None:
    state = fold([company("co1"), assigned("cu1", "co1")] + units(250))
    tiers = priority_tiers(state, datetime(2025, 6, 1, tzinfo=UTC))
    assert [(x.company_id, x.units_in_warranty, x.eligible) for x in tiers] == [("co1", 250, ACCESS)]
