"""The options several commands share, spelt once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: The largest offset SQLite (and a Kafka offset) can hold: a larger one is refused, naming the option.
MAX_OFFSET = 2**63 - 1

LogOption = Annotated[Path, typer.Option("--log", envvar="HOTLINE_LOG", help="The embedded log file.")]
PolicyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--policy",
        envvar="HOTLINE_POLICY",
        help="A policy pack, or a directory of packs; repeat it for an effective-dated history "
        "(default: version 3.0).",
    ),
]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Event time, e.g. 2025-03-01 or 2025-03-01T09:30+08:00.")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Namespace = Annotated[
    str | None, typer.Option(envvar="HOTLINE_NAMESPACE", help="Topic name prefix (hotline).")
]
Servers = Annotated[str | None, typer.Option(envvar="HOTLINE_KAFKA_BOOTSTRAP", help="host:port[,host:port].")]
StateUpto = Annotated[
    int | None, typer.Option(help="Only what the log held up to this offset.", min=0, max=MAX_OFFSET)
]
ReplayUpto = Annotated[
    int | None, typer.Option(help="Replay only up to this log offset.", min=0, max=MAX_OFFSET)
]
KeysOption = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        envvar="HOTLINE_KEYS",
        help="A sealed line's key store (hotline keys create): personal data sealed, numbers matched as "
        "pseudonyms (docs/privacy.md).",
        show_default=False,
    ),
]
