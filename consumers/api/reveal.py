"""A sealed line's API: questions asked in clear are matched on pseudonyms, answers shown in clear.

The projections behind the API hold pseudonyms only (docs/privacy.md). `Pseudonyms` turns what a
caller sends (a number to admit or to look up) into its pseudonym; `RevealJson`, an ASGI middleware,
shows the pseudonyms of every JSON answer in clear, or as `[erased]` once the person was forgotten.
"""

from __future__ import annotations

import threading
from typing import Any

from privacy.pseudonyms import number_pseudonym
from privacy.reveal import Revealer
from storage.keystore import KeyStore


class Pseudonyms:
    """The key store as the API uses it, from any thread (lookups serialised: they are rare and short)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._lock = threading.Lock()

    def number(self, e164: str) -> str:
        return number_pseudonym(self.keys.pepper, e164)

    def number_asked(self, e164: str, account_id: str) -> str:
        """A number a call asks about: kept under the account's key, so the answer shows it."""
        with self._lock:
            return self.keys.number_asked(e164, account_id)

    def subject(self, kind: str, subject: str) -> str:
        return self.number(subject) if kind == "number" else subject

    def json(self, body: bytes) -> bytes:
        """One answer shown in clear. Nothing is cached across answers: a person forgotten by another
        process is erased from the next answer on."""
        with self._lock:  # the key store's connection, one request at a time
            return Revealer(self.keys.reveal).json(body.decode()).encode()


class RevealJson:
    """Buffers each JSON answer, shows its pseudonyms, and sends it with its new length. Event streams
    and other types pass through untouched (the dashboard reads its data from the JSON routes)."""

    def __init__(self, app: Any, pseudonyms: Pseudonyms) -> None:
        self.app = app
        self.pseudonyms = pseudonyms

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def reveal(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", ()))
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = self.pseudonyms.json(b"".join(chunks))
            kept = [(k, v) for k, v in start.get("headers", ()) if k != b"content-length"]
            await send({**start, "headers": [*kept, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reveal)
