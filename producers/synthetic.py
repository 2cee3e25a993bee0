"""A deterministic synthetic fact stream for `hotline demo`: a realistic partner line where every rule fires.

The bulk is ordinary traffic: companies rated per product line, engineer accounts and certificates, an
installed base, admissible calls and their cases. Scenarios sprinkled over the period make each rule of
RULES.md fire and exercise the combinations: company repeats, three strikes, maintenance, clemency,
annulment, codes deadlines, black key events and rectification plans, detector suspicions.
Only `random.Random(seed)` is used, so the same arguments give the same list. Every time is in UTC.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import facts as f
from schemas.facts import Fact

MODELS = {
    "switch": ("S5735-L24T4X", "S6730-H48X6C", "CE6881-48S6CQ"),
    "router": ("AR6140-16G4XG", "AR6280", "NE40E-X8A"),
    "wlan": ("AP6760-21", "AP5761-11", "AC6508"),
    "security": ("USG6525F", "USG6630E", "FW9560-AC"),
    "server": ("SRV2288H-V6", "SRV1288H-V6", "SRV5288-V7"),
    "storage": ("OS5310-V6", "OS6800-V6", "OS2200-V3"),
}
PROBLEMS = (
    "port flapping on uplink",
    "high CPU after upgrade",
    "fails to boot after firmware upgrade",
    "license not active",
    "fan alarm on chassis",
    "power supply module fault",
    "configuration lost on reboot",
    "intermittent packet loss",
    "cannot log in to web console",
    "disk failure alarm",
    "SNMP traps missing",
    "memory usage keeps growing",
    "VPN tunnel drops every hour",
    "clients cannot roam between APs",
    "RAID rebuild stuck",
    "BGP session flapping",
)
CITIES = (
    "Beijing",
    "Shanghai",
    "Shenzhen",
    "Guangzhou",
    "Hangzhou",
    "Chengdu",
    "Wuhan",
    "Nanjing",
    "Xi'an",
    "Suzhou",
    "Tianjin",
    "Chongqing",
    "Xiamen",
    "Jinan",
    "Hefei",
    "Changsha",
)
BRANDS = (
    "Jiahe",
    "Xinda",
    "Bochuang",
    "Tengyun",
    "Hongtu",
    "Zhiyuan",
    "Lianchuang",
    "Anxin",
    "Shengshi",
    "Yuntong",
    "Huaxun",
    "Ruitai",
    "Dingsheng",
    "Kaiyuan",
    "Mingde",
    "Haoyu",
)
TRADES = (
    "Network Technology",
    "Information Systems",
    "Digital Technology",
    "Systems Integration",
    "Data Services",
)
LEVELS = ("L1", "L2", "L3", "L4", "consultation", "other", "complaint")
LEVEL_WEIGHTS = (4, 10, 30, 20, 26, 7, 3)
CALLCENTRE = (
    f.CallReceived,
    f.CaseOpened,
    f.CaseTransferred,
    f.CaseClosed,
    f.ViolationReported,
    f.ViolationConfirmed,
    f.ViolationDismissed,
    f.BarcodeCodesResult,
    f.WarningIssued,
)
PREFIX = {f.CallReceived: "call", f.ViolationReported: "rpt"}
DAY = timedelta(days=1)


@dataclass(eq=False)
class Device:
    barcode: str
    model: str
    line: str
    customer: str
    site: str
    problems: tuple[str, ...]  # two recurring problems, so that ordinary traffic never looks like reuse


@dataclass(eq=False)
class Company:
    id: str
    lines: list[str]
    sites: dict[str, list[str]]  # customer -> sites
    engineers: list[Engineer] = field(default_factory=list)
    rating_end: dict[str, datetime] = field(default_factory=dict)
    blocked: list[tuple[datetime, datetime]] = field(default_factory=list)  # company blacklist, as foreseen


@dataclass(eq=False)
class Engineer:
    account: str
    company: Company
    person: str
    number: str
    certs: dict[str, str] = field(default_factory=dict)  # product line -> latest certificate
    granted: list[tuple[str, str, datetime, datetime]] = field(default_factory=list)  # line, id, from, to
    cert_end: dict[str, datetime] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)
    twin: bool = False  # the person holds two accounts


class _Stream:
    def __init__(self, seed: int, start: datetime, months: int) -> None:
        self.rng, self.n = random.Random(seed), 0
        self.start = start.astimezone(UTC)
        self.end = self.start + timedelta(days=round(30.44 * months))
        self.facts: list[Fact] = []
        self.companies: list[Company] = []
        self.engineers: list[Engineer] = []
        self.free: list[Company] = []  # companies no scenario has used yet, so company counters stay apart
        self.actors: set[str] = set()  # accounts taken by scenarios: they make no ordinary calls

    def emit(self, cls: type[Fact], at: datetime, **kw: Any) -> Any:
        fact = cls(
            id=f"{PREFIX.get(cls, 'evt')}-{len(self.facts):07d}",
            at=at,
            source="callcentre" if cls in CALLCENTRE else "crm",
            **kw,
        )
        self.facts.append(fact)
        return fact

    def uid(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:06d}"

    def phone(self, prefix: str = "13") -> str:
        """A valid mobile number in E.164: engineers' on 13x, customers', friends' and home phones on
        other prefixes. No mobile range starts 154, so those go to 199, which no other prefix makes."""
        d = f"{(int(self.uid('tel')[4:]) * 48271 + 7) % 10**9:09d}"
        head = f"{prefix}{d[0]}"
        return f"+86{'199' if head == '154' else head}{d[1:]}"

    def when(self, margin_days: int = 0) -> datetime:
        """A weekday instant, 08:30-18:00 on the Asia/Shanghai clock, `margin_days` before the period ends."""
        day = self.start + self.rng.randrange(max(1, (self.end - self.start).days - margin_days)) * DAY
        day += (7 - day.weekday()) * DAY if day.weekday() >= 5 else timedelta()
        return day + timedelta(seconds=self.rng.randrange(1800, 36000))

    def after(self, t: datetime, lo_hours: float, hi_hours: float) -> datetime:
        return t + timedelta(seconds=self.rng.randrange(int(lo_hours * 3600), int(hi_hours * 3600)))

    # --- reference data: companies, accounts, certificates, the installed base, ratings ------------
    def reference(self, companies: int, engineers: int) -> None:
        rng = self.rng
        for i in range(companies):
            co = Company(f"co-{i + 1:04d}", rng.sample(list(MODELS), rng.randint(2, 4)), {})
            for _ in range(rng.randint(3, 10)):
                co.sites[self.uid("cust")] = [self.uid("site") for _ in range(rng.randint(1, 3))]
            name = f"{rng.choice(CITIES)} {rng.choice(BRANDS)} {rng.choice(TRADES)} Co., Ltd."
            # before any of its accounts (opened 700-1500 days before): references hold in event time
            registered = self.start - rng.randint(1600, 3000) * DAY
            self.emit(f.CompanyRegistered, registered, company_id=co.id, name=name)
            self.companies.append(co)
        for i in range(engineers):
            self.engineer(self.companies[i] if i < companies else rng.choice(self.companies))
        for co in self.companies:
            self.ratings(co)
        self.free = rng.sample(self.companies, len(self.companies))

    def engineer(self, co: Company) -> None:
        rng = self.rng
        other = rng.choice(self.engineers) if self.engineers and rng.random() < 0.01 else None
        eng = Engineer(
            self.uid("eng"),
            co,
            other.person if other else self.uid("psn"),
            other.number if other else self.phone(),
        )
        if other is not None:  # a second account for the same person, on the same phone
            other.twin = eng.twin = True
        self.emit(
            f.AccountOpened,
            self.start - rng.randint(700, 1500) * DAY,
            account_id=eng.account,
            company_id=co.id,
            person_id=eng.person,
        )
        for line in rng.sample(co.lines, rng.randint(1, 2)):
            end = self.certify(eng, line, self.start - rng.randint(400, 700) * DAY, rng.choice((730, 1095)))
            if end < self.end and rng.random() < 0.6:  # renewed before it expires; the others lapse
                self.certify(eng, line, end - rng.randint(5, 40) * DAY, 730)
        eng.devices = [self.install(co, rng.choice(list(eng.certs))) for _ in range(rng.randint(3, 7))]
        co.engineers.append(eng)
        self.engineers.append(eng)

    def certify(self, eng: Engineer, line: str, at: datetime, days: int) -> datetime:
        eng.certs[line], eng.cert_end[line] = self.uid("cert"), at + days * DAY
        eng.granted.append((line, eng.certs[line], at, eng.cert_end[line]))
        self.emit(
            f.CertificateGranted,
            at,
            certificate_id=eng.certs[line],
            account_id=eng.account,
            product_line=line,
            valid_until=eng.cert_end[line],
        )
        return eng.cert_end[line]

    def install(self, co: Company, line: str, in_warranty: bool | None = None) -> Device:
        rng = self.rng
        customer = rng.choice(list(co.sites))
        dev = Device(
            f"2102{int(self.uid('bc')[3:]):010d}",
            rng.choice(MODELS[line]),
            line,
            customer,
            rng.choice(co.sites[customer]),
            tuple(rng.sample(PROBLEMS, 2)),
        )
        installed = self.start - rng.randint(60, 2000) * DAY
        years = rng.choice((1, 3, 5)) if in_warranty is None else (8 if in_warranty else 0.1)
        self.emit(
            f.DeviceInstalled,
            installed,
            barcode=dev.barcode,
            product_model=dev.model,
            product_line=line,
            customer_id=customer,
            site_id=dev.site,
            warranty_end=installed + years * 365 * DAY,
        )
        return dev

    def ratings(self, co: Company) -> None:
        rng = self.rng
        for line in co.lines:
            certified = sum(line in e.certs for e in co.engineers)
            if certified < 2:
                continue  # too few certified engineers: the company is not rated for this line
            certs = tuple(g[1] for e in co.engineers for g in e.granted if g[0] == line)
            stars, at = min(certified, rng.choice((2, 2, 3, 3, 4))), self.start - rng.randint(40, 330) * DAY
            while True:
                self.emit(
                    f.RatingIssued,
                    at,
                    company_id=co.id,
                    product_line=line,
                    stars=stars,
                    applied_on=at - 30 * DAY,
                    certificate_ids=certs,
                )
                co.rating_end[line] = at + 365 * DAY
                if co.rating_end[line] >= self.end or rng.random() < 0.3:
                    break  # in force to the end, or lapses mid-stream
                at = co.rating_end[line] - rng.randint(1, 20) * DAY  # re-issued before it expires

    # --- ordinary traffic ----------------------------------------------------------------------------
    def admissible(self, eng: Engineer, dev: Device, t: datetime) -> bool:
        co = eng.company
        return (
            eng.cert_end.get(dev.line, t) > t
            and co.rating_end.get(dev.line, t) > t
            and not any(a <= t < b for a, b in co.blocked)
        )

    def call(self, eng: Engineer, dev: Device, t: datetime, problem: str | None = None, **kw: Any) -> Any:
        fields = {
            "account_id": eng.account,
            "number": eng.number,
            "barcode": dev.barcode,
            "stated_model": dev.model,
            "stated_site": dev.site,
            "problem": problem or self.rng.choice(dev.problems),
            "ended_at": t + timedelta(seconds=self.rng.randrange(180, 2400)),
        }
        return self.emit(f.CallReceived, t, **(fields | kw))

    def open_case(self, call: f.CallReceived, close: bool = True) -> str:
        case_id, opened = self.uid("case"), self.after(call.at, 0.02, 0.2)
        self.emit(
            f.CaseOpened,
            opened,
            case_id=case_id,
            call_id=call.id,
            account_id=call.account_id,
            barcode=call.barcode,
            fault_level=self.rng.choices(LEVELS, LEVEL_WEIGHTS)[0],
            problem=call.problem,
        )
        if close and (closed := self.after(opened, 0.5, 240)) < self.end:
            self.emit(f.CaseClosed, closed, case_id=case_id)
        return case_id

    def interaction(self, eng: Engineer) -> None:
        rng = self.rng
        dev, t = rng.choice(eng.devices), self.when()
        ok = self.admissible(eng, dev, t)
        if not ok and rng.random() < 0.7:
            return  # engineers mostly know when the line will refuse them
        call = self.call(eng, dev, t)
        if not ok or rng.random() < 0.45:
            return
        case_id = self.open_case(call)
        if rng.random() < 0.25:
            self.call(eng, dev, self.after(t, 2, 72), call.problem, case_id=case_id)
        mate = rng.choice(eng.company.engineers)
        if rng.random() < 0.05 and mate is not eng and dev.line in mate.certs:
            self.emit(
                f.CaseTransferred,
                self.after(t, 1, 4),
                case_id=case_id,
                to_account_id=mate.account,
                note="handed to a certified colleague",
            )

    def traffic(self, per_month: float) -> None:
        months = (self.end - self.start).days / 30.44
        for eng in self.engineers:
            if eng.account not in self.actors:
                for _ in range(round(self.rng.uniform(0.5, 1.5) * per_month * months)):
                    self.interaction(eng)

    # --- scenario helpers ----------------------------------------------------------------------------
    def company(self, actors: int = 1) -> list[Engineer]:
        """Engineers of one company for a scenario; a company no scenario has used yet when there is one."""
        for co in self.free + self.companies:
            pool = [e for e in co.engineers if not e.twin and e.account not in self.actors][:actors]
            if len(pool) == actors:
                self.free = [c for c in self.free if c is not co]
                for eng in pool:
                    self.actors.add(eng.account)
                    eng.devices = [d for d in eng.devices if self.admissible(eng, d, self.end)] or eng.devices
                return pool
        raise ValueError("too few companies and engineers for the scenarios")

    def report(
        self,
        rule: str,
        eng: Engineer,
        call: f.CallReceived | None = None,
        at: datetime | None = None,
        **kw: Any,
    ) -> Any:
        at = at or self.after(call.at if call else self.start, 30, 96)
        refs = {"number": call.number, "call_id": call.id} if call else {"number": eng.number}
        return self.emit(f.ViolationReported, at, rule=rule, account_id=eng.account, **(refs | kw))

    def judge(self, violation_id: str, t: datetime, confirmed: bool, serious: bool | None = None) -> datetime:
        at = self.after(t, 2, 96)
        if confirmed:
            self.emit(f.ViolationConfirmed, at, violation_id=violation_id, serious=serious)
        else:
            self.emit(f.ViolationDismissed, at, violation_id=violation_id, note="explained by the engineer")
        return at

    def rectify(self, plan_id: str, t: datetime, outcome: str) -> None:
        if outcome != "overdue":
            submitted = self.emit(f.RectificationSubmitted, self.after(t, 72, 600), plan_id=plan_id)
            if outcome == "accepted":
                self.emit(f.RectificationAccepted, self.after(submitted.at, 24, 200), plan_id=plan_id)

    def block(self, co: Company, at: datetime, until: datetime | None = None) -> None:
        co.blocked.append((at, until or at + 183 * DAY))

    # --- scenarios -----------------------------------------------------------------------------------
    def scenarios(self) -> None:
        for confirmed in (True, False):
            self.shared_account(confirmed)
            self.reuse(confirmed)
            self.case_reuse(confirmed)
            self.impersonation(staff_warning=confirmed)
        for outcome in ("dismissed", "provided", "refused", "deadline", "open"):
            self.mismatch(self.company()[0], self.when(20), outcome)
        for on_report, on_confirm in ((True, None), (False, None), (None, True)):
            self.irregular(on_report, on_confirm)
        self.mismatch_repeat()
        self.swap_repeat(3)
        self.swap_repeat(2, annul_last=True)
        self.swap_out_of_warranty()
        self.leak_evasion_lift()
        self.abusive()
        self.cert_fraud((False, False, False))
        self.cert_fraud((True,))
        self.handoff()

    def shared_account(self, confirmed: bool) -> None:
        """One account on two numbers at once; once blacklisted, the person's other account calls: evasion."""
        (eng,) = self.company()
        first = self.call(eng, eng.devices[0], self.when(30))
        second = self.call(eng, eng.devices[-1], self.after(first.at, 0.02, 0.045), number=self.phone("15"))
        at = self.judge(f"shared-account:{second.id}", second.at, confirmed)
        if confirmed:
            alias = Engineer(self.uid("eng"), eng.company, eng.person, eng.number)
            self.emit(
                f.AccountOpened,
                self.start - 200 * DAY,
                account_id=alias.account,
                company_id=eng.company.id,
                person_id=eng.person,
            )
            self.certify(alias, eng.devices[0].line, self.start - 190 * DAY, 1095)
            self.block(eng.company, self.call(alias, eng.devices[0], self.after(at, 24, 300)).at)

    def mismatch(self, eng: Engineer, t: datetime, outcome: str) -> datetime:
        """A call with a wrong site or model: a typo dismissed, or confirmed and the codes provided, refused
        or never sent (the 7-day deadline), or left open."""
        rng, dev, case_id = self.rng, eng.devices[0], None
        if rng.random() < 0.5:  # on a follow-up call of an open case: confirmation stops support on it
            case_id = self.open_case(self.call(eng, dev, t, dev.problems[0]), close=False)
            t = self.after(t, 20, 96)
        sites = [s for ss in eng.company.sites.values() for s in ss if s != dev.site]
        wrong = (
            {"stated_site": rng.choice(sites)}
            if rng.random() < 0.6
            else {"stated_model": rng.choice([m for m in MODELS[dev.line] if m != dev.model])}
        )
        call = self.call(eng, dev, t, dev.problems[0], case_id=case_id, **wrong)
        vid = f"barcode-mismatch:{call.id}"
        if outcome == "open":
            return t
        at = self.judge(vid, call.at, outcome != "dismissed")
        if outcome in ("provided", "refused"):
            self.emit(f.BarcodeCodesResult, self.after(at, 4, 150), violation_id=vid, result=outcome)
        return at

    def mismatch_repeat(self) -> None:
        first, second = self.company(2)
        at = self.mismatch(first, self.when(50), "refused")
        self.block(first.company, self.mismatch(second, self.after(at, 48, 500), "provided"))

    def swap(
        self, eng: Engineer, t: datetime, in_warranty: bool, reported: datetime | None = None
    ) -> tuple[str, datetime, Device]:
        """Device A's barcode used to ask about device B. Always reported under the in-warranty rule: the
        installed base decides."""
        dev_b = self.install(eng.company, eng.devices[0].line, in_warranty)
        call = self.call(eng, eng.devices[0], t)
        case_id = self.open_case(call, close=False)
        rpt = self.report(
            "BARCODE-SWAP-IN-WARRANTY",
            eng,
            call,
            reported,
            case_id=case_id,
            device_barcode=dev_b.barcode,
            occurred_at=call.at,
            note=f"about {dev_b.barcode}",
        )
        return rpt.id, self.judge(rpt.id, rpt.at, True), dev_b

    def swap_repeat(self, n: int, annul_last: bool = False) -> None:
        """n swaps in one company, found out afterwards: n - 1 company penalties, or the last one annulled."""
        calls = [self.when(70)]
        while len(calls) < n:
            calls.append(self.after(calls[-1], 24, 96))
        reported, confirmed = calls[-1], []
        for eng, t in zip(self.company(n), calls, strict=True):
            reported = self.after(reported, 30, 200)
            violation_id, at, _ = self.swap(eng, t, True, reported)
            confirmed.append(at)
        if annul_last:
            self.emit(
                f.ViolationAnnulled,
                self.after(at, 48, 400),
                violation_id=violation_id,
                reason="device B was a spare of the same customer",
            )
        else:
            self.block(eng.company, min(confirmed[1:]))

    def swap_out_of_warranty(self) -> None:
        (eng,) = self.company()
        _, at, dev_b = self.swap(eng, self.when(40), False)
        agreed = self.emit(
            f.MaintenanceAgreed,
            self.after(at, 200, 700),
            company_id=eng.company.id,
            customer_id=dev_b.customer,
        )
        self.block(eng.company, at, agreed.at)

    def reuse(self, confirmed: bool) -> None:
        (eng,) = self.company()
        dev, t = eng.devices[0], self.when(60)
        for problem in (*dev.problems, next(p for p in PROBLEMS if p not in dev.problems)):
            call = self.call(eng, dev, t, problem)
            self.open_case(call)
            t = self.after(t, 48, 400)
        self.judge(f"barcode-reuse:{call.id}", call.at, confirmed)

    def case_reuse(self, confirmed: bool) -> None:
        (eng,) = self.company()
        dev = eng.devices[0]
        first = self.call(eng, dev, self.when(30), dev.problems[0])
        case_id = self.open_case(first)
        again = self.call(eng, dev, self.after(first.at, 24, 240), dev.problems[1], case_id=case_id)
        self.judge(f"case-reuse:{again.id}", again.at, confirmed, serious=True)

    def irregular(self, serious_on_report: bool | None, serious_on_confirm: bool | None) -> None:
        (eng,) = self.company()
        call = self.call(eng, eng.devices[0], self.when(20))
        rpt = self.report(
            "OTHER-IRREGULAR",
            eng,
            call,
            serious=serious_on_report,
            note="demanded remote help without giving any information",
        )
        self.judge(rpt.id, rpt.at, True, serious=serious_on_confirm)

    def impersonation(self, staff_warning: bool) -> None:
        """Posing as a customer: warned first (by staff, or by the first confirmation), then 6 months."""
        (eng,) = self.company()
        t = self.when(60)
        if staff_warning:
            self.emit(
                f.WarningIssued,
                t,
                account_id=eng.account,
                rule="CUSTOMER-IMPERSONATION",
                note="called the customer line as the customer",
            )
        for _ in range(1 if staff_warning else 2):
            call = self.call(eng, self.rng.choice(eng.devices), self.after(t, 24, 300), channel="customer")
            rpt = self.report("CUSTOMER-IMPERSONATION", eng, call, note="posed as the customer")
            t = self.judge(rpt.id, rpt.at, True)

    def leak_evasion_lift(self) -> None:
        """A customer calls in on an engineer's account; the blacklisted engineer calls from their own number
        (evasion); clemency lifts the leak penalties later, and the evasion still counts."""
        (eng,) = self.company()
        leak = self.call(eng, eng.devices[0], self.when(40), number=self.phone("18"))
        rpt = self.report("ACCOUNT-LEAKED", eng, leak, note="customer called in with the engineer's account")
        evasion = self.call(eng, eng.devices[-1], self.after(self.judge(rpt.id, rpt.at, True), 48, 300))
        self.block(eng.company, evasion.at)
        lifted = self.after(evasion.at, 72, 300)
        for kind in ("account", "number"):
            self.emit(f.PenaltyLifted, lifted, penalty_id=f"{rpt.id}/{kind}", reason="clemency after appeal")

    def abusive(self) -> None:
        """Permanent; then a colleague opens the person a new account without permission: evasion."""
        (eng,) = self.company()
        call = self.call(eng, eng.devices[0], self.when(50))
        rpt = self.report("ABUSIVE-CONDUCT", eng, call, note="abusive language towards the line engineer")
        at = self.judge(rpt.id, rpt.at, True)
        self.rectify(f"{rpt.id}/plan", at, "accepted")
        opened = self.emit(
            f.AccountOpened,
            self.after(at, 100, 600),
            account_id=self.uid("eng"),
            company_id=eng.company.id,
            person_id=eng.person,
            authorised=False,
        )
        self.block(eng.company, opened.at)

    def cert_fraud(self, exams: tuple[bool, ...]) -> None:
        """Certificate exams after CERT-FRAUD reports. Three failures revoke every certificate for ever and
        make three black key events, whose plans end accepted, submitted and overdue."""
        (eng,) = self.company()
        certs = [cert for _, cert, since, until in eng.granted if since < self.start and until > self.end]
        for line in [line for line in MODELS if line not in eng.certs][: max(0, len(exams) - len(certs))]:
            self.certify(eng, line, self.start - self.rng.randint(100, 300) * DAY, 1095)
            certs.append(eng.certs[line])
        t = self.when(30 * len(exams))
        for k, (cert, passed) in enumerate(zip(certs, exams, strict=False)):
            rpt = self.report("CERT-FRAUD", eng, at=t, certificate_id=cert, note="skills do not match")
            t = self.after(rpt.at, 48, 240)
            self.emit(f.CertificateExamResult, t, certificate_id=cert, account_id=eng.account, passed=passed)
            if not passed:
                self.rectify(f"{rpt.id}/plan", t, ("accepted", "submitted", "overdue")[k])
            if k == 1:
                self.block(eng.company, t)  # the second black key event within a year
            t = self.after(t, 72, 300)

    def handoff(self) -> None:
        (eng,) = self.company()
        call = self.call(eng, eng.devices[0], self.when(20))
        case_id = self.open_case(call, close=False)
        self.emit(
            f.CaseTransferred,
            self.after(call.at, 1, 24),
            case_id=case_id,
            to_account_id=None,
            note="handed to a subcontractor without an engineer account",
        )
        rpt = self.report("CASE-HANDOFF-UNCERTIFIED", eng, call, case_id=case_id)
        self.judge(rpt.id, rpt.at, True)


def generate(
    seed: int = 7,
    companies: int = 300,
    engineers: int = 3000,
    months: int = 4,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
) -> list[Fact]:
    """The stream in event-time order: reference data, one round of scenarios per 40 companies, and
    ordinary traffic (about five calls per engineer and month)."""
    stream = _Stream(seed, start, months)
    stream.reference(companies, engineers)
    for _ in range(max(1, companies // 40)):
        stream.scenarios()
    stream.traffic(per_month=5.0)
    return sorted(stream.facts, key=lambda fact: fact.at)
