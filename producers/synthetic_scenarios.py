"""Scenarios of the synthetic line: each rule of RULES.md fires, with the combinations it describes
(company repeats, three strikes, maintenance, clemency, annulment, codes deadlines, black key events
and rectification plans, detector suspicions confirmed and dismissed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from producers.synthetic_data import DAY, MODELS, PROBLEMS, Company, Device, Engineer
from producers.synthetic_traffic import Traffic
from schemas import facts as f


class Scenarios(Traffic):
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
