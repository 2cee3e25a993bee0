"""The verdicts of bench/hostile.py: every valid fact exactly once, refusals by reason, traces."""

from __future__ import annotations

import re
from collections import Counter

from schemas.codec import to_msgpack
from schemas.facts import Fact
from schemas.upcast import same_fact

TRACE = re.compile(r"Traceback|could not be checked|Error:|Exception", re.I)


def exactly_once(rows: list[tuple[str, bytes]], valid: list[Fact]) -> str:
    ids = Counter(i for i, _ in rows)
    body = dict(rows)
    want = {f.id: to_msgpack(f) for f in valid}
    missing = [i for i in want if i not in ids]
    twice = [i for i, c in ids.items() if c > 1]
    other = [i for i in want if i in body and not same_fact(body[i], want[i])]
    extra = [i for i in ids if i not in want]
    ok = not (missing or twice or other)
    return (
        f"{'YES' if ok else 'NO'}: {len(rows):,} records, {len(want):,} valid facts; missing "
        f"{len(missing)}, more than once {len(twice)}, other body {len(other)}; "
        f"records from hostile lines: {extra}"
    )


def by_reason(rejected: list[list[object]], labels: dict[int, str]) -> None:
    reasons = Counter(re.sub(r"\d{2,}", "N", str(r[2]))[:90] for r in rejected)
    print(f"  {len({r[0] for r in rejected})} lines refused; refusals by reason:")
    for reason, count in reasons.most_common():
        print(f"    {count:4d}  {reason}")
    refused = {int(str(r[0])) for r in rejected}
    missed = [label for i, label in labels.items() if i not in refused and not label.startswith("ok:")]
    print(f"  hostile lines NOT refused: {missed or 'none'}")
