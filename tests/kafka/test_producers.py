"""The Kafka producers against the real broker: files (JSON Lines, CSV) and HTTP ingest. Good facts
land on the facts topic, every bad line lands on the rejects topic with its line and reason, nothing
is dropped silently; references are checked against what is already on the topic."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaTimeoutError
from kafka.future import Future
from starlette.testclient import TestClient

from access.roles import Role
from consumers.kafka_log import FactReader, ensure_topics, topic_name
from domain.policy import load_policy
from producers.http_ingest import ingest_app
from producers.kafka_producer import FactPublisher, PublishError, PublishReport, main_produce
from producers.validate import Rejection
from projections.fold import project
from projections.view import digest, snapshot
from schemas.codec import fact_from_json
from schemas.facts import Fact
from schemas.topics import FACTS, REJECTS
from tests.unit.credentials import Credentials

pytestmark = pytest.mark.kafka


# --- fixtures and helpers --------------------------------------------------------------------------
@pytest.fixture
def ns(kafka_broker: str) -> Iterator[str]:
    """A namespace of this test's own: its topics are created here and deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker, name)
    yield name
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"{name}.")])
    finally:
        admin.close()


def fact(type_: str, id_: str, at: str = "2025-03-03T09:00:00+08:00", **fields: object) -> str:
    source = "crm" if type_ in {"company.registered", "account.opened", "certificate.granted"} else "cc"
    return json.dumps({"type": type_, "id": id_, "at": at, "source": source, **fields})


def company(id_: str, company_id: str) -> str:
    return fact("company.registered", id_, at="2025-01-06T09:00:00+08:00", company_id=company_id, name="Acme")


def account(id_: str, account_id: str, company_id: str) -> str:
    return fact(
        "account.opened",
        id_,
        at="2025-01-06T10:00:00+08:00",
        account_id=account_id,
        company_id=company_id,
        person_id=f"P-{account_id}",
    )


def call(id_: str, account_id: str, **extra: object) -> str:
    fields = {
        "account_id": account_id,
        "number": "13800000001",
        "barcode": "210235A1B2C3",
        "stated_model": "ST-5310",
        "stated_site": "SITE-1",
        "problem": "fan alarm",
        **extra,
    }
    at = "2025-03-03T09:00:00+08:00"
    return json.dumps({"type": "call.received", "id": id_, "at": at, "source": "cc", **fields})


def facts_on_topic(servers: str, ns: str) -> list[Fact]:
    reader = FactReader(servers, topic_name(FACTS, ns))
    try:
        return [f for batch in reader.drain() for f in batch]
    finally:
        reader.close()


def ids_on_topic(servers: str, ns: str) -> list[str]:
    return sorted(f.id for f in facts_on_topic(servers, ns))


def rejects_on_topic(servers: str, ns: str) -> list[tuple[str, Rejection]]:
    """(key, rejection) of every record on the rejects topic, sorted by key."""
    topic = topic_name(REJECTS, ns)
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        out = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=500).values():
                out += [(r.key.decode(), msgspec.json.decode(r.value, type=Rejection)) for r in batch]
        return sorted(out, key=lambda kv: (kv[0].rsplit(":", 1)[0], int(kv[0].rsplit(":", 1)[1])))
    finally:
        consumer.close()


def reasons(report: PublishReport) -> dict[int, tuple[str | None, str]]:
    return {r.line: (r.field, r.reason) for r in report.rejected}


def assert_nothing_dropped(report: PublishReport) -> None:
    assert report.read == report.accepted + report.rejected_lines
    assert report.rejects_published == len(report.rejected)


#: Good and bad lines of one file; the comment is the line number.
MIXED = [
    company("co-1", "C-1"),  # 1
    account("ac-1", "A-1", "C-1"),  # 2
    '{"type":"company.registered","id":"co-x",',  # 3 malformed JSON
    fact("company.exploded", "x-1"),  # 4 unknown type
    fact("call.received", "call-nobarcode", account_id="A-1", number="13800000001"),  # 5 missing fields
    company("co-2", "C-2").replace("2025-01-06", "2025-02-30"),  # 6 impossible date
    call("call-unknown", "A-404"),  # 7 unknown account
    call("call-1", "A-1"),  # 8
    "",  # 9 blank: not a fact
    call("call-2", "A-2"),  # 10 refers to an account opened further down
    account("ac-2", "A-2", "C-1"),  # 11
    account("ac-9", "A-9", "C-404"),  # 12 unknown company
    call("call-9", "A-9"),  # 13 its account was refused, so it is unknown too
]
MIXED_GOOD = ["ac-1", "ac-2", "call-1", "call-2", "co-1"]


