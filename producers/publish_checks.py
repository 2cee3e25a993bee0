"""The checks a batch passes before `FactPublisher` sends it, up to the reference check.

1. syntax, schema and the checks a schema cannot express: `producers.validate.parse_lines`
   (lines, `parse_source`) or `semantic_problems` (facts built in code, `check_facts`), times
   normalised to UTC;
2. the producer's role (`ROLES`, `parse_batch`): the CRM producer sends the CRM's facts, the
   call-centre producer the call centre's; role "any" sends every type;
3. ids (`admit_ids`): an id already on the topic (or earlier in the batch) with different content is
   refused; the same fact again is a harmless re-send.

Each fact that passes becomes a `Candidate`: the fact, its record value, and where it came from, so a
later refusal can quote the line as it was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import msgspec

from access.roles import CRM_TYPES, LINE_TYPES
from producers.publish_report import PublishReport
from producers.sources import Source, screen_utf8
from producers.validate import Rejection, parse_lines, semantic_problems
from schemas import facts as f
from schemas.codec import fact_to_json, normalise
from schemas.facts import TAG_OF, Fact
from storage.keystore import KeyStore

#: What each file producer may send: the CRM's reference data, or the rest (calls, cases, reports,
#: judgements) but the line's own admission records; access.roles holds the lists. "any" (a whole
#: log moved to a topic) sends every type.
ROLES: dict[str, frozenset[type[Fact]]] = {
    "crm": CRM_TYPES,
    "callcentre": frozenset(f.FACT_TYPES) - CRM_TYPES - LINE_TYPES,
    "any": frozenset(f.FACT_TYPES),
}

#: One input of a batch: lines read from somewhere, or facts built in code under a name.
BatchSource = Source | tuple[str, Sequence[Fact]]


@dataclass(slots=True)
class Candidate:
    source: str
    line: int
    fact: Fact
    value: bytes  # the record value: the normalised fact's JSON
    lines: list[bytes] | None = None  # the source's lines, to quote the line as it was sent
    first: int = 1  # the number of lines[0]

    def rejection(self, field: str | None, reason: str) -> Rejection:
        raw = (
            self.lines[self.line - self.first].decode("utf-8", "replace").rstrip("\r\n")
            if self.lines
            else self.value.decode()
        )
        return Rejection(file=self.source, line=self.line, field=field, reason=reason, raw=raw)


def as_source(
    items: bytes | str | Iterable[bytes | str] | Iterable[Fact], name: str
) -> Source | tuple[str, list[Fact]]:
    """Lines become a `Source`; facts built in code stay facts (no JSON round trip)."""
    if isinstance(items, bytes | str):  # a whole body rather than its lines
        items = (items.encode() if isinstance(items, str) else items).split(b"\n")
    facts: list[Fact] = []
    lines: list[bytes] = []
    for item in items:
        if isinstance(item, Fact):
            facts.append(item)
        else:
            lines.append(item.encode() if isinstance(item, str) else item)
    if facts and lines:
        raise TypeError("publish() takes JSON lines or facts, not a mix of both")
    return (name, facts) if facts else Source(name, lines)


def parse_source(source: Source) -> tuple[list[tuple[int, Fact]], list[Rejection]]:
    """The facts of a source's lines, with their line numbers, and the refused lines."""
    try:
        return parse_lines(source.lines, source.name, first=source.first)
    except UnicodeDecodeError:
        # msgspec raises this (not a DecodeError) on a line that is not UTF-8: refuse such lines
        # and parse the rest again; the fast path never pays for the check.
        lines = list(source.lines)
        refused = screen_utf8(lines, source.name, source.first)
        parsed, rejected = parse_lines(lines, source.name, first=source.first)
        return parsed, sorted(refused + rejected, key=lambda r: r.line)


