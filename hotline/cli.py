"""`hotline`: ingest facts, ask the line's questions, explain, replay, and a demo. Embedded log by default.

The commands live in small modules (hotline/commands_*.py); this one only puts them together, in
the order `--help` lists them. Every command runs under `hotline.errors.guarded`: a mistake is one
line on stderr and a non-zero exit (2; `ingest` exits 3 when it refused lines), never a stack trace.
"""

from __future__ import annotations

import typer

from hotline.broker import broker
from hotline.commands_audit import audit, whatif
from hotline.commands_embedded import check, demo, explain, ingest, replay, schema, state
from hotline.commands_kafka import ingest_server, produce, serve, topics, worker
from hotline.commands_privacy import forget, keys_app
from hotline.commands_report import report
from hotline.commands_status import status
from hotline.commands_verify import verify
from hotline.tokens import tokens

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Governance of the partner support line: rules, blacklist, admission, audit.",
)

for command in (
    ingest,
    state,
    status,
    check,
    explain,
    replay,
    verify,
    audit,
    whatif,
    schema,
    demo,
    topics,
    produce,
    worker,
    serve,
):
    app.command()(command)
app.command("ingest-server")(ingest_server)

# Sub-command groups.
app.add_typer(broker, name="broker")
app.add_typer(tokens, name="tokens")
app.add_typer(report, name="report")
app.add_typer(forget, name="forget")
app.add_typer(keys_app, name="keys")


def main() -> None:
    app()
