"""Showing a sealed log's pseudonyms to people: each is replaced by its clear value, or by ERASED once
its person was forgotten. Applied where output leaves the process (the CLI's printing, the API's
responses), so that the projections, their digests and the recorded decisions stay pseudonymous."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from privacy.pseudonyms import ANY_PSEUDONYM

ERASED = "[erased]"
#: Pseudonyms -> clear values (None: erased), e.g. storage.keystore.KeyStore.reveal.
Lookup = Callable[[Iterable[str]], Mapping[str, str | None]]


class Revealer:
    """Caches what it looked up: a view names the same few subjects many times."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._known: dict[str, str | None] = {}

    def _values(self, text: str) -> dict[str, str | None]:
        wanted = {m.group() for m in ANY_PSEUDONYM.finditer(text)}
        if missing := wanted - self._known.keys():
            self._known.update(self._lookup(missing))
        return self._known

    def text(self, text: str) -> str:
        """Plain text with its pseudonyms shown."""
        if not _may_hold(text):  # the common case: nothing to look up
            return text
        known = self._values(text)
        return ANY_PSEUDONYM.sub(lambda m: known.get(m.group()) or ERASED, text)

    def json(self, document: str) -> str:
        """A JSON document with its pseudonyms shown: each clear value escaped as JSON string content."""
        if not _may_hold(document):
            return document
        known = self._values(document)
        return ANY_PSEUDONYM.sub(lambda m: json.dumps(known.get(m.group()) or ERASED)[1:-1], document)


def _may_hold(text: str) -> bool:
    return "+000" in text or "person-" in text or "text-" in text