def check_mixed(report: PublishReport) -> None:
    got = reasons(report)
    assert sorted(got) == [3, 4, 5, 6, 7, 12, 13]
    assert got[3][0] is None and got[3][1].startswith("not valid JSON")
    assert got[4] == ("type", "unknown fact type 'company.exploded'")
    assert got[5] == ("barcode, stated_model, stated_site, problem", "missing required fields")
    assert got[6][0] == "at" and "not a valid date-time" in got[6][1]
    assert got[7] == ("account_id", "unknown account 'A-404': no fact introduces it")
    assert got[12] == ("company_id", "unknown company 'C-404': no fact introduces it")
    assert got[13] == ("account_id", "unknown account 'A-9': no fact introduces it")
    assert (report.read, report.published, report.duplicates) == (12, 5, 0)
    assert_nothing_dropped(report)


# --- (a) a file with good and bad lines ------------------------------------------------------------
def test_file_good_facts_land_and_bad_lines_go_to_rejects(kafka_broker: str, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(MIXED) + "\n")

    report = main_produce([path], "any", kafka_broker, ns)

    check_mixed(report)
    assert ids_on_topic(kafka_broker, ns) == MIXED_GOOD
    on_rejects = rejects_on_topic(kafka_broker, ns)
    assert [key for key, _ in on_rejects] == [f"{path}:{n}" for n in (3, 4, 5, 6, 7, 12, 13)]
    assert {r.line: (r.field, r.reason) for _, r in on_rejects} == reasons(report)
    assert all(r.file == str(path) for _, r in on_rejects)
    assert on_rejects[0][1].raw == MIXED[2]  # the line as it was sent


def test_a_line_that_is_not_utf8_is_refused_alone(kafka_broker: str, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        company("co-1", "C-1").encode() + b"\n" + company("co-2", "C-2").encode()[:-2] + b'\xe9"}\n'
    )
    report = main_produce([path], "any", kafka_broker, ns)
    ((line, (field, reason)),) = reasons(report).items()
    assert (line, field) == (2, None) and reason.startswith("not valid UTF-8 (byte ")
    assert ids_on_topic(kafka_broker, ns) == ["co-1"]
    assert_nothing_dropped(report)


# --- (b) the same through HTTP ----------------------------------------------------------------------
@pytest.fixture
def creds(tmp_path: Path) -> Credentials:
    return Credentials(tmp_path)


def test_http_ingest(kafka_broker: str, ns: str, creds: Credentials) -> None:
    """Each producer token posts its own source's lines of MIXED; the other source's lines are
    refused on their own (field "type"), so the two posts together land what a file does."""
    crm = creds.headers(Role.PRODUCER_CRM, **{"content-type": "application/x-ndjson"})
    callcentre = creds.headers(Role.PRODUCER_CALLCENTRE, **{"content-type": "application/x-ndjson"})
    with (
        FactPublisher(kafka_broker, ns) as publisher,
        TestClient(ingest_app(publisher, creds.store)) as client,
    ):
        answer = client.post(
            "/facts", content="\n".join(MIXED).encode(), headers=crm | {"x-request-id": "req-1"}
        )
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert (body["request_id"], body["accepted"], body["duplicates"]) == ("req-1", 3, 0)  # co-1 ac-1 ac-2
        assert [(r["line"], r["field"]) for r in body["rejected"]] == [
            (3, None),
            (4, "type"),
            (5, "barcode, stated_model, stated_site, problem"),
            (6, "at"),
            (7, "type"),
            (8, "type"),
            (10, "type"),
            (12, "company_id"),
            (13, "type"),
        ]
        assert body["rejected"][4]["reason"] == "a producer:crm token may not post call.received facts"

        answer = client.post(
            "/facts", content="\n".join(MIXED).encode(), headers=callcentre | {"x-request-id": "req-2"}
        )
        body = answer.json()
        assert (answer.status_code, body["accepted"], body["duplicates"]) == (202, 2, 0)  # call-1 call-2
        assert [(r["line"], r["field"]) for r in body["rejected"]] == [
            (1, "type"),
            (2, "type"),
            (3, None),
            (4, "type"),
            (5, "barcode, stated_model, stated_site, problem"),
            (6, "at"),
            (7, "account_id"),
            (11, "type"),
            (12, "type"),
            (13, "account_id"),
        ]
        assert body["rejected"][6]["reason"] == "unknown account 'A-404': no fact introduces it"

        # A JSON array: items are numbered from 1; the account is known now (published above).
        array = f"[{call('call-3', 'A-1')}, {call('call-4', 'A-404')}]"
        json_cc = callcentre | {"content-type": "application/json"}
        answer = client.post("/facts", content=array, headers=json_cc | {"x-request-id": "req-3"})
        assert answer.status_code == 202
        assert answer.json()["accepted"] == 1
        assert [(r["line"], r["field"]) for r in answer.json()["rejected"]] == [(2, "account_id")]

        # The same batch again: accepted, nothing sent twice.
        answer = client.post("/facts", content=array, headers=json_cc | {"x-request-id": "req-4"})
        assert (answer.json()["accepted"], answer.json()["duplicates"]) == (1, 1)

        for content, message in [
            (b"", "empty body"),
            (b" \n\n", "empty body"),
            (b'{"type":"caf\xe9"}', "not UTF-8"),
            (b"[1, 2", "not a JSON array"),
        ]:
            answer = client.post("/facts", content=content, headers=callcentre)
            assert answer.status_code == 400
            assert message in answer.json()["error"]
        assert client.get("/facts", headers=callcentre).status_code == 405

    assert ids_on_topic(kafka_broker, ns) == sorted([*MIXED_GOOD, "call-3"])
    keys = [key for key, _ in rejects_on_topic(kafka_broker, ns)]
    assert keys == (
        [f"http:req-1:{n}" for n in (3, 4, 5, 6, 7, 8, 10, 12, 13)]
        + [f"http:req-2:{n}" for n in (1, 2, 3, 4, 5, 6, 7, 11, 12, 13)]
        + ["http:req-3:2", "http:req-4:2"]
    )


