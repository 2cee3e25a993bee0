"""The synthetic line's vocabulary and model: product lines and models, problems, names, fault levels,
and the companies, engineers and devices the generator keeps track of (producers/synthetic.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas import facts as f

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
    f.CaseResponded,
    f.CaseAwaitingPartner,
    f.CasePartnerReplied,
)
PREFIX = {f.CallReceived: "call", f.ViolationReported: "rpt"}
DAY = timedelta(days=1)

# --- service levels (docs/sla.md): how the line answers, by fault level --------------------------------
#: Share of the cases whose first reply comes at or after the response target (the rest come before it).
LATE = {
    "L1": 0.18,
    "L2": 0.14,
    "L3": 0.09,
    "L4": 0.08,
    "consultation": 0.06,
    "other": 0.05,
    "complaint": 0.12,
}
UNANSWERED = 0.05  # no case.responded: the closing answers the case, or the target is breached
WAITING = 0.12  # cases that wait on the partner once (logs, remote access, a test on site)
WAIT_FIRST = 0.35  # of those, the wait comes before the first reply: the pause moves the due time on
SLOW_COMPLAINT = 0.3  # complaints resolved in 8 to 22 days: some miss the 15 days of running clock
WAIT_NOTES = ("waiting for the device logs", "waiting for remote access", "waiting for a test on site")
REPLY_NOTES = ("engineer called back", "diagnosis sent by mail", "remote session arranged")

# --- the installed base (seed 004 tiers): most partners are small, a few large ones reach a tier ---------
#: (share of companies, lowest, highest units under warranty at the end of the period), largest first.
TIER_PLANS = ((0.03, 1000, 1400), (0.09, 250, 600))
REASSIGNED = 0.02  # customers that move to another partner of record during the period


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
