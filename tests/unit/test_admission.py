"""admit_call: every reason that holds, in REASON_ORDER."""

from __future__ import annotations

from domain.admission import REASON_ORDER, admit_call, decided
from schemas.derived import Reason

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    POLICY,
    account,
    admit,
    cert,
    company,
    confirm,
    device,
    exam,
    fold,
    rating,
    report,
    request,
    t,
    world,
)

AT = "2025-06-01T10:00"


def test_admitted_when_nothing_holds():
    assert admit(fold(world()), AT) == []


def test_all_reasons_in_order_when_several_hold():
    facts = world() + [cert("c2", "a1"), cert("c3", "a1"), device("BCX", line="L9", model="MX", site="sx")]
    # three certificate frauds: permanent revocation (and cert-a1, c2, c3 of L1 all revoked)
    for rid, cid, at in (
        ("F1", "cert-a1", "2025-01-10T10:00"),
        ("F2", "c2", "2025-01-20T10:00"),
        ("F3", "c3", "2025-01-30T10:00"),
    ):
        facts += [
            report(rid, "CERT-FRAUD", at.replace("T10:00", "T09:00"), certificate_id=cid),
            exam(cid, at),
        ]
    # F2 and F3 black key events within a year: company blacklisted; an abusive call: account and number
    facts += [
        report("R1", "ABUSIVE-CONDUCT", "2025-02-01T09:00", number=NUMBER),
        confirm("R1", "2025-02-01T10:00"),
    ]
    state = fold(facts)
    codes = admit(state, AT, barcode="BCX", model="M-wrong", site="sx")
    assert codes == [
        "account-blacklisted",
        "number-blacklisted",
        "company-blacklisted",
        "certificates-permanently-revoked",
        "no-certificate",
        "company-not-rated",
        "barcode-mismatch",
    ]
    assert codes == sorted(codes, key=REASON_ORDER.index)
    reasons = admit_call(state, request(barcode="BCX", model="M-wrong", site="sx"), t(AT), POLICY)
    assert "permanently" in reasons[0].detail
    assert "R1/account" in reasons[0].detail


def test_unknown_barcode():
    assert admit(fold(world()), AT, barcode="NOPE") == ["unknown-barcode"]


def test_unknown_account():
    assert admit(fold(world()), AT, account_id="ghost") == ["unknown-account"]


def test_barcode_mismatch_model_or_site():
    state = fold(world())
    assert admit(state, AT, model="M2") == ["barcode-mismatch"]
    assert admit(state, AT, site="s9") == ["barcode-mismatch"]
    reasons = admit_call(state, request(model="M2", site="s9"), t(AT), POLICY)
    assert [r.code for r in reasons] == ["barcode-mismatch"]
    assert "M2" in reasons[0].detail and "s9" in reasons[0].detail


def test_company_not_rated_after_one_calendar_year():
    facts = [
        company("co1"),
        account("a1"),
        cert("cert-a1", "a1"),
        device(),
        rating("co1", "L1", 2, "2024-02-29T10:00"),
    ]
    state = fold(facts)
    assert admit(state, "2024-02-29T09:59") == ["company-not-rated"]
    assert admit(state, "2024-02-29T10:00") == []
    assert admit(state, "2025-02-28T09:59") == []
    assert admit(state, "2025-02-28T10:00") == ["company-not-rated"]


def test_company_rated_for_another_product_line_is_not_rated():
    facts = [
        company("co1"),
        account("a1"),
        cert("cert-a1", "a1"),
        device(),
        rating("co1", "L2", 4, "2025-01-01"),
    ]
    assert admit(fold(facts), AT) == ["company-not-rated"]


def test_no_certificate_for_the_product_line():
    facts = [company("co1"), account("a1"), cert("cert-a1", "a1", line="L2"), device(), rating("co1", "L1")]
    assert admit(fold(facts), AT) == ["no-certificate"]