def test_http_ingest_judgements_need_a_staff_token(kafka_broker: str, ns: str, creds: Credentials) -> None:
    """A CRM token cannot lift a penalty or annul a violation, nor the call centre's confirm one;
    the lines they may post still land, and nothing else answers for them."""
    lifted = fact("penalty.lifted", "lift-1", penalty_id="P-1", reason="clemency")
    annulled = fact("violation.annulled", "ann-1", violation_id="V-1")
    confirmed = fact("violation.confirmed", "conf-1", violation_id="V-1")
    lines = [company("co-1", "C-1"), lifted, account("ac-1", "A-1", "C-1"), annulled, confirmed]
    ndjson = {"content-type": "application/x-ndjson"}
    with (
        FactPublisher(kafka_broker, ns) as publisher,
        TestClient(ingest_app(publisher, creds.store)) as client,
    ):
        body = client.post(
            "/facts", content="\n".join(lines), headers=creds.headers(Role.PRODUCER_CRM, **ndjson)
        )
        assert body.json()["accepted"] == 2
        assert [(r["line"], r["field"], r["reason"]) for r in body.json()["rejected"]] == [
            (2, "type", "a producer:crm token may not post penalty.lifted facts"),
            (4, "type", "a producer:crm token may not post violation.annulled facts"),
            (5, "type", "a producer:crm token may not post violation.confirmed facts"),
        ]
        cc = client.post(
            "/facts", content="\n".join(lines[1:]), headers=creds.headers(Role.PRODUCER_CALLCENTRE, **ndjson)
        )
        assert cc.json()["accepted"] == 0
        assert [(r["line"], r["field"]) for r in cc.json()["rejected"]] == [
            (1, "type"),
            (2, "type"),
            (3, "type"),
            (4, "type"),
        ]
        reader = client.post("/facts", content=lifted, headers=creds.headers(Role.READER, **ndjson))
        assert reader.status_code == 403
        anonymous = client.post("/facts", content=lifted, headers=ndjson)
        assert anonymous.status_code == 401
        plain = client.post(
            "/facts", content=lifted, headers=creds.headers(Role.STAFF, **{"content-type": "text/plain"})
        )
        assert plain.status_code == 415
    assert ids_on_topic(kafka_broker, ns) == ["ac-1", "co-1"]


# --- (c) publishing the same file twice -------------------------------------------------------------
def test_publishing_twice_gives_the_same_fact_set(kafka_broker: str, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(MIXED) + "\n")
    first = main_produce([path], "any", kafka_broker, ns)
    second = main_produce([path], "any", kafka_broker, ns)
    assert ids_on_topic(kafka_broker, ns) == MIXED_GOOD
    assert (second.published, second.duplicates) == (0, 5)  # recognised as re-sends: not sent again
    assert reasons(second) == reasons(first)

    # A producer that does not keep the id index re-sends them: duplicates on the topic, same set,
    # and the projection of the topic equals the projection of the distinct facts.
    with FactPublisher(kafka_broker, ns, check_ids=False) as publisher:
        third = publisher.publish(path.read_bytes().splitlines(), str(path))
    assert third.published == 5
    on_topic = facts_on_topic(kafka_broker, ns)
    assert len(on_topic) == 10 and sorted({f.id for f in on_topic}) == MIXED_GOOD
    policy = load_policy()
    distinct = {f.id: f for f in on_topic}.values()
    assert digest(snapshot(project(on_topic, policy), None)) == digest(
        snapshot(project(distinct, policy), None)
    )


