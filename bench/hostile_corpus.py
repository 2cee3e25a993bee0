"""The corpora of bench/hostile.py: valid synthetic facts, and the same count with hostile lines mixed in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import msgspec

from domain.references import ENTITY_KEYS
from producers.synthetic import generate
from schemas.codec import fact_to_json
from schemas.facts import Fact


def hostile(valid: list[Fact], huge_mb: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(placed anywhere, placed after every valid line): (label, line) pairs."""
    calls = [f for f in valid if type(f).__name__ == "CallReceived"]
    account = next(f for f in valid if type(f).__name__ == "AccountOpened")
    certificate = next(f for f in valid if type(f).__name__ == "CertificateGranted")
    call = msgspec.json.decode(fact_to_json(calls[0]))
    now = datetime.now(UTC)
    n = iter(range(10**6))

    def line(**changes: object) -> bytes:
        return msgspec.json.encode({**call, "id": f"hostile-{next(n)}", **changes})

    def deep(depth: int) -> bytes:
        return line(problem="X").replace(b'"X"', b"[" * depth + b"]" * depth)

    def ref(fact: Fact, **changes: object) -> bytes:
        body = msgspec.json.decode(fact_to_json(fact))
        return msgspec.json.encode({**body, "id": f"hostile-{next(n)}", **changes})

    def at(t: datetime) -> bytes:
        return line(at=t.isoformat(), ended_at=None)

    big = {f"k{i}": i for i in range(200_000)}
    anywhere = [
        ("nested 65 deep", deep(65)),
        ("nested 100k deep", deep(100_000)),
        ("bare 100k [", b"[" * 100_000),
        ("bare 50k {", b'{"a":' * 50_000),
        ("nested in a string (fine JSON, unknown field)", line(x="[" * 100_000)),
        (f"huge line {huge_mb} MiB", line(problem="p" * (huge_mb << 20))),
        ("200k unknown keys", line(**big)),
        ("ESC in id", line(id="evil-\x1b[31m")),
        ("newline in account", line(account_id="eng-000915\nX")),
        ("C1 in barcode", line(barcode="2102\x85")),
        ("DEL in site", line(stated_site="site\x7f")),
        ("raw NUL in string", line(problem="Z").replace(b'"Z"', b'"a\x00b"')),
        ("raw 0xff", line(problem="Z").replace(b'"Z"', b'"\xff\xfe"')),
        ("overlong UTF-8", line(problem="Z").replace(b'"Z"', b'"\xc0\xaf"')),
        ("surrogate bytes", line(problem="Z").replace(b'"Z"', b'"\xed\xa0\x80"')),
        ("lone surrogate escape", line(problem="Z").replace(b'"Z"', b'"\\ud800"')),
        ("BOM first", b"\xef\xbb\xbf" + line()),
        ("account int", line(account_id=123)),
        ("at true", line(at=True)),
        ("v string", line(v="2")),
        ("v 10**400", line(problem="Z").replace(b'"Z"', b"1" * 400).replace(b'"problem"', b'"v2"')),
        ("at 1e999", line(at="Z").replace(b'"Z"', b"1e999")),
        ("null line", b"null"),
        ("array line", b"[]"),
        ("string line", b'"fact"'),
        ("number line", b"42"),
        ("truncated", line()[:40]),
        ("empty object", b"{}"),
        ("unknown field", line(evil=1)),
        ("__proto__", line(__proto__={"admin": True})),
        ("unknown type", line(type="drop.table")),
        ("no type", msgspec.json.encode({k: v for k, v in call.items() if k != "type"})),
        ("duplicate key id", line()[:-1] + b',"id":"hostile-dupkey"}'),
        ("id 129 chars", line(id="i" * 129)),
        ("year 1 at +08:00", line(at="0001-01-01T00:00:00+08:00", ended_at=None)),
        ("year 9999 at -08:00", line(at="9999-12-31T23:59:59-08:00", ended_at=None)),
        ("Feb 30", line(at="2025-02-30T00:00:00Z", ended_at=None)),
        ("no offset", line(at="2025-01-06T00:00:00", ended_at=None)),
        ("year 10000", line(at="+10000-01-01T00:00:00Z", ended_at=None)),
        ("10 years ahead", at(now + timedelta(days=3650))),
        ("2 days ahead (skew 1 d)", at(now + timedelta(days=2))),
        ("1970", at(datetime(1970, 1, 1, tzinfo=UTC))),
        ("1999-12-31 (epoch 2000)", at(datetime(1999, 12, 31, tzinfo=UTC))),
        ("ends before it starts", line(ended_at="2025-01-06T00:00:00Z")),
        ("unknown account", line(account_id="eng-NOBODY")),
        ("unknown certificate account", ref(certificate, account_id="eng-NOBODY")),
        ("unknown company", ref(account, account_id="eng-hostile", company_id="co-NOBODY")),
        ("ok: unknown barcode on a call (the line's answer, by design)", line(barcode="NO-SUCH")),
        ("number letters", line(number="call me maybe")),
        ("number 2 chars", line(number="12")),
        ("number 40 digits", line(number="1" * 40)),
        ("number parentheses", line(number="+86 (130) 4426")),
        ("number only +", line(number="+")),
    ]
    last = [(f"ok: re-send of {f.id}", fact_to_json(f)) for f in valid[:3]]
    for f in valid[3:6]:
        body = msgspec.json.decode(fact_to_json(f))
        body["at"] = "2024-12-31T00:00:00Z"
        last.append((f"same id, other body {f.id}", msgspec.json.encode(body)))
    return anywhere, last


def corpora(huge_mb: int) -> tuple[list[bytes], list[bytes], list[Fact], dict[int, str]]:
    """clean lines, hostile lines (the same count), the valid facts of the hostile corpus, and
    hostile line number -> label."""
    facts = generate(seed=3, companies=20, engineers=200, months=1)
    anywhere, last = hostile(facts, huge_mb)
    rng = random.Random(3)
    droppable = [i for i, f in enumerate(facts) if type(f) not in ENTITY_KEYS]
    dropped = set(rng.sample(droppable, len(anywhere) + len(last)))
    kept = [f for i, f in enumerate(facts) if i not in dropped]
    lines: list[tuple[str | None, bytes]] = [(None, fact_to_json(f)) for f in kept[: -len(last)]]
    for label, raw in anywhere:
        lines.insert(rng.randrange(len(lines) + 1), (label, raw))
    lines += [(None, fact_to_json(f)) for f in kept[-len(last) :]] + list(last)
    labels = {i: label for i, (label, _) in enumerate(lines, 1) if label is not None}
    return [fact_to_json(f) for f in facts], [raw for _, raw in lines], kept, labels
