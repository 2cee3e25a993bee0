"""How the CLI shows things to a person: rich tables, times on the line's calendar."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo

from rich.console import Console
from rich.table import Table

from projections.explain import Explanation
from projections.view import Snapshot
from schemas.derived import AdmissionDecision

console = Console(soft_wrap=True)  # long ids and paths stay on one line, for grep and for logs


def when(t: datetime | None, tz: tzinfo) -> str:
    return "for ever" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def decision(d: AdmissionDecision, tz: tzinfo) -> None:
    verdict = "[bold green]ADMITTED[/]" if d.admitted else "[bold red]REFUSED[/]"
    console.print(
        f"{verdict}  account {d.request.account_id} from {d.request.number} at {when(d.at, tz)}"
        f"  (policy {d.policy_version}, decision {d.id})"
    )
    for r in d.reasons:
        console.print(f"  - [yellow]{r.code}[/]: {r.detail}")


def state(snap: Snapshot, tz: tzinfo, limit: int = 10) -> None:
    in_force = [e.penalty for e in snap.blacklist if e.status == "in force"]
    by_kind = Counter(p.subject_kind for p in in_force)
    console.print(
        f"[bold]State as of {when(snap.as_of, tz) if snap.as_of else 'the end of the log'}[/]"
        f" (policy {snap.policy_version})"
    )
    console.print(
        f"Blacklisted now: {by_kind['account']} accounts, {by_kind['number']} numbers, "
        f"{by_kind['company']} companies"
    )
    table = Table("subject", "rule", "from", "until", title=f"Blacklist in force (latest {limit})")
    for p in sorted(in_force, key=lambda p: p.at, reverse=True)[:limit]:
        table.add_row(f"{p.subject_kind} {p.subject}", p.rule, when(p.at, tz)[:10], when(p.end(), tz)[:10])
    console.print(table)
    rules = Counter(v.rule for v in snap.violations if v.annulled_at is None)
    table = Table("rule", "confirmed violations", title="Violations")
    for rule, n in sorted(rules.items()):
        table.add_row(rule, str(n))
    console.print(table)
    hot = [c for c in snap.company_counters if c.in_rolling_year >= 2]
    console.print(f"Company counters with 2+ occurrences in the rolling year: {len(hot)}")
    permanent = [t for t in snap.certificate_tallies if t.all_revoked_at]
    console.print(
        f"Revoked certificates on the public notice list: {len(snap.public_notices)}; "
        f"accounts with every certificate revoked for ever: {len(permanent)}"
    )
    plans = Counter(p.status for p in snap.rectification_plans)
    console.print(f"Rectification plans: {dict(sorted(plans.items()))}")
    stopped = sum(1 for c in snap.cases if c.support_stopped)
    console.print(
        f"Cases: {len(snap.cases)}, support stopped on {stopped}; open suspicions: "
        f"{len(snap.open_suspicions)}; anomalies: {len(snap.anomalies)}"
    )


def explanation(e: Explanation, tz: tzinfo) -> None:
    status = "[red]blacklisted[/]" if e.blacklisted else "[green]not blacklisted[/]"
    console.print(f"[bold]{e.subject_kind} {e.subject}[/] — {status}" + ("" if e.known else " (unknown)"))
    for link in e.chain:  # plain lines, not a tree: ids are long and must not be cropped
        console.print(
            f"  {when(link.at, tz)}  [cyan]{link.kind}[/] {link.id}  {link.detail}"
            f"  [dim]({link.status}, policy {link.policy_version})[/]"
        )
        if link.causes:
            console.print(f"      [dim]caused by {', '.join(link.causes)}[/]")