def test_same_id_different_content_is_refused(kafka_broker: str, ns: str) -> None:
    with FactPublisher(kafka_broker, ns) as publisher:
        publisher.publish([company("co-1", "C-1")], "first")
    with FactPublisher(kafka_broker, ns) as publisher:  # a new process: knows it from the topic
        report = publisher.publish([company("co-1", "C-OTHER"), company("co-2", "C-2")], "second")
        assert reasons(report) == {1: ("id", f"id 'co-1' is already used by a different fact on {ns}.facts")}
        report = publisher.publish([company("co-3", "C-3"), company("co-3", "C-4")], "third")
        assert reasons(report) == {2: ("id", "id 'co-3' is already used by a different fact (line 1)")}
    assert ids_on_topic(kafka_broker, ns) == ["co-1", "co-2", "co-3"]


# --- (d) CSV ------------------------------------------------------------------------------------------
CSV = """\
type,id,at,source,company_id,name,account_id,person_id,authorised,product_line,stars,certificate_ids,\
certificate_id,valid_until,number,barcode,stated_model,stated_site,problem
company.registered,co-1,2025-01-06T09:00:00+08:00,crm,C-1,"Acme, Ltd",,,,,,,,,,,,,
account.opened,ac-1,2025-01-06T10:00:00+08:00,crm,C-1,,A-1,P-1,false,,,,,,,,,,

certificate.granted,ce-1,2025-01-07T10:00:00+08:00,crm,,,A-1,,,storage,,,CERT-1,2027-01-07T00:00:00+08:00,,,,,
rating.issued,ra-1,2025-01-08T10:00:00+08:00,crm,C-1,,,,,storage,3,CERT-1;CERT-2,,,,,,,
call.received,call-1,2025-03-03T09:00:00+08:00,cc,,,A-1,,,,,,,,13800000001,B-1,ST-5310,SITE-1,"fan alarm
on chassis"
rating.issued,ra-2,2025-01-08T10:00:00+08:00,crm,C-1,,,,,storage,three,,,,,,,,
call.received,call-2,2025-03-03T09:00:00+08:00,cc,,,A-404,,,,,,,,13800000001,B-1,ST-5310,SITE-1,x
company.registered,co-2,2025-01-06T09:00:00+08:00,crm,C-2,Beta,A-1,,,,,,,,,,,,
company.registered,co-3,2025-01-06T09:00:00+08:00,crm,C-3,Gamma,,,,,,,,,,,,,,extra
"""
CSV_AS_JSON = [
    '{"type":"company.registered","id":"co-1","at":"2025-01-06T09:00:00+08:00","source":"crm",'
    '"company_id":"C-1","name":"Acme, Ltd"}',
    '{"type":"account.opened","id":"ac-1","at":"2025-01-06T10:00:00+08:00","source":"crm","company_id":"C-1",'
    '"account_id":"A-1","person_id":"P-1","authorised":false}',
    '{"type":"certificate.granted","id":"ce-1","at":"2025-01-07T10:00:00+08:00","source":"crm",'
    '"account_id":"A-1","product_line":"storage","certificate_id":"CERT-1",'
    '"valid_until":"2027-01-07T00:00:00+08:00"}',
    '{"type":"rating.issued","id":"ra-1","at":"2025-01-08T10:00:00+08:00","source":"crm","company_id":"C-1",'
    '"product_line":"storage","stars":3,"certificate_ids":["CERT-1","CERT-2"]}',
    '{"type":"call.received","id":"call-1","at":"2025-03-03T09:00:00+08:00","source":"cc","account_id":"A-1",'
    '"number":"13800000001","barcode":"B-1","stated_model":"ST-5310","stated_site":"SITE-1",'
    '"problem":"fan alarm\\non chassis"}',
]