def check_facts(facts: Sequence[Fact], name: str) -> tuple[list[tuple[int, Fact]], list[Rejection]]:
    """Facts built in code, numbered from 1: normalised, and refused when a semantic check fails."""
    parsed: list[tuple[int, Fact]] = []
    rejected: list[Rejection] = []
    for line, fact in enumerate(facts, start=1):
        fact = normalise(fact)  # UTC, so the same fact always has the same record value
        problems = semantic_problems(fact)
        raw = fact_to_json(fact).decode()
        rejected += [Rejection(file=name, line=line, field=a, reason=r, raw=raw) for a, r in problems]
        if not problems:
            parsed.append((line, fact))
    return parsed, rejected


def parse_batch(
    sources: Sequence[BatchSource],
    report: PublishReport,
    role: str,
    allowed: frozenset[type[Fact]] | None = None,
    sender: str = "",
) -> list[Candidate]:
    """Parse every source and keep the facts the role (narrowed to `allowed`, the HTTP client's role,
    named `sender`) may send; what is refused goes to `report.rejected`."""
    out: list[Candidate] = []
    types = ROLES[role]
    narrowed = types if allowed is None else types & allowed
    for source in sources:
        lines: list[bytes] | None
        first = 1
        if isinstance(source, Source):
            name, lines, first = source.name, source.lines, source.first
            parsed, rejected = parse_source(source)
            rejected = source.rejected + rejected
        else:
            (name, facts), lines = source, None
            parsed, rejected = check_facts(facts, name)
        report.read += len(parsed) + len({r.line for r in rejected})
        report.rejected += rejected
        for line, fact in parsed:
            c = Candidate(name, line, fact, fact_to_json(fact), lines, first)
            if type(fact) in narrowed:
                out.append(c)
            elif type(fact) in types:
                reason = f"{sender or 'this sender'} may not post {TAG_OF[type(fact)]} facts"
                report.rejected.append(c.rejection("type", reason))
            else:
                reason = f"the {role} producer does not send {TAG_OF[type(fact)]} facts"
                report.rejected.append(c.rejection("type", reason))
    return out


def admit_ids(
    candidates: list[Candidate], report: PublishReport, ids: dict[str, int], facts_topic: str
) -> list[Candidate]:
    """Refuse a fact whose id is already used by a different fact, earlier in the batch or on the
    topic (`ids`: fact id -> hash of its record value there); keep the rest, re-sends included."""
    kept: list[Candidate] = []
    first: dict[str, Candidate] = {}
    for c in candidates:
        fact_id = c.fact.id
        seen = first.get(fact_id)
        if seen is not None and seen.value != c.value:
            where = f"line {seen.line}" + ("" if seen.source == c.source else f" of {seen.source}")
            reason = f"id {fact_id!r} is already used by a different fact ({where})"
            report.rejected.append(c.rejection("id", reason))
        elif seen is None and fact_id in ids and ids[fact_id] != hash(c.value):
            reason = f"id {fact_id!r} is already used by a different fact on {facts_topic}"
            report.rejected.append(c.rejection("id", reason))
        else:
            first.setdefault(fact_id, c)
            kept.append(c)
    return kept


def source_name(source: BatchSource) -> str:
    return source.name if isinstance(source, Source) else source[0]


def fact_of(c: Candidate) -> Fact:
    return c.fact


def sealed_candidates(candidates: list[Candidate], keys: KeyStore) -> list[Candidate]:
    """The candidates as a sealed line publishes them (privacy.sealing), keys stored before they are
    sent. (A fact a sender marked as sealed never gets here: `semantic_problems` refuses it.)"""
    facts = keys.seal_all([c.fact for c in candidates])
    return [replace(c, fact=x, value=fact_to_json(x)) for c, x in zip(candidates, facts, strict=True)]


def withheld(rejection: Rejection) -> Rejection:
    """A refused line as a sealed line's rejects topic keeps it: its hash, not its content (which
    may hold a number or a name, and is kept for ever). The sender still has the line."""
    digest = hashlib.sha256(rejection.raw.encode()).hexdigest()
    return msgspec.structs.replace(rejection, raw=f"[withheld on a sealed line: sha256 {digest}]")
