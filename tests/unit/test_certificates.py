"""CERT-FRAUD: revocation on a failed exam, public notice, black key event, three strikes for ever."""

from __future__ import annotations

from projections.view import snapshot

from .builders import admit, annul, cert, confirm, exam, fold, penalty_ids, report, t, world


def _fraud(rid: str, cert_id: str, failed_at: str, account: str = "a1") -> list:
    return [
        report(
            rid,
            "CERT-FRAUD",
            failed_at.replace("T10:00", "T09:00"),
            account_id=account,
            certificate_id=cert_id,
        ),
        exam(cert_id, failed_at, account_id=account),
    ]


def _three_certs() -> list:
    return world() + [cert("c2", "a1", "L1"), cert("c3", "a1", "L2"), cert("c4", "a1", "L1")]


def test_failed_exam_revokes_the_certificate_and_publishes_it():
    state = fold(world() + _fraud("R1", "cert-a1", "2025-01-31T10:00"))
    v = state.violations["R1"]
    assert (v.rule, v.account_id, v.company_id, v.at) == ("CERT-FRAUD", "a1", "co1", t("2025-01-31T10:00"))
    r = state.revocations["cert-a1"]
    assert (r.id, r.account_id, r.product_line, r.violation_id, r.at) == (
        "R1/revocation",
        "a1",
        "L1",
        "R1",
        t("2025-01-31T10:00"),
    )
    assert state.valid_certificates("a1", "L1", t("2025-01-31T09:59")) == ["cert-a1"]
    assert state.valid_certificates("a1", "L1", t("2025-01-31T10:00")) == []
    snap = snapshot(state, t("2025-02-01T10:00"))
    assert [n.certificate_id for n in snap.public_notices] == ["cert-a1"]
    assert "R1/black-key" in state.black_key_events
    assert "R1/plan" in state.plans
    assert penalty_ids(state) == set()  # no blacklist entry for the engineer
    assert "a1" not in state.permanent
    assert admit(state, "2025-02-01T10:00") == ["no-certificate"]


def test_passed_exam_dismisses_the_report():
    state = fold(
        world()
        + [
            report("R1", "CERT-FRAUD", "2025-01-31T09:00", certificate_id="cert-a1"),
            exam("cert-a1", "2025-01-31T10:00", passed=True),
        ]
    )
    assert state.violations == {}
    assert state.revocations == {}
    assert state.pending["R1"].status == "dismissed"
    assert state.black_key_events == {}


def test_staff_confirmation_of_cert_fraud_is_an_anomaly():
    state = fold(
        world()
        + [
            report("R1", "CERT-FRAUD", "2025-01-31T09:00", certificate_id="cert-a1"),
            confirm("R1", "2025-01-31T10:00"),
        ]
    )
    assert state.violations == {}
    assert state.revocations == {}
    assert any("CERT-FRAUD" in a.reason for a in state.anomalies)


def test_three_strikes_reached_by_the_third_revocation_not_the_second():
    facts = (
        _three_certs() + _fraud("R1", "cert-a1", "2025-01-31T10:00") + _fraud("R2", "c2", "2025-03-31T10:00")
    )
    two = fold(facts)
    assert "a1" not in two.permanent
    assert len(two.account_revocations["a1"]) == 2
    assert "certificates-permanently-revoked" not in admit(two, "2025-04-01T10:00")

    facts += _fraud("R3", "c3", "2025-05-31T10:00")
    three = fold(facts)
    done = three.permanent["a1"]
    assert done.at == t("2025-05-31T10:00")
    assert done.revoked_certificate_ids == ("cert-a1", "c2", "c3")
    assert done.id == "a1/all-certificates-revoked"
    assert three.permanent_revocation("a1", t("2025-05-31T09:59")) is None
    assert "certificates-permanently-revoked" not in admit(three, "2025-05-31T09:59")
    assert "certificates-permanently-revoked" in admit(three, "2025-05-31T10:00")
    assert "certificates-permanently-revoked" in admit(three, "2035-05-31T10:00")


def test_every_certificate_is_revoked_after_three_strikes():
    """RULES.md: at three revoked certificates "every certificate of the account is permanently revoked",
    so a fourth certificate never involved in a fraud is no longer a valid, unrevoked certificate."""
    facts = (
        _three_certs() + _fraud("R1", "cert-a1", "2025-01-31T10:00") + _fraud("R2", "c2", "2025-03-31T10:00")
    )
    facts += _fraud("R3", "c3", "2025-05-31T10:00")
    state = fold(facts)
    assert state.valid_certificates("a1", "L1", t("2025-05-31T09:59")) == ["c4"]
    assert state.valid_certificates("a1", "L1", t("2025-06-01T10:00")) == []
    # (the three frauds are also three black key events within a year: the company is blacklisted too)
    assert admit(state, "2025-06-01T10:00") == [
        "company-blacklisted",
        "certificates-permanently-revoked",
        "no-certificate",
    ]


def test_a_second_fraud_on_the_same_certificate_counts_once():
    facts = _three_certs() + _fraud("R1", "cert-a1", "2025-01-31T10:00")
    facts += _fraud("R2", "cert-a1", "2025-03-31T10:00") + _fraud("R3", "c2", "2025-05-31T10:00")
    state = fold(facts)
    assert state.violations["R2"].rule == "CERT-FRAUD"
    assert [r.certificate_id for r in state.account_revocations["a1"]] == ["cert-a1", "c2"]
    assert state.revocations["cert-a1"].violation_id == "R1"
    assert "a1" not in state.permanent
    facts += _fraud("R4", "c3", "2025-07-31T10:00")
    state = fold(facts)
    assert state.permanent["a1"].at == t("2025-07-31T10:00")
    assert state.permanent["a1"].revoked_certificate_ids == ("cert-a1", "c2", "c3")


def test_three_strikes_count_over_the_whole_life_of_the_account():
    facts = (
        _three_certs() + _fraud("R1", "cert-a1", "2020-06-30T10:00") + _fraud("R2", "c2", "2022-06-30T10:00")
    )
    facts += _fraud("R3", "c3", "2026-05-31T10:00")
    state = fold(facts)
    assert state.permanent["a1"].at == t("2026-05-31T10:00")


def test_revocations_are_per_account():
    facts = world(("a1", "a2")) + [cert("c2", "a1"), cert("c3", "a2")]
    facts += _fraud("R1", "cert-a1", "2025-01-31T10:00") + _fraud("R2", "c2", "2025-02-28T10:00")
    facts += _fraud("R3", "cert-a2", "2025-03-31T10:00", account="a2")
    state = fold(facts)
    assert state.permanent == {}


def test_an_annulled_fraud_does_not_block_a_later_revocation_of_the_same_certificate():
    facts = world() + _fraud("R1", "cert-a1", "2025-01-31T10:00")
    facts += [annul("R1", "2025-02-10T10:00")] + _fraud("R2", "cert-a1", "2025-03-31T10:00")
    state = fold(facts)
    r = state.revocations["cert-a1"]
    assert (r.id, r.at, r.annulled_at) == ("R2/revocation", t("2025-03-31T10:00"), None)
    assert [x.id for x in state.account_revocations["a1"]] == ["R2/revocation"]
    assert state.valid_certificates("a1", "L1", t("2025-03-01T10:00")) == ["cert-a1"]
    assert state.valid_certificates("a1", "L1", t("2025-03-31T10:00")) == []
