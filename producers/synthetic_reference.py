"""Reference data of the synthetic line: companies, engineer accounts and certificates, ratings, and
the installed base with each customer's partner of record (seed 004 tiers)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from producers.synthetic_data import (
    BRANDS,
    CALLCENTRE,
    CITIES,
    DAY,
    MODELS,
    PREFIX,
    PROBLEMS,
    REASSIGNED,
    TIER_PLANS,
    TRADES,
    Company,
    Device,
    Engineer,
)
from schemas import facts as f
from schemas.facts import Fact


class Reference:
    """The stream being built, and its reference data: companies, accounts, certificates, ratings and
    the installed base with its partners of record. `rng` drives the rule-bearing stream; `svc` (seeded
    apart) the service-level and installed-base facts, so adding those never moved a scenario."""

    def __init__(self, seed: int, start: datetime, months: int) -> None:
        self.rng, self.n = random.Random(seed), 0
        self.svc = random.Random(f"synthetic-service-{seed}")
        self.bulk = 0  # devices of the large installed bases (their barcodes have their own range)
        self.start = start.astimezone(UTC)
        self.end = self.start + timedelta(days=round(30.44 * months))
        self.facts: list[Fact] = []
        self.companies: list[Company] = []
        self.engineers: list[Engineer] = []
        self.free: list[Company] = []  # companies no scenario has used yet, so company counters stay apart
        self.actors: set[str] = set()  # accounts taken by scenarios: they make no ordinary calls
        self.ends: dict[str, list[datetime]] = {}  # customer -> warranty ends of its devices

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
        self.ends.setdefault(customer, []).append(installed + years * 365 * DAY)
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

    # --- partners of record and the large installed bases (seed 004 tiers) ----------------------------
    def installed_base(self) -> None:
        """Every customer gets its partner of record; a few companies get a large installed base under
        warranty (TIER_PLANS), and a few customers move to another partner during the period."""
        svc = self.svc
        for co in self.companies:
            registered = self.start - 1600 * DAY  # every company is registered before this
            for customer in co.sites:
                at = registered + svc.randint(1, 900) * DAY + timedelta(seconds=svc.randrange(1800, 36000))
                self.emit(f.CustomerAssigned, at, customer_id=customer, company_id=co.id)
        order = svc.sample(self.companies, len(self.companies))
        planned = 0
        for share, low, high in TIER_PLANS:
            count = max(1, round(share * len(order)))
            for co in order[planned : planned + count]:
                self.large_base(co, svc.randint(low, high))
            planned += count
        small = [c for c in order[planned:] if c.sites]
        for co in small:
            for customer in co.sites:
                if svc.random() < REASSIGNED and len(small) > 1:
                    to = svc.choice([c for c in small if c is not co])
                    at = self.start + svc.randrange((self.end - self.start).days) * DAY
                    at += timedelta(seconds=svc.randrange(1800, 36000))
                    self.emit(f.CustomerAssigned, at, customer_id=customer, company_id=to.id)

    def in_warranty(self, co: Company) -> int:
        return sum(end > self.end for customer in co.sites for end in self.ends.get(customer, ()))

    def large_base(self, co: Company, units: int) -> None:
        """Devices of the company's customers until `units` of them are under warranty at the end; some
        bought with a short warranty have run out of it, as in any installed base."""
        svc, have = self.svc, self.in_warranty(co)
        customers = sorted(co.sites)
        while have < units:
            self.bulk += 1
            customer = svc.choice(customers)
            line = svc.choice(co.lines)
            installed = self.start - svc.randint(20, 1000) * DAY - timedelta(seconds=svc.randrange(86400))
            end = installed + svc.choice((1, 3, 3, 5, 5, 5)) * 365 * DAY
            self.emit(
                f.DeviceInstalled,
                installed,
                barcode=f"2103{self.bulk:010d}",
                product_model=svc.choice(MODELS[line]),
                product_line=line,
                customer_id=customer,
                site_id=svc.choice(co.sites[customer]),
                warranty_end=end,
            )
            self.ends.setdefault(customer, []).append(end)
            have += end > self.end
