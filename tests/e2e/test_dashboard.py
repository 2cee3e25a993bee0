"""The web dashboard in a real headless Chromium, against `hotline serve --log` on a small demo log.

The server runs as the operator starts it (a subprocess of the `hotline` CLI, no broker); the browser
is Debian's /usr/bin/chromium driven by Playwright (its own browser download is never used). When
Chromium is missing the tests FAIL, saying how to install it: a dashboard nobody tested in a browser
is not tested.

Expected values are read off the demo stream by hand (seed 7, 40 companies, 300 engineers, 4 months):
account eng-001378 (person psn-001379, company co-0002) is blacklisted for ever for ABUSIVE-CONDUCT
from 2025-01-26T14:40:48Z, and its number +8613066613987 with it; on 2025-01-31 the same person
called on account eng-003701, so co-0002 is blacklisted for six months for BLACKLIST-EVASION.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.roles import Role
from access.tokens import TokenStore

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
EXAMPLES = ROOT / "docs" / "examples" / "facts.jsonl"
EXAMPLE_FACTS = sum(1 for line in EXAMPLES.read_text().splitlines() if line.strip())
HOTLINE = [sys.executable, "-m", "hotline.cli"] if shutil.which("hotline") is None else ["hotline"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KNOWN_ACCOUNT = "eng-001378"
KNOWN_PERSON = "psn-001379"
KNOWN_NUMBER = "+8613066613987"
BEFORE = "2025-01-20T12:00"  # before the known penalty (2025-01-26)
DURING = "2025-04-01T12:00"


def _hotline() -> list[str]:
    venv = Path(sys.executable).parent / "hotline"
    return [str(venv)] if venv.exists() else HOTLINE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, url: str, log: Path, tokens: dict[Role, str], env: dict[str, str]) -> None:
        self.url = url
        self.log = log
        self.tokens = tokens
        self.env = env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard tests need Debian's Chromium (`apt-get install chromium`)",
            pytrace=False,
        )
    where = tmp_path_factory.mktemp("dashboard")
    log = where / "demo.db"
    store = TokenStore(where / "tokens.db", create=True)
    tokens = {role: store.create(role, f"e2e {role}")[1] for role in (Role.READER, Role.AUDITOR)}
    store.close()
    env = {**os.environ, "HOTLINE_TOKENS": str(where / "tokens.db"), "HOTLINE_LOG": str(log)}
    demo = [*_hotline(), "demo", "--log", str(log), "--companies", "40", "--engineers", "300"]
    subprocess.run(demo, check=True, env=env, cwd=where, capture_output=True, timeout=300)
    with serving(log, env, where) as url:
        yield Served(url, log, tokens, env)


@contextlib.contextmanager
def serving(log: Path, env: dict[str, str], where: Path) -> Iterator[str]:
    """`hotline serve --log` as the operator starts it, ready; its URL."""
    port = _free_port()
    server = subprocess.Popen(
        [*_hotline(), "serve", "--log", str(log), "--port", str(port)],
        env=env,
        cwd=where,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve --log did not get ready: {server.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()  # an open event stream keeps uvicorn's graceful shutdown waiting: then kill
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


@pytest.fixture(scope="module")
def browser_context(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Tab:
    """One page of the browser, signed in, with the console errors it logged (a script refused by the
    Content-Security-Policy is one). Waits are selectors, never `wait_for_function`: Playwright runs
    that with eval() in the page, which the page's policy (no 'unsafe-eval') refuses."""

    def __init__(self, context: object, served: Served, role: Role) -> None:
        self.page = context.new_page()  # type: ignore[attr-defined]
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.failed: list[str] = []  # the console names no URL: these say which request failed
        self.page.on(
            "response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        self.page.goto(served.url + "/")
        self.page.fill("#token", served.tokens[role])
        self.page.click("#login-form button")
        self.page.wait_for_selector("body[data-page]")

    def as_of(self, value: str) -> None:
        before = self.page.get_attribute("body", "data-as-of")
        if self.page.input_value("#as-of") == value:
            return  # already shown
        self.page.fill("#as-of", value)
        self.page.click("#as-of-form button[type=submit]")
        self.page.wait_for_selector(f'body[data-as-of]:not([data-as-of="{before}"])', state="attached")

    def go(self, page: str) -> None:
        self.page.click(f"nav a[href='#{page}']")
        self.page.wait_for_selector(f'body[data-page="{page}"]', state="attached")

    def rows(self, table: str) -> list[str]:
        return [row.inner_text() for row in self.page.query_selector_all(f"#{table} tbody tr")]


@pytest.fixture(scope="module")
def auditor(browser_context: object, served: Served) -> Iterator[Tab]:
    tab = Tab(browser_context, served, Role.AUDITOR)
    yield tab
    tab.page.close()


def test_every_page_loads_without_console_errors(auditor: Tab) -> None:
    auditor.as_of(DURING)
    for page in ("blacklist", "companies", "suspicions", "sla", "quarterly", "charts", "explain", "audit"):
        auditor.go(page)
        assert auditor.page.is_visible(f"#page-{page}")
        assert auditor.page.inner_text("#error") == ""
    assert (auditor.errors, auditor.failed) == ([], [])
    auditor.go("blacklist")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    auditor.page.screenshot(path=str(SCREENSHOTS / "blacklist.png"))


def test_search_finds_a_known_subject_by_account_person_number_and_company(auditor: Tab) -> None:
    auditor.as_of(DURING)
    auditor.go("blacklist")
    everyone = len(auditor.rows("blacklist-table"))
    auditor.page.fill("#search", KNOWN_PERSON)
    found = auditor.rows("blacklist-table")
    # the account and its number, for ever, for the abuse; then the person came back on another
    # account of the same company, so the company is blacklisted for six months for the evasion
    assert len(found) == 3, found
    assert any(KNOWN_ACCOUNT in row and "ABUSIVE-CONDUCT" in row and "for ever" in row for row in found)
    assert any(KNOWN_NUMBER in row for row in found)
    assert any(row.startswith("company\tco-0002") and "BLACKLIST-EVASION" in row for row in found)
    auditor.page.fill("#search", KNOWN_NUMBER)
    assert len(auditor.rows("blacklist-table")) == 1
    auditor.page.fill("#search", "co-0002")
    assert any(KNOWN_ACCOUNT in row for row in auditor.rows("blacklist-table"))
    auditor.page.fill("#search", "")
    assert len(auditor.rows("blacklist-table")) == everyone > 2


def test_time_travel_changes_what_is_shown(auditor: Tab) -> None:
    auditor.go("blacklist")
    auditor.page.fill("#search", KNOWN_ACCOUNT)
    auditor.as_of(BEFORE)
    assert auditor.rows("blacklist-table") == ["none"]  # not yet blacklisted on 2025-01-20
    auditor.as_of(DURING)
    assert any(KNOWN_ACCOUNT in row for row in auditor.rows("blacklist-table"))
    auditor.page.fill("#search", "")


def test_charts_render_marks(auditor: Tab) -> None:
    auditor.as_of(DURING)
    auditor.go("charts")
    page = auditor.page
    page.wait_for_selector("#chart-violations svg .mark-rect path")
    assert page.locator("#chart-violations svg .mark-rect path").count() > 3  # bars: rules x months
    assert page.locator("#chart-blacklist svg .mark-line path").count() == 1
    assert page.locator("#chart-blacklist svg .mark-symbol path").count() > 10  # the points of the line
    assert page.locator("#chart-sla svg .mark-rect path").count() > 0
    assert auditor.errors == []
    page.screenshot(path=str(SCREENSHOTS / "charts.png"), full_page=True)


def test_explain_shows_facts_to_penalties_with_the_policy_version(auditor: Tab) -> None:
    auditor.as_of(DURING)
    auditor.go("explain")
    auditor.page.select_option("#explain-kind", "account")
    auditor.page.fill("#explain-subject", KNOWN_ACCOUNT)
    auditor.page.click("#explain-form button")
    auditor.page.locator("#explain-summary", has_text="eng-").wait_for()
    assert auditor.page.inner_text("#explain-summary") == f"account {KNOWN_ACCOUNT}: blacklisted"
    rows = auditor.rows("explain-table")
    assert any("violation" in row and "ABUSIVE-CONDUCT" in row and "3.0" in row for row in rows), rows
    assert any("penalty" in row and "for ever" in row and "in force" in row for row in rows), rows
    auditor.page.screenshot(path=str(SCREENSHOTS / "explain.png"), full_page=True)


def test_audit_shows_a_recorded_decision_beside_todays_answer(auditor: Tab, served: Served) -> None:
    check = [
        *_hotline(),
        "check",
        "--log",
        str(served.log),
        "--account",
        KNOWN_ACCOUNT,
        "--number",
        KNOWN_NUMBER,
    ]
    check += ["--barcode", "21020000001380", "--model", "X", "--site", "S", "--at", "2025-03-01T12:00"]
    subprocess.run(check, check=True, env=served.env, capture_output=True, timeout=120)
    auditor.as_of(DURING)
    auditor.go("audit")
    rows = auditor.rows("audit-table")
    assert len(rows) == 1, rows
    assert KNOWN_ACCOUNT in rows[0] and "refused: account-blacklisted, number-blacklisted" in rows[0]
    assert rows[0].endswith("no")  # nothing learnt since changes the answer
    auditor.as_of(BEFORE)  # decisions made up to 2025-01-20: none
    assert auditor.rows("audit-table") == ["none"]
    assert auditor.errors == []


def test_chinese_toggle_changes_the_labels(auditor: Tab) -> None:
    page = auditor.page
    auditor.go("blacklist")
    assert page.inner_text("nav a[href='#blacklist']") == "Blacklist"
    page.click("#lang")
    assert page.inner_text("nav a[href='#blacklist']") == "黑名单"
    assert page.inner_text("label[for=as-of]") == "截至"
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.wait_for_selector("#blacklist-table th >> text=原因（规则）")
    page.screenshot(path=str(SCREENSHOTS / "blacklist-zh.png"))
    page.click("#lang")
    assert page.inner_text("nav a[href='#blacklist']") == "Blacklist"


def test_a_reader_may_not_explain(browser_context: object, served: Served) -> None:
    reader = Tab(browser_context, served, Role.READER)
    reader.go("explain")
    reader.page.fill("#explain-subject", KNOWN_ACCOUNT)
    reader.page.click("#explain-form button")
    reader.page.wait_for_selector("#explain-summary:not(:empty)")
    assert reader.page.inner_text("#explain-summary") == "This page needs the auditor or staff role."
    reader.page.close()


def test_an_ingest_arrives_as_a_live_update(auditor: Tab, served: Served) -> None:
    page = auditor.page
    page.click("#now")
    page.wait_for_selector("#live[data-facts]", state="attached")
    before = int(page.get_attribute("#live", "data-facts") or 0)
    ingest = [*_hotline(), "ingest", str(EXAMPLES), "--log", str(served.log)]
    subprocess.run(ingest, check=True, env=served.env, capture_output=True, timeout=120)
    page.wait_for_selector(f'#live[data-facts="{before + EXAMPLE_FACTS}"]', state="attached", timeout=20_000)
    # the page as of now redraws from the new projection: its status line counts the new facts too
    page.locator("#status", has_text=f"{before + EXAMPLE_FACTS} facts").wait_for(timeout=20_000)


def test_first_paint_is_measured(browser_context: object, served: Served) -> None:
    """Printed, never asserted: the figure goes to docs/dashboard.md."""
    tab = Tab(browser_context, served, Role.READER)  # signed in: the next load reads the stored token
    started = time.perf_counter()
    tab.page.reload()
    tab.page.wait_for_selector("body[data-page]")
    wall = time.perf_counter() - started
    timings = tab.page.evaluate(
        """() => ({
            fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
            data: (performance.getEntriesByName('hotline-first-data')[0] || {}).startTime,
            dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        })"""
    )
    print(
        f"\nfirst paint on the demo log: first-contentful-paint {timings['fcp']:.0f} ms, "
        f"DOMContentLoaded {timings['dcl']:.0f} ms, blacklist drawn {timings['data']:.0f} ms "
        f"(wall {wall * 1000:.0f} ms)"
    )
    assert tab.errors == []
    tab.page.close()
