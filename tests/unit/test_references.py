"""domain.references.admit_references: the one reference check of a batch of facts (embedded ingest
and the Kafka producer both run it)."""

from __future__ import annotations

from domain.references import admit_references
from schemas import facts as f
from tests.unit.builders import account, call, company


def _fact(fact: f.Fact) -> f.Fact:
    return fact


def _nothing_elsewhere(kind: str, key: str) -> bool:
    return False


def test_a_reference_may_point_to_a_later_fact_of_the_batch() -> None:
    batch = [call("c1", "2020-01-02", "a1"), account("a1", "co1"), company("co1")]
    kept, refused = admit_references(batch, _fact, _nothing_elsewhere)
    assert kept == batch and refused == []


def test_refusing_an_entity_refuses_what_relied_on_it() -> None:
    lonely = account("a1", "co-unknown")
    relying = call("c1", "2020-01-02", "a1")
    kept, refused = admit_references([relying, lonely], _fact, _nothing_elsewhere)
    assert kept == []
    assert refused == [
        (lonely, [("company_id", "unknown company 'co-unknown': no fact introduces it")]),
        (relying, [("account_id", "unknown account 'a1': no fact introduces it")]),
    ]


def test_known_elsewhere_and_refresh_once_before_refusing() -> None:
    elsewhere: set[str] = set()
    refreshes = []

    def refresh() -> None:  # another producer published the company meanwhile
        refreshes.append(1)
        elsewhere.add("co1")

    batch = [account("a1", "co1")]
    kept, refused = admit_references(batch, _fact, lambda kind, key: key in elsewhere, refresh)
    assert kept == batch and refused == [] and refreshes == [1]

    kept, refused = admit_references([account("a2", "co2")], _fact, lambda kind, key: False, refresh)
    assert kept == [] and len(refused) == 1 and refreshes == [1, 1]
