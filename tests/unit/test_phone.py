"""RULES.md "One phone number, one subject": numbers are compared in E.164 form.

Expected values are written by hand: +86 134 1532 3691 is the RULES.md example; its E.164 form is
+8613415323691 (country code 86, then the 11-digit mobile number, no trunk prefix).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.admission import admit_call
from domain.phone import PhoneNumberError, as_subject, for_people, line_region, normalise
from producers.validate import explain_decode_error, parse_lines
from projections.explain import explain
from schemas.codec import batch_from_msgpack, fact_from_json, from_msgpack
from schemas.derived import CallRequest
from schemas.facts import CallReceived, ViolationReported
from schemas.upcast import same_fact

from .builders import POLICY, call, confirm, fold, report, request, t, world

E164 = "+8613415323691"
SPELLINGS = ["+86 134 1532 3691", "13415323691", "0086 134 1532 3691", "+86-134-1532-3691"]
AT = "2025-03-01T10:00"  # inside the three months of the penalty below


# --- the concept ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", [*SPELLINGS, "+86  134 1532 3691", "8613415323691", E164])
def test_every_spelling_of_the_rules_example_is_one_e164_number(spelling: str) -> None:
    assert normalise(spelling, "CN") == E164


def test_a_number_is_shown_to_people_in_international_format() -> None:
    assert for_people(E164) == "+86 134 1532 3691"
    assert for_people("12345") == "12345"  # an old record kept as written is shown as it is


@pytest.mark.parametrize(
    "text",
    [
        "13415323691\n",  # a trailing newline
        "1341532369a",  # a letter
        "+86 134 1532 369",  # a digit short
        "+8612345",  # possible length, no such number
        "",
        " 13415323691",
    ],
)
def test_what_is_not_a_valid_number_is_refused(text: str) -> None:
    with pytest.raises(PhoneNumberError):
        normalise(text, "CN")


def test_an_invalid_number_names_the_region_it_was_read_on() -> None:
    with pytest.raises(PhoneNumberError, match="region CN"):
        normalise("+8612345", "CN")


def test_the_line_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_PHONE_REGION", raising=False)
    assert line_region() == "CN"
    monkeypatch.setenv("HOTLINE_PHONE_REGION", "gb")
    assert line_region() == "GB"
    assert normalise("020 7946 0018", "GB") == "+442079460018"  # a London number, read on GB
    assert normalise("+86 134 1532 3691", "GB") == E164  # a country code wins over the region
    with pytest.raises(PhoneNumberError, match="HOTLINE_PHONE_REGION"):
        normalise("13415323691", "XX")


def test_a_lookup_never_raises_and_keeps_what_it_cannot_read() -> None:
    assert as_subject("0086 134 1532 3691") == E164
    assert as_subject("12345") == "12345"


# --- ingest: every fact that carries a number -----------------------------------------------------
def _call_json(number: str, v: int | None = None) -> str:
    version = "" if v is None else f',"v":{v}'
    return (
        '{"type":"call.received","id":"c1","at":"2025-03-03T09:30:00+08:00","source":"cc"' + version + ","
        '"account_id":"a1","number":' + msgspec.json.encode(number).decode() + ',"barcode":"BC1",'
        '"stated_model":"M1","stated_site":"s1","problem":"x"}'
    )


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_call_is_stored_with_its_number_in_e164(spelling: str) -> None:
    fact = fact_from_json(_call_json(spelling))
    assert isinstance(fact, CallReceived)
    assert (fact.number, fact.v) == (E164, 2)


def test_a_report_is_stored_with_its_number_in_e164() -> None:
    line = (
        '{"type":"violation.reported","id":"R1","at":"2025-03-03T09:30:00+08:00","source":"staff",'
        '"rule":"ACCOUNT-SHARED","account_id":"a1","number":"0086 134 1532 3691"}'
    )
    fact = fact_from_json(line)
    assert isinstance(fact, ViolationReported)
    assert fact.number == E164


@pytest.mark.parametrize("number", ["+8612345", "13415323691\n", "1341532369a", "134 1532 3691 ext 2"])
def test_an_invalid_number_is_refused_at_ingest_naming_the_field(number: str) -> None:
    for v in (None, 1, 2):  # also an explicit old version: it is upcast, then refused
        parsed, rejected = parse_lines([_call_json(number, v).encode()], "calls.jsonl")
        assert parsed == []
        assert [(r.line, r.field) for r in rejected] == [(1, "number")]


def test_a_call_request_holds_e164_and_refuses_an_invalid_number_naming_the_field() -> None:
    assert request(number="0086 134 1532 3691").number == E164
    asked = {"account_id": "a1", "barcode": "B", "stated_model": "M", "stated_site": "S"}
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({**asked, "number": "13415323691\n"}, CallRequest)
    assert explain_decode_error(refused.value)[0] == "number"


# --- facts already on a log: MessagePack written by v1 ----------------------------------------------
class CallV1(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="call.received"):
    """call.received exactly as v1 stored it: the number as written, `v` 1."""

    id: str
    at: datetime
    source: str
    v: int = 1
    account_id: str
    number: str
    barcode: str
    stated_model: str
    stated_site: str
    problem: str
    channel: str = "partner"
    ended_at: datetime | None = None
    case_id: str | None = None


def old_call(call_id: str, number: str, at: str = "2025-03-03T09:30") -> bytes:
    return msgspec.msgpack.encode(
        CallV1(
            id=call_id,
            at=t(at),
            source="cc",
            account_id="a1",
            number=number,
            barcode="BC1",
            stated_model="M1",
            stated_site="s1",
            problem="x",
        )
    )


def test_an_old_record_with_a_raw_number_reads_in_e164() -> None:
    fact = from_msgpack(old_call("c1", "+86 134 1532 3691"))
    assert isinstance(fact, CallReceived)
    assert (fact.number, fact.v) == (E164, 2)
    batch = batch_from_msgpack([old_call("c1", "13415323691"), old_call("c2", "0086 134 1532 3691")])
    assert [(f.number, f.v) for f in batch] == [(E164, 2), (E164, 2)]  # type: ignore[union-attr]


def test_a_resent_fact_in_another_spelling_is_the_same_fact_as_the_old_record() -> None:
    resent = msgspec.msgpack.encode(fact_from_json(_call_json("+86-134-1532-3691")))
    assert same_fact(old_call("c1", "+86 134 1532 3691"), resent)
    assert not same_fact(old_call("c1", "+86 138 0013 8000"), resent)


def test_an_invalid_number_in_an_old_record_is_kept_as_written_and_never_stops_the_fold() -> None:
    (fact,) = batch_from_msgpack([old_call("c-old", "12345")])
    assert isinstance(fact, CallReceived)
    assert (fact.number, fact.v) == ("12345", 1)
    state = fold([*world(), fact], utc=False)
    assert state.calls["c-old"].number == "12345"
    assert [a.fact_id for a in state.anomalies] == ["c-old"]


# --- admission and explain under any spelling -------------------------------------------------------
def _penalty_on_the_rules_example() -> list:
    """a1 calls from +86 134 1532 3691; the call is reported and confirmed as ACCOUNT-SHARED: the
    account and the number are blacklisted for three months from 1 February 10:00 (RULES.md)."""
    return [
        *world(("a1", "a2")),
        call("c1", "2025-01-31T09:00", "a1", number="+86 134 1532 3691"),
        report("R1", "ACCOUNT-SHARED", "2025-02-01T09:00", "a1", call_id="c1"),
        confirm("R1", "2025-02-01T10:00"),
    ]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_penalty_on_one_spelling_refuses_every_other_at_admission(spelling: str) -> None:
    state = fold(_penalty_on_the_rules_example())
    codes = [r.code for r in admit_call(state, request("a2", number=spelling), t(AT), POLICY)]
    assert codes == ["number-blacklisted"]


def test_an_old_recorded_request_with_a_raw_number_is_looked_up_in_e164() -> None:
    from schemas.derived import RecordedCall

    state = fold(_penalty_on_the_rules_example())
    asked = RecordedCall(
        account_id="a2", number="134-1532-3691", barcode="BC1", stated_model="M1", stated_site="s1"
    )
    assert [r.code for r in admit_call(state, asked, t(AT), POLICY)] == ["number-blacklisted"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_explain_number_finds_the_penalty_under_any_spelling(spelling: str) -> None:
    state = fold(_penalty_on_the_rules_example())
    found = explain(state, "number", spelling, t(AT))
    assert (found.subject, found.known, found.blacklisted) == (E164, True, True)
    assert [(link.kind, link.id) for link in found.chain if link.kind == "penalty"] == [
        ("penalty", "R1/number")
    ]


# --- the property: every spelling of a valid CN mobile number is one E.164 number -------------------
MOBILE_PREFIXES = [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190)]


@given(prefix=st.sampled_from(MOBILE_PREFIXES), rest=st.integers(0, 99_999_999))
def test_every_spelling_of_a_cn_mobile_normalises_to_the_same_e164(prefix: int, rest: int) -> None:
    national = f"{prefix}{rest:08d}"
    expected = "+86" + national  # written by hand: country code, then the 11 national digits
    a, b, c = national[:3], national[3:7], national[7:]
    spellings = [
        national,
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"+86{national}",
        f"+86 {a} {b} {c}",
        f"+86-{a}-{b}-{c}",
        f"0086 {a} {b} {c}",
        f"0086{national}",
        f"+86  {a}  {b} {c}",
    ]
    assert {normalise(s, "CN") for s in spellings} == {expected}


# --- the API's lookups and admission parameters ------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_api_looks_a_number_up_in_e164_whatever_its_spelling(spelling: str) -> None:
    from consumers.api.params import BlacklistParams, SubjectPath

    assert SubjectPath.model_validate({"kind": "number", "subject": spelling}).subject == E164
    assert BlacklistParams.model_validate({"kind": "number", "subject": spelling}).subject == E164
    assert SubjectPath.model_validate({"kind": "account", "subject": spelling}).subject == spelling


def test_the_api_refuses_an_invalid_number_as_parameter_number() -> None:
    from consumers.api.params import QUERY_NAMES, call_problem

    asked = {"account_id": "a1", "barcode": "B", "stated_model": "M", "stated_site": "S"}
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({**asked, "number": "+86 12345"}, CallRequest)
    problem = call_problem(refused.value, QUERY_NAMES).problem
    assert (problem.status, [p.parameter for p in problem.problems]) == (400, ["number"])
