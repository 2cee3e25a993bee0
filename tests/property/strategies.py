"""Random but meaningful fact sets over a small world, so that rules actually fire and interact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from schemas import facts as f

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ACCOUNTS = {"A1": ("C1", "P1"), "A2": ("C1", "P2"), "A3": ("C2", "P3"), "A4": ("C2", "P1")}
NUMBERS = ["+8613000000001", "+8613000000002", "+8613000000003"]  # valid CN mobiles, in E.164
DEVICES = {"B1": ("M1", "S1", "K1", 400), "B2": ("M2", "S2", "K2", -30), "B3": ("M1", "S3", "K1", 90)}
PROBLEMS = ["port down", "crc errors", "license", "fan alarm"]
RULES = [
    "CERT-FRAUD",
    "ABUSIVE-CONDUCT",
    "ACCOUNT-SHARED",
    "ACCOUNT-LEAKED",
    "BARCODE-MISMATCH",
    "BARCODE-SWAP-IN-WARRANTY",
    "BARCODE-REUSE",
    "CERT-FRAUD",
    "CASE-HANDOFF-UNCERTIFIED",
    "CUSTOMER-IMPERSONATION",
    "ABUSIVE-CONDUCT",
    "OTHER-IRREGULAR",
]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def world() -> list[f.Fact]:
    out: list[f.Fact] = []
    for c in ("C1", "C2"):
        out.append(f.CompanyRegistered(id=f"co-{c}", at=T0, source="crm", company_id=c, name=c))
        out.append(
            f.RatingIssued(id=f"ra-{c}", at=T0, source="crm", company_id=c, product_line="switch", stars=3)
        )
    for a, (c, p) in ACCOUNTS.items():
        out.append(
            f.AccountOpened(id=f"ac-{a}", at=T0, source="crm", account_id=a, company_id=c, person_id=p)
        )
        for i in range(4):
            out.append(
                f.CertificateGranted(
                    id=f"ce-{a}-{i}",
                    at=T0,
                    source="crm",
                    certificate_id=f"CE-{a}-{i}",
                    account_id=a,
                    product_line="switch",
                    valid_until=at(10**6),
                )
            )
    for b, (m, s, k, warranty_days) in DEVICES.items():
        out.append(
            f.DeviceInstalled(
                id=f"de-{b}",
                at=T0,
                source="crm",
                barcode=b,
                product_model=m,
                product_line="switch",
                customer_id=k,
                site_id=s,
                warranty_end=T0 + timedelta(days=warranty_days),
            )
        )
    return out


minute = st.integers(min_value=1, max_value=60 * 24 * 700)
account = st.sampled_from(sorted(ACCOUNTS))
number = st.sampled_from(NUMBERS)
barcode = st.sampled_from(sorted(DEVICES))


@st.composite
def call(draw: st.DrawFn, i: int) -> f.CallReceived:
    b = draw(barcode)
    model, site = DEVICES[b][0], DEVICES[b][1]
    if draw(st.integers(0, 4)) == 0:
        site = "S-wrong"
    start = draw(minute)
    return f.CallReceived(
        id=f"call-{i}",
        at=at(start),
        source="cc",
        account_id=draw(account),
        number=draw(number),
        barcode=b,
        stated_model=model,
        stated_site=site,
        problem=draw(st.sampled_from(PROBLEMS)),
        ended_at=at(start + draw(st.integers(1, 60))),
        case_id=draw(st.sampled_from([None, "K-1", "K-2"])),
    )


@st.composite
def judgement(draw: st.DrawFn, i: int, calls: list[f.CallReceived]) -> list[f.Fact]:
    """A report, then a few follow-ups in time: confirmations, exams, codes, lifts and annulments,
    aimed mostly at this report and sometimes at a detector's suspicion on the same call."""
    c = draw(st.sampled_from(calls))
    rule = draw(st.sampled_from(RULES))
    t = draw(minute)
    rid = f"rep-{i}"
    report = f.ViolationReported(
        id=rid,
        at=at(t),
        source="cc",
        rule=rule,
        account_id=c.account_id,
        call_id=c.id,
        case_id=c.case_id,
        certificate_id=f"CE-{c.account_id}-{draw(st.integers(0, 2))}",
        device_barcode=draw(barcode),
        serious=draw(st.booleans()),
    )
    out: list[f.Fact] = [report]
    for j in range(draw(st.integers(0, 3))):
        t += draw(st.integers(1, 60 * 24 * 60))
        target = draw(st.sampled_from([rid, rid, rid, f"barcode-mismatch:{c.id}", f"evasion:{c.id}"]))
        fid = f"{rid}-{j}"
        step = draw(st.sampled_from(["confirm", "confirm", "exam", "annul", "lift", "codes", "dismiss"]))
        if step == "confirm":
            out.append(f.ViolationConfirmed(id=fid, at=at(t), source="cc", violation_id=target))
        elif step == "exam":
            out.append(
                f.CertificateExamResult(
                    id=fid,
                    at=at(t),
                    source="crm",
                    account_id=c.account_id,
                    certificate_id=report.certificate_id or "",
                    passed=draw(st.booleans()),
                )
            )
        elif step == "annul":
            out.append(f.ViolationAnnulled(id=fid, at=at(t), source="cc", violation_id=target))
        elif step == "lift":
            kind = draw(st.sampled_from(["account", "number", "company"]))
            out.append(f.PenaltyLifted(id=fid, at=at(t), source="cc", penalty_id=f"{target}/{kind}"))
        elif step == "codes":
            out.append(
                f.BarcodeCodesResult(
                    id=fid,
                    at=at(t),
                    source="cc",
                    violation_id=target,
                    result=draw(st.sampled_from(["provided", "refused"])),
                )
            )
        else:
            out.append(f.ViolationDismissed(id=fid, at=at(t), source="cc", violation_id=target))
    return out


