"""Tokens of every role in a fresh token store, for tests of the HTTP apps."""

from __future__ import annotations

from pathlib import Path

from access.roles import Role
from access.tokens import TokenStore


class Credentials:
    def __init__(self, directory: Path) -> None:
        self.store = TokenStore(directory / "tokens.db", create=True)
        self.tokens = {role: self.store.create(role, f"test {role}")[1] for role in Role}

    def headers(self, role: Role, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}", **extra}

    @property
    def router(self) -> dict[str, str]:
        return self.headers(Role.ROUTER)
