"""`hotline forget person P`: erase a person from a sealed log by destroying their keys (staff only).

The log is not touched: it holds only pseudonyms and ciphertext. What the keys opened (the person's
id, their numbers, notes about them) reads as erased from then on, everywhere the log was copied;
governance is unchanged, because penalties bind the pseudonyms (docs/privacy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from access.roles import Action, may
from access.tokens import TokenStore, TokenStoreError
from consumers.embedded import DEFAULT_LOG
from hotline import render
from hotline.errors import OperatorError, guarded
from hotline.opening import open_log
from hotline.options import KeysOption
from storage.keystore import KeyStore

forget = typer.Typer(no_args_is_help=True, help="Erase a person from a sealed log (staff only).")


def _staff(token: str | None, store: Path | None) -> str:
    """The name of the staff member the token belongs to; OperatorError for anyone else."""
    if not token:
        raise OperatorError("--token: a staff token is required (hotline tokens create --role staff)")
    try:
        with TokenStore(store) as tokens:
            principal = tokens.authenticate(token)
    except TokenStoreError as e:
        raise OperatorError(f"--tokens: {e}") from None
    if principal is None:
        raise OperatorError("--token: unknown or revoked token")
    if not may(principal.role, Action.FORGET):
        raise OperatorError(f"--token: the {principal.role} role may not erase people; staff may")
    return principal.name


keys_app = typer.Typer(no_args_is_help=True, help="A sealed Kafka line's key store (docs/privacy.md).")


@keys_app.command("create")
@guarded
def create(keys: KeysOption = None) -> None:
    """Make a new key store for a sealed Kafka line (a sealed embedded log makes its own: ingest --seal).
    Give it to `produce`, `ingest-server` and `serve` with --keys, and back it up (docs/privacy.md)."""
    if keys is None:
        raise OperatorError("--keys: name the key store to create (or set HOTLINE_KEYS)")
    if keys.exists():
        raise OperatorError(f"--keys {keys}: already exists; a new pepper would split every subject in two")
    KeyStore(keys, create=True).close()
    keys.chmod(0o600)
    render.console.print(f"created the key store {render.safe(keys)}; back it up before the first fact")


def _store(log: Path | None, keys: Path | None) -> tuple[KeyStore, str]:
    """The key store to erase from: a sealed Kafka line's (--keys), else the sealed log's (--log)."""
    if keys is not None and log is None:
        return KeyStore(keys), f"--keys {keys}"
    hl = open_log(log or DEFAULT_LOG, None)
    if hl.keys is None:
        raise OperatorError(f"--log {hl.log.path}: not a sealed log; a clear log cannot erase one person")
    return hl.keys, str(hl.log.path)


@forget.command("person")
@guarded
def person(
    person_id: Annotated[str, typer.Argument(help="The person id, as the CRM gave it.")],
    log: Annotated[
        Path | None,
        typer.Option("--log", envvar="HOTLINE_LOG", help="A sealed embedded log.", show_default=False),
    ] = None,
    keys: KeysOption = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="HOTLINE_TOKEN", help="A staff token.", show_default=False)
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option("--tokens", envvar="HOTLINE_TOKENS", help="The token store.", show_default=False),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do it: erasure cannot be undone.")] = False,
) -> None:
    """Destroy the keys of every account of the person: their personal data is erased for good."""
    by = _staff(token, tokens)
    store, where = _store(log, keys)
    if (when := store.forgotten_at(person_id)) is not None:
        raise OperatorError(f"{person_id!r} was already forgotten on {where} at {when}")
    if not store.knows_person(person_id):
        raise OperatorError(f"no person {person_id!r} on {where}")
    if not yes:
        raise OperatorError("erasure cannot be undone: add --yes to destroy the keys")
    destroyed = store.forget_person(person_id, by)
    render.console.print(
        f"forgot {render.safe(person_id)}: {destroyed} key(s) destroyed by {render.safe(by)}; "
        "their data on the log now reads as erased"
    )