@st.composite
def fact_sets(draw: st.DrawFn) -> list[f.Fact]:
    calls = [draw(call(i)) for i in range(draw(st.integers(1, 25)))]
    out: list[f.Fact] = world() + list(calls)
    for i in range(draw(st.integers(0, 15))):
        out += draw(judgement(i, calls))
    out += draw(service_levels())
    if draw(st.booleans()):
        out.append(
            f.MaintenanceAgreed(
                id="maint", at=at(draw(minute)), source="crm", company_id="C1", customer_id="K2"
            )
        )
    if draw(st.booleans()):
        out.append(
            f.AccountOpened(
                id="ac-new",
                at=at(draw(minute)),
                source="crm",
                account_id="A9",
                company_id="C2",
                person_id=draw(st.sampled_from(["P1", "P2", "P3"])),
                authorised=False,
            )
        )
    return out


SLA_STEPS = {
    "respond": f.CaseResponded,
    "wait": f.CaseAwaitingPartner,
    "reply": f.CasePartnerReplied,
    "close": f.CaseClosed,
}


@st.composite
def service_levels(draw: st.DrawFn) -> list[f.Fact]:
    """Seeds 002/004: cases K-1 and K-2 opened (the calls quote them), then responses, waits on the
    partner, replies and closings near their due times; customers assigned to companies."""
    out: list[f.Fact] = []
    for case_id in draw(st.sampled_from([(), ("K-1",), ("K-1", "K-2")])):
        opened = draw(minute)
        out.append(
            f.CaseOpened(
                id=f"open-{case_id}",
                at=at(opened),
                source="cc",
                case_id=case_id,
                call_id="call-0",
                account_id=draw(account),
                barcode=draw(barcode),
                fault_level=draw(st.sampled_from(["L1", "L3", "other", "complaint"])),
            )
        )
        for j in range(draw(st.integers(0, 5))):
            kind = SLA_STEPS[draw(st.sampled_from(sorted(SLA_STEPS)))]
            when = at(opened + draw(st.sampled_from([0, 10, 30, 60, 120, 400, 60 * 24 * 15])))
            out.append(kind(id=f"sla-{case_id}-{j}", at=when, source="cc", case_id=case_id))
    for customer in draw(st.sets(st.sampled_from(["K1", "K2"]))):
        out.append(
            f.CustomerAssigned(
                id=f"assign-{customer}",
                at=at(draw(minute)),
                source="crm",
                customer_id=customer,
                company_id=draw(st.sampled_from(["C1", "C2"])),
            )
        )
    return out