def test_csv_round_trip(kafka_broker: str, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(CSV)
    report = main_produce([path], "any", kafka_broker, ns)

    expected = sorted((fact_from_json(line) for line in CSV_AS_JSON), key=lambda f: f.id)
    assert sorted(facts_on_topic(kafka_broker, ns), key=lambda f: f.id) == expected
    got = reasons(report)  # CSV lines: the header is line 1, line 4 is blank, call-1 spans 7-8
    assert sorted(got) == [9, 10, 11, 12]
    assert got[9][0] == "stars" and "Expected `int`, got `str`" in got[9][1]
    assert got[10] == ("account_id", "unknown account 'A-404': no fact introduces it")
    assert got[11] == ("account_id", "unknown field: not part of this fact type (misspelt?)")
    assert got[12] == (None, "20 cells, but the header has 19 columns")
    assert [key for key, _ in rejects_on_topic(kafka_broker, ns)] == [f"{path}:{n}" for n in (9, 10, 11, 12)]
    assert_nothing_dropped(report)


def test_a_csv_without_type_column_is_refused_before_publishing(
    kafka_broker: str, ns: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("kind,id\ncompany.registered,co-1\n")
    with pytest.raises(PublishError, match="no `type` column"):
        main_produce([path], "any", kafka_broker, ns)
    with pytest.raises(PublishError, match="no such file"):
        main_produce([tmp_path / "missing.jsonl"], "any", kafka_broker, ns)


# --- (e) references to what earlier runs published --------------------------------------------------
def test_references_to_entities_published_earlier(kafka_broker: str, ns: str) -> None:
    with FactPublisher(kafka_broker, ns, role="crm") as crm:
        assert crm.publish([company("co-1", "C-1"), account("ac-1", "A-1", "C-1")], "crm-1").published == 2

    # A later run of another producer: its index, loaded from the topic, knows A-1.
    with FactPublisher(kafka_broker, ns, role="callcentre") as callcentre:
        assert callcentre.knows("account", "A-1") and not callcentre.knows("account", "A-2")
        report = callcentre.publish([call("call-1", "A-1"), call("call-2", "A-404")], "cc-1")
        assert reasons(report) == {2: ("account_id", "unknown account 'A-404': no fact introduces it")}

        # The CRM opens A-2 while the call-centre producer runs: it reads it on the miss.
        with FactPublisher(kafka_broker, ns, role="crm") as crm:
            crm.publish([account("ac-2", "A-2", "C-1")], "crm-2")
        assert callcentre.publish([call("call-3", "A-2")], "cc-2").published == 1

        # Each producer sends its own system's facts only.
        report = callcentre.publish([company("co-2", "C-2")], "cc-3")
        assert reasons(report) == {
            1: ("type", "the callcentre producer does not send company.registered facts")
        }

    assert ids_on_topic(kafka_broker, ns) == ["ac-1", "ac-2", "call-1", "call-3", "co-1"]


def test_facts_built_in_code_are_checked_too(kafka_broker: str, ns: str) -> None:
    facts = [fact_from_json(company("co-1", "C-1")), fact_from_json(call("call-1", "A-404"))]
    with FactPublisher(kafka_broker, ns) as publisher:
        report = publisher.publish(facts, "library")
    assert report.published == 1 and reasons(report)[2][0] == "account_id"
    assert ids_on_topic(kafka_broker, ns) == ["co-1"]


def test_an_unreachable_broker_is_one_clear_error() -> None:
    with pytest.raises(PublishError, match="no Kafka broker answers at 127.0.0.1:1"):
        FactPublisher("127.0.0.1:1", "unused", connect_timeout_s=1)
    with pytest.raises(PublishError, match="unknown producer 'billing'"):
        main_produce([], "billing", "127.0.0.1:1", "unused")


def test_a_delivery_failure_is_raised_not_swallowed(kafka_broker: str, ns: str) -> None:
    with FactPublisher(kafka_broker, ns) as publisher:
        real_send = publisher.producer.send

        def send(
            topic: str, value: bytes, key: bytes, partition: int | None = None, headers: Any = None
        ) -> Any:
            if b"co-2" in value:  # the broker "refuses" this one record
                return Future().failure(KafkaTimeoutError("expired after 60000ms"))
            return real_send(topic, value, key=key, partition=partition, headers=headers)

        publisher.producer.send = send  # type: ignore[method-assign]
        with pytest.raises(PublishError, match=r"1 facts and 0 rejections were not acknowledged") as err:
            publisher.publish([company("co-1", "C-1"), company("co-2", "C-2")], "batch")
        assert "(first: batch:2, id 'co-2')" in str(err.value) and "expired after 60000ms" in str(err.value)
        assert err.value.report is not None and err.value.report.published == 1

        # Sending the same batch again: the delivered fact is a re-send, the other one lands now.
        publisher.producer.send = real_send  # type: ignore[method-assign]
        report = publisher.publish([company("co-1", "C-1"), company("co-2", "C-2")], "batch")
        assert (report.published, report.duplicates) == (1, 1)
    assert ids_on_topic(kafka_broker, ns) == ["co-1", "co-2"]