def test_expired_certificate_is_no_certificate():
    facts = [
        company("co1"),
        account("a1"),
        cert("cert-a1", "a1", valid_until="2025-05-31T10:00"),
        device(),
        rating("co1", "L1"),
    ]
    state = fold(facts)
    assert admit(state, "2025-05-31T09:59") == []
    assert admit(state, "2025-05-31T10:00") == ["no-certificate"]


def test_company_blacklisted_refuses_every_engineer_of_it():
    facts = world(("a1", "a2", "a3")) + world(("b1",), company_id="co2")
    facts += [
        report("R1", "BLACKLIST-EVASION", "2025-05-01T09:00", number=NUMBER),
        confirm("R1", "2025-05-01T10:00"),
    ]
    state = fold(facts)
    assert admit(state, AT, account_id="a2", number=OTHER_NUMBER) == ["company-blacklisted"]
    assert admit(state, AT, account_id="a3", number="+8613800000003") == ["company-blacklisted"]
    assert admit(state, AT, account_id="a1") == ["company-blacklisted"]
    # another company's engineer is not affected
    assert admit(state, AT, account_id="b1", number="+8613900000001") == []
    # the blacklist ends after 6 months
    assert admit(state, "2025-11-01T10:00", account_id="a2", number=OTHER_NUMBER) == []


def test_account_and_number_blacklisted_separately():
    facts = world(("a1", "a2")) + [
        report("R1", "ACCOUNT-SHARED", "2025-05-01T09:00", number=NUMBER),
        confirm("R1", "2025-05-01T10:00"),
    ]
    state = fold(facts)
    assert admit(state, AT) == ["account-blacklisted", "number-blacklisted"]
    # someone else calling from the blacklisted number
    assert admit(state, AT, account_id="a2") == ["number-blacklisted"]
    # until 1 Aug 2025 10:00 (3 months)
    assert admit(state, "2025-08-01T09:59", account_id="a2") == ["number-blacklisted"]
    assert admit(state, "2025-08-01T10:00", account_id="a2") == []


def test_certificates_permanently_revoked_reason():
    facts = world() + [cert("c2", "a1"), cert("c3", "a1")]
    for rid, cid, at in (
        ("F1", "cert-a1", "2025-01-10T10:00"),
        ("F2", "c2", "2025-01-20T10:00"),
        ("F3", "c3", "2025-01-30T10:00"),
    ):
        facts += [
            report(rid, "CERT-FRAUD", at.replace("T10:00", "T09:00"), certificate_id=cid),
            exam(cid, at),
        ]
    state = fold(facts)
    codes = admit(state, "2025-01-30T10:00")
    assert "certificates-permanently-revoked" in codes
    assert "certificates-permanently-revoked" not in admit(state, "2025-01-30T09:59")


def test_unknown_account_number_blacklisted_and_unknown_barcode_in_order():
    facts = world() + [
        report("R1", "ACCOUNT-SHARED", "2025-05-01T09:00", number=NUMBER),
        confirm("R1", "2025-05-01T10:00"),
    ]
    state = fold(facts)
    assert admit(state, AT, account_id="ghost", barcode="NOPE") == [
        "unknown-account",
        "number-blacklisted",
        "unknown-barcode",
    ]


def test_a_decision_record_is_admitted_exactly_when_no_reason_refuses():
    asked = request()
    refused = decided(asked, t(AT), POLICY, (Reason("unknown-account", "no engineer account a1"),), 7, {0: 3})
    admitted = decided(asked, t(AT), POLICY, (), 7, {})
    assert (refused.admitted, admitted.admitted) == (False, True)
    assert refused.known_offsets == {0: 3} and admitted.known_offsets is None  # {}: none named
    assert refused.policy_version == POLICY.version and refused.known_up_to == 7 and refused.at == t(AT)
    assert refused.id.startswith("adm-") and refused.id != admitted.id
