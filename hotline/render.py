"""How the CLI shows things to a person: rich tables, times on the line's calendar.

Whatever came from outside (ids, notes, reasons, file names, what the operator typed) goes through
`safe` before it is printed: rich markup in it is shown as written, never interpreted (`[/x]` would
raise), and control characters (ANSI escapes, newlines, bidi overrides) are shown as escapes, so data
can neither crash the CLI nor rewrite the operator's terminal.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Protocol

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.phone import for_people
from privacy.reveal import Revealer
from projections.audit import AuditRow
from projections.explain import Explanation
from projections.standing import Standing
from projections.view import Snapshot
from schemas.derived import AdmissionDecision

# Long ids and paths stay on one line, for grep and for logs; `:name:` in data stays text, not an emoji.
console = Console(soft_wrap=True, emoji=False)
err_console = Console(soft_wrap=True, emoji=False, stderr=True)

#: C0, DEL, C1, line and paragraph separators, bidi embeddings, overrides and isolates.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


# A sealed log's pseudonyms are shown in clear where output leaves the process (hotline.sealing).
_revealer: Revealer | None = None


def reveal_with(revealer: Revealer | None) -> None:
    global _revealer
    _revealer = revealer


def safe(value: object) -> str:
    """`value` as inert text for a rich console: markup escaped, control characters as `\\x1b`."""
    text = str(value) if _revealer is None else _revealer.text(str(value))
    return escape(_UNPRINTABLE.sub(_escape_char, text))


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Refusal(Protocol):
    file: str
    line: int
    field: str | None
    reason: str


def rejections(
    rejected: Sequence[Refusal], limit: int = 20, where: str = "", total: int | None = None
) -> None:
    """The first refused lines, one each: file:line, field, reason. `total`: how many there are, when
    `rejected` holds only the first of them."""
    for r in rejected[:limit]:
        console.print(
            f"[yellow]rejected[/] {safe(r.file)}:{r.line} field {safe(r.field or '-')}: {safe(r.reason)}"
        )
    total = len(rejected) if total is None else total
    if total > limit:
        console.print(f"... and {total - limit} more{where}")


def when(t: datetime | None, tz: tzinfo) -> str:
    """A time on the line's calendar with its offset, so that nobody reads it in their own zone."""
    if t is None:
        return "for ever"
    local = t.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + local.isoformat()[-6:]  # "+08:00" (isoformat's offset)


def day(t: datetime | None, tz: tzinfo) -> str:
    """The date alone, for tables whose header names the zone once (`zone`)."""
    return "for ever" if t is None else t.astimezone(tz).strftime("%Y-%m-%d")


def zone(tz: tzinfo) -> str:
    """The zone's name for a header ("Asia/Shanghai"), or its offset when it has no name."""
    return getattr(tz, "key", None) or datetime.now(tz).strftime("%z")


def decision(d: AdmissionDecision, tz: tzinfo, recorded: bool = True) -> None:
    verdict = "[bold green]ADMITTED[/]" if d.admitted else "[bold red]REFUSED[/]"
    record = f"decision {safe(d.id)}" if recorded else "dry run: not recorded"
    console.print(
        f"{verdict}  account {safe(d.request.account_id)} from {safe(for_people(d.request.number))}"
        f" at {when(d.at, tz)}"
        f"  (policy {safe(d.policy_version)}, {record})"
    )
    for r in d.reasons:
        console.print(f"  - [yellow]{safe(r.code)}[/]: {safe(r.detail)}")


def as_json(obj: object) -> None:
    """Machine-readable output (`--json`): indented JSON on stdout, as msgspec encodes it."""
    document = msgspec.json.format(msgspec.json.encode(obj), indent=2)
    if _revealer is not None:
        document = _revealer.json(document.decode()).encode()
    sys.stdout.buffer.write(document + b"\n")


def audit_row(row: AuditRow, tz: tzinfo) -> None:
    """A recorded decision, then what the line would answer now for the same request."""
    decision(row.decision, tz)
    verdict = "[green]admitted[/]" if row.now_admitted else "[red]refused[/]"
    console.print(f"  now: {verdict}")
    for r in row.now_reasons:
        console.print(f"    - [yellow]{safe(r.code)}[/]: {safe(r.detail)}")


