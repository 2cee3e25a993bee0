"""`hotline demo`: a synthetic stream through the real ingest path, then what the rules made of it."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from rich.progress import Progress

from consumers.embedded import Hotline
from domain.admission import admit_call
from hotline import render
from producers.ingest import ingest_files
from producers.rejects_file import RejectsFile
from producers.synthetic import generate
from projections.explain import explain
from projections.state import State
from projections.view import Snapshot, digest, snapshot
from schemas.codec import fact_to_json
from schemas.derived import CallRequest
from schemas.facts import CallReceived

#: Lines a careless integrator might send; the demo shows how they are refused and nothing else is lost.
BAD_LINES = [
    b'{"type": "call.received", "id": "bad-1", "at": "2025-02-30T10:00:00+08:00", "source": "callcentre"}',
    b'{"type": "coffee.ordered", "id": "bad-2", "at": "2025-02-03T10:00:00+08:00", "source": "callcentre"}',
    b'{"type": "account.opened", "id": "bad-3", "at": "2025-02-03T10:00:00+08:00", "source": "crm", '
    b'"account_id": 42, "company_id": "C-0001", "person_id": "P-x"}',
    b"{not json",
]


def run_demo(log_path: Path, seed: int, companies: int, engineers: int, months: int) -> None:
    console = render.console
    for stale in (log_path, Path(f"{log_path}-wal"), Path(f"{log_path}-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    facts = generate(seed=seed, companies=companies, engineers=engineers, months=months)
    source = log_path.with_suffix(".facts.jsonl")
    with source.open("wb") as out:
        for i, fact in enumerate(facts):
            out.write(fact_to_json(fact) + b"\n")
            if i == len(facts) // 2:
                out.write(b"\n".join(BAD_LINES) + b"\n")
    console.print(
        f"Generated {len(facts):,} facts for {companies} companies and {engineers} engineers over "
        f"{months} months into {source} ({time.perf_counter() - started:.1f}s)"
    )

    hl = Hotline.open(log_path)
    rejects = source.with_name(source.name + ".rejects.jsonl")
    rejected = RejectsFile(rejects, [str(source)])  # as `hotline ingest` writes it
    with rejected, Progress(console=console, transient=True) as bar:
        task = bar.add_task("ingesting", total=source.stat().st_size)
        report = ingest_files(hl.log, [source], lambda n: bar.advance(task, n), refused=rejected.add)
    console.print(f"Ingested {report.appended:,} facts; {rejected.count} bad lines refused (see {rejects}):")
    for r in rejected.first():
        console.print(f"  line {r.line}, field {r.field or '-'}: {r.reason}")

    as_of = max(f.at for f in facts)
    t0 = time.perf_counter()
    state = hl.state(as_of)
    took = time.perf_counter() - t0
    snap = snapshot(state, as_of)
    console.print(f"\nFolded the log in {took:.2f}s ({len(facts) / took:,.0f} facts/s).\n")
    render.state(snap, hl.policy.tz)

    _show_examples(hl, state, snap, as_of)
    console.print(f"\nDigest of the state as of {as_of.isoformat()}: {digest(snap)}")
    console.print(
        f"Try: hotline state --log {log_path} --as-of {as_of.date()}   |   "
        f"hotline replay --log {log_path} --as-of {as_of.isoformat()}"
    )


def _show_examples(hl: Hotline, state: State, snap: Snapshot, as_of: datetime) -> None:
    console = render.console
    rules = Counter(v.rule for v in snap.violations if v.annulled_at is None)
    console.print(f"\nEvery rule fired: {len(rules)} of 12 rule ids have confirmed violations.")
    company = next(
        (
            p.subject
            for p in state.penalties.values()
            if p.subject_kind == "company" and p.annulled_at is None
        ),
        None,
    )
    account = next((a for a in state.permanent), None) or next(
        (p.subject for p in state.penalties.values() if p.subject_kind == "account"), None
    )
    for kind, subject in (("account", account), ("company", company)):
        if subject:
            console.print(f"\n[bold]hotline explain {kind} {subject}[/]")
            render.explanation(explain(state, kind, subject, as_of), hl.policy.tz)
    console.print("\n[bold]Admission checks at the end of the stream[/]")
    calls = [f for f in hl.log.read() if isinstance(f, CallReceived)]
    for call in (calls[0], calls[len(calls) // 2], calls[-1]):
        request = CallRequest(
            account_id=call.account_id,
            number=call.number,
            barcode=call.barcode,
            stated_model=call.stated_model,
            stated_site=call.stated_site,
            at=as_of,
        )
        reasons = admit_call(state, request, as_of, hl.policy)
        verdict = "[green]ADMITTED[/]" if not reasons else "[red]REFUSED[/]"
        console.print(
            f"{verdict} account {call.account_id} from {call.number} barcode {call.barcode}: "
            + ("; ".join(f"{r.code} ({r.detail})" for r in reasons) or "all clear")
        )
