"""domain.references.admit_references: the one reference check of a batch of facts (embedded ingest
and the Kafka producer both run it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.references import admit_references
from schemas import facts as f
from tests.unit.builders import account, call, company, device, report, t


def _fact(fact: f.Fact) -> f.Fact:
    return fact


def _nothing_elsewhere(kind: str, key: str) -> datetime | None:
    return None


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
    elsewhere: dict[str, datetime] = {}
    refreshes = []

    def refresh() -> None:  # another producer published the company meanwhile
        refreshes.append(1)
        elsewhere["co1"] = t("2020-01-01")

    batch = [account("a1", "co1")]
    kept, refused = admit_references(batch, _fact, lambda kind, key: elsewhere.get(key), refresh)
    assert kept == batch and refused == [] and refreshes == [1]

    kept, refused = admit_references([account("a2", "co2")], _fact, _nothing_elsewhere, refresh)
    assert kept == [] and len(refused) == 1 and refreshes == [1, 1]


def test_a_reference_holds_only_from_the_event_time_of_what_it_names() -> None:
    """RULES.md "No silent guess": device B installed after the report names it is not known then."""
    installed = device("BCB", at="2025-09-01T10:00")
    early = report("R1", "BARCODE-SWAP-IN-WARRANTY", "2025-08-31T09:00", device_barcode="BCB")
    same_instant = report("R2", "BARCODE-SWAP-IN-WARRANTY", "2025-09-01T10:00", device_barcode="BCB")
    world = [company("co1"), account("a1", "co1")]
    kept, refused = admit_references([*world, installed, early, same_instant], _fact, _nothing_elsewhere)
    assert kept == [*world, installed, same_instant]
    assert refused == [
        (
            early,
            [
                (
                    "device_barcode",
                    "unknown barcode 'BCB' at 2025-08-31T09:00:00+08:00: it is introduced only at "
                    "2025-09-01T10:00:00+08:00, later in event time",
                )
            ],
        )
    ]


def test_the_earliest_introduction_counts_batch_or_elsewhere() -> None:
    later_here = account("a1", "co1", at="2025-03-01")
    a_call = call("c1", "2025-02-01", "a1")
    # elsewhere (the log, the topic) knows the account from January: the call holds
    kept, refused = admit_references([later_here, a_call], _fact, _account_since("2025-01-01"))
    assert kept == [later_here, a_call] and refused == []
    # elsewhere knows it only from April, the batch from March: the February call is refused
    kept, refused = admit_references([later_here, a_call], _fact, _account_since("2025-04-01"))
    assert kept == [later_here] and [p[0][0] for _, p in refused] == ["account_id"]


def _account_since(day: str) -> Callable[[str, str], datetime | None]:
    return lambda kind, key: t(day if kind == "account" else "2020-01-01")