def state(snap: Snapshot, tz: tzinfo, limit: int = 10) -> None:
    in_force = [e.penalty for e in snap.blacklist if e.status == "in force"]
    # subjects, not entries: a company with two overlapping penalties is one company
    by_kind = Counter(kind for kind, _ in {(p.subject_kind, p.subject) for p in in_force})
    console.print(
        f"[bold]State as of {when(snap.as_of, tz) if snap.as_of else 'the end of the log'}[/]"
        f" (policy {safe(snap.policy_version)})"
    )
    console.print(
        f"Blacklisted now: {by_kind['account']} accounts, {by_kind['number']} numbers, "
        f"{by_kind['company']} companies"
    )
    table = Table(
        "subject", "rule", "from", "until", title=f"Blacklist in force (latest {limit}; dates {zone(tz)})"
    )
    for p in sorted(in_force, key=lambda p: p.at, reverse=True)[:limit]:
        shown = for_people(p.subject) if p.subject_kind == "number" else p.subject
        subject, rule = safe(f"{p.subject_kind} {shown}"), safe(p.rule)
        table.add_row(subject, rule, day(p.at, tz), day(p.end(), tz))
    console.print(table)
    rules = Counter(v.rule for v in snap.violations if v.annulled_at is None)
    table = Table("rule", "confirmed violations", title="Violations")
    for rule, n in sorted(rules.items()):
        table.add_row(safe(rule), str(n))
    console.print(table)
    hot = [c for c in snap.company_counters if c.in_rolling_year >= 2]
    console.print(f"Company counters with 2+ occurrences in the rolling year: {len(hot)}")
    permanent = [t for t in snap.certificate_tallies if t.all_revoked_at]
    console.print(
        f"Revoked certificates on the public notice list: {len(snap.public_notices)}; "
        f"accounts with every certificate revoked for ever: {len(permanent)}"
    )
    plans = Counter(p.status for p in snap.rectification_plans)
    console.print(f"Rectification plans: {safe(dict(sorted(plans.items())))}")
    stopped = sum(1 for c in snap.cases if c.support_stopped)
    console.print(
        f"Cases: {len(snap.cases)}, support stopped on {stopped}; open suspicions: "
        f"{len(snap.open_suspicions)}; anomalies: {len(snap.anomalies)}"
    )
    response = [
        f"{safe(a.fault_level)} {a.ratio:.0%}"
        for a in snap.sla_attainment
        if a.company_id is None and a.target == "response" and a.ratio is not None
    ]
    console.print(
        f"First-reply attainment: {', '.join(response) or 'none settled'}; "
        f"SLA breaches: {len(snap.sla_breaches)}"
    )
    tiers = Counter(", ".join(t.eligible) or "none" for t in snap.priority_tiers)
    console.print(f"Companies by priority tier: {safe(dict(sorted(tiers.items())))}")


def explanation(e: Explanation, tz: tzinfo) -> None:
    status = "[red]blacklisted[/]" if e.blacklisted else "[green]not blacklisted[/]"
    shown = for_people(e.subject) if e.subject_kind == "number" else e.subject
    subject = safe(f"{e.subject_kind} {shown}")
    console.print(f"[bold]{subject}[/] — {status}" + ("" if e.known else " (unknown)"))
    for link in e.chain:  # plain lines, not a tree: ids are long and must not be cropped
        console.print(
            f"  {when(link.at, tz)}  [cyan]{safe(link.kind)}[/] {safe(link.id)}  {safe(link.detail)}"
            f"  [dim]({safe(link.status)}, policy {safe(link.policy_version)})[/]"
        )
        if link.causes:
            console.print(f"      [dim]caused by {safe(', '.join(link.causes))}[/]")


def _subject(kind: str, subject: str) -> str:
    return safe(f"{kind} {for_people(subject) if kind == 'number' else subject}")


def standing(s: Standing, tz: tzinfo, indent: str = "") -> None:
    """Blacklisted or not at the as-of time, until when (the union of the periods), why, what lifts it."""
    unknown = "" if s.known else " (not on the log)"
    if not s.blacklisted:
        console.print(
            f"{indent}[bold]{_subject(s.subject_kind, s.subject)}[/]{unknown}: [green]not blacklisted[/]"
        )
    else:
        console.print(
            f"{indent}[bold]{_subject(s.subject_kind, s.subject)}[/]{unknown}: [red]blacklisted[/]"
            + (
                f" until {when(s.until, tz)}"
                if s.until
                else " for ever"
                if s.subject_kind != "person"
                else ""
            )
        )
    for r in s.reasons:
        console.print(
            f"{indent}  because {safe(r.rule)} (violation {safe(r.violation_id)}): {safe(r.penalty_id)}"
            f" from {when(r.start, tz)} until {when(r.until, tz)}"
            f"  [dim]({safe(r.status)}, policy {safe(r.policy_version)})[/]"
        )
    for way in s.lifted_by:
        shown = f"time, at {when(s.until, tz)}" if way.startswith("time:") else safe(way)
        console.print(f"{indent}  lifted by: {shown}")
    if s.all_certificates_revoked_at is not None:
        console.print(
            f"{indent}  every certificate revoked for ever at {when(s.all_certificates_revoked_at, tz)}"
            " (three revoked): the line refuses this account whatever the blacklist says"
        )
    for linked in s.linked:
        standing(linked, tz, indent + "  ")
