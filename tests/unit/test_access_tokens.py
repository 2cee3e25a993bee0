"""The token store, the roles' fact types, and `hotline tokens`."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from access.roles import Role, may_post
from access.tokens import Principal, TokenStore, TokenStoreError
from hotline.tokens import tokens
from schemas.facts import TAG_OF


def tags(role: Role) -> set[str]:
    return {TAG_OF[t] for t in may_post(role)}


JUDGEMENTS = {
    "violation.confirmed",
    "violation.dismissed",
    "violation.annulled",
    "penalty.lifted",
    "warning.issued",
    "rectification.accepted",
    "case.support_stopped",
}


def test_who_may_post_what() -> None:
    assert tags(Role.STAFF) == JUDGEMENTS | {"violation.reported"}
    assert not tags(Role.PRODUCER_CRM) & (JUDGEMENTS | {"violation.reported", "call.received"})
    assert {"company.registered", "account.opened", "device.installed"} <= tags(Role.PRODUCER_CRM)
    assert not tags(Role.PRODUCER_CALLCENTRE) & (JUDGEMENTS | {"account.opened", "company.registered"})
    assert {"call.received", "case.opened", "violation.reported", "barcode.codes"} <= tags(
        Role.PRODUCER_CALLCENTRE
    )
    for role in (Role.ROUTER, Role.READER, Role.AUDITOR):
        assert tags(role) == set()


def test_tokens_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    with TokenStore(path, create=True) as store:
        record, token = store.create(Role.PRODUCER_CRM, "crm feed")
        other, _ = store.create(Role.READER)
        assert token.startswith("hlt_") and len(token) == 4 + 43
        assert store.authenticate(token) == Principal(record.id, "crm feed", Role.PRODUCER_CRM)
        assert store.authenticate(token + "x") is None and store.authenticate("") is None
        assert other.name == "reader"
        store.revoke(record.id)
        assert store.authenticate(token) is None
        assert [(r.id, r.revoked is not None) for r in store.records()] == [
            (record.id, True),
            (other.id, False),
        ]
        with pytest.raises(TokenStoreError, match="no token with id"):
            store.revoke("nope")
    raw = path.read_bytes()
    assert token.encode() not in raw
    assert hashlib.sha256(token.encode()).hexdigest().encode() in raw
    assert path.stat().st_mode & 0o077 == 0  # the owner's only


@pytest.mark.parametrize("content", [b"not a database at all, just text" * 100, None])
def test_a_bad_store_is_one_clear_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "tokens.db"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(TokenStoreError, match=str(path)):
        TokenStore.for_server(path)


def test_the_cli_shows_the_token_once(tmp_path: Path) -> None:
    runner = CliRunner()
    store = ["--tokens", str(tmp_path / "t.db")]
    made = runner.invoke(tokens, ["create", "--role", "producer:crm", "--name", "crm feed", *store])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    token_id = made.stdout.split()[1]
    assert token.startswith("hlt_")
    listed = runner.invoke(tokens, ["list", *store])
    assert listed.exit_code == 0 and token not in listed.output
    assert token_id in listed.output and "producer:crm" in listed.output and "crm feed" in listed.output
    revoked = runner.invoke(tokens, ["revoke", token_id, *store])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with TokenStore(tmp_path / "t.db") as opened:
        assert opened.authenticate(token) is None
    for args, message in [
        (["revoke", "nope", *store], "no token with id 'nope'"),
        (["create", "--role", "reader", "--name", "[red]x\x1b", *store], "name"),
        (["list", "--tokens", str(tmp_path / "none.db")], "hotline tokens create"),
    ]:
        failed = runner.invoke(tokens, args)
        assert failed.exit_code == 2 and message in failed.output, failed.output
        assert "Traceback" not in failed.output
    bad_role = runner.invoke(tokens, ["create", "--role", "admin", *store])
    assert bad_role.exit_code != 0 and "hlt_" not in bad_role.output


def test_a_revocation_by_another_process_counts_within_the_recheck(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    server = TokenStore(path, create=True, recheck_s=0.05)
    record, token = server.create(Role.ROUTER)
    assert server.authenticate(token) is not None
    with TokenStore(path) as cli:  # `hotline tokens revoke` in another process
        cli.revoke(record.id)
        _, later = cli.create(Role.READER)
    time.sleep(0.1)
    assert server.authenticate(token) is None
    assert server.authenticate(later) is not None
    path.unlink()  # a store deleted under a running server: nobody gets in
    time.sleep(0.1)
    assert server.authenticate(later) is None
    server.close()
