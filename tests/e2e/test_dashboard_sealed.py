"""The dashboard over a sealed log (docs/privacy.md) in a real headless Chromium: the page shows the
numbers in clear, never a pseudonym, and once the person is forgotten, `[erased]`.

From docs/examples/facts.jsonl, by hand: account A-1001 (person P-1) and its number +86 138 0013 8000
are blacklisted for BARCODE-MISMATCH from 2025-03-06 15:00 (+08:00); the number's penalty is lifted
on 2025-04-01 09:00, so on 2025-03-20 both are in force.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from access.roles import Role
from access.tokens import TokenStore
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS, EXAMPLES, Served, Tab, _hotline, serving

DURING = "2025-03-20T12:00"
NUMBER_DIGITS = "8613800138000"
PSEUDONYM = re.compile(r"\+000\d{28}|person-[a-z2-7]{26}|text-[a-z2-7]{26}")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium`", pytrace=False)
    where = tmp_path_factory.mktemp("sealed-dashboard")
    log = where / "sealed.db"
    store = TokenStore(where / "tokens.db", create=True)
    tokens = {role: store.create(role, f"e2e {role}")[1] for role in (Role.AUDITOR, Role.STAFF)}
    store.close()
    env = {**os.environ, "HOTLINE_TOKENS": str(where / "tokens.db"), "HOTLINE_LOG": str(log)}
    env.pop("HOTLINE_KEYS", None)
    ingest = [
        *_hotline(),
        "ingest",
        str(EXAMPLES),
        "--log",
        str(log),
        "--seal",
        "--rejects",
        str(where / "r"),
    ]
    subprocess.run(ingest, check=True, env=env, cwd=where, capture_output=True, timeout=120)
    with serving(log, env, where) as url:
        yield Served(url, log, tokens, env)


@pytest.fixture(scope="module")
def auditor(sealed: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tab]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            tab = Tab(context, sealed, Role.AUDITOR)
            yield tab
        finally:
            context.close()


def _blacklist(tab: Tab) -> list[str]:
    tab.as_of(DURING)
    tab.go("blacklist")
    tab.page.wait_for_selector("#blacklist-table tbody tr")
    return tab.rows("blacklist-table")


def test_the_page_shows_the_number_in_clear_then_erased(auditor: Tab, sealed: Served) -> None:
    rows = _blacklist(auditor)
    assert any("A-1001" in row for row in rows), rows
    assert any(NUMBER_DIGITS in _digits(row) for row in rows), rows
    assert not PSEUDONYM.search(auditor.page.inner_text("body"))

    forget = [*_hotline(), "forget", "person", "P-1", "--log", str(sealed.log), "--yes"]
    done = subprocess.run(
        [*forget, "--token", sealed.tokens[Role.STAFF]],
        env=sealed.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    auditor.page.reload()
    auditor.page.wait_for_selector("body[data-page]")
    rows = _blacklist(auditor)
    assert any("A-1001" in row for row in rows), rows  # the account is still blacklisted: decisions stay
    assert not any(NUMBER_DIGITS in _digits(row) for row in rows), rows
    assert any("[erased]" in row for row in rows), rows
    assert not PSEUDONYM.search(auditor.page.inner_text("body"))
    assert (auditor.errors, auditor.failed) == ([], [])
