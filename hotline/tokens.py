"""`hotline tokens`: make, list and revoke the bearer tokens of the HTTP servers.

The token itself is printed once, by `create`, and never stored: the store keeps its SHA-256 hash
(access.tokens). Add to the CLI with `app.add_typer(tokens, name="tokens")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from access.roles import Role
from access.tokens import TokenRecord, TokenStore, TokenStoreError, check_name

tokens = typer.Typer(
    no_args_is_help=True,
    help="Bearer tokens of `hotline serve` and `hotline ingest-server` (stored hashed).",
)
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--tokens",
        envvar="HOTLINE_TOKENS",
        help="The token store (default hotline-tokens.db in the working directory).",
        show_default=False,
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _open(path: Path | None, create: bool = False) -> TokenStore:
    try:
        return TokenStore(path, create=create)
    except TokenStoreError as err:
        _fail(str(err))
    raise AssertionError("unreachable")


def _when(record: TokenRecord) -> str:
    return "-" if record.revoked is None else record.revoked.isoformat()


@tokens.command()
def create(
    role: Annotated[Role, typer.Option("--role", help="What the token may do (docs/security.md).")],
    name: Annotated[str, typer.Option("--name", help="Who or what holds it (default: the role).")] = "",
    store: StoreOption = None,
) -> None:
    """Make a token; it is printed once, on the last line, and cannot be shown again."""
    try:
        check_name(name or role.value)
    except TokenStoreError as err:
        _fail(str(err))
    with _open(store, create=True) as opened:
        try:
            record, token = opened.create(role, name)
        except TokenStoreError as err:
            _fail(str(err))
        typer.echo(f"token {record.id} ({record.name}, role {record.role}) in {opened.path}")
        typer.echo("keep it now, it is not shown again:", err=True)
        typer.echo(token)


@tokens.command()
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (see `list`).")],
    store: StoreOption = None,
) -> None:
    """Revoke a token: the servers refuse it from the next request on."""
    with _open(store) as opened:
        try:
            record = opened.revoke(token_id)
        except TokenStoreError as err:
            _fail(str(err))
        typer.echo(f"token {record.id} ({record.name}, role {record.role}) revoked at {_when(record)}")


@tokens.command("list")
def list_tokens(store: StoreOption = None) -> None:
    """Every token: id, name, role, created, revoked (never the token itself)."""
    with _open(store) as opened:
        records = opened.records()
    typer.echo(f"{'id':<8}  {'role':<19}  {'created':<25}  {'revoked':<25}  name")
    for r in records:
        typer.echo(f"{r.id:<8}  {r.role.value:<19}  {r.created.isoformat():<25}  {_when(r):<25}  {r.name}")
