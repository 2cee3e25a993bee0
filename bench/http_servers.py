"""The servers of bench/http_admission.py (each in a child process) and how the driver starts them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from access.roles import Role
from access.tokens import Principal, TokenStore

OUT = Path(__file__).parent / "out"
TOKENS = OUT / "bench-tokens.db"
BARE_BODY = b'{"admitted":true,"reasons":[]}'
SCRIPT = Path(__file__).with_name("http_admission.py")  # the children run the script's --serve


async def bare_app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The floor: an ASGI app that answers every request with a fixed JSON body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BARE_BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BARE_BODY})


def serve(kind: str, port: int, facts_file: Path | None, record: str | None, tokens: Path | None) -> None:
    import uvicorn

    if kind == "bare":
        app = bare_app
    elif kind == "log":
        from consumers.api import create_app
        from consumers.api.embedded_source import EmbeddedSource, LogRecorder
        from hotline.opening import load

        assert record is not None  # for this kind, the log file
        store = TokenStore.for_server(tokens)
        source = EmbeddedSource(Path(record), load(None))
        app = create_app(source, store, LogRecorder(Path(record)))  # type: ignore[assignment]
    else:
        from consumers.api import DecisionPublisher, create_app
        from consumers.replica import Replica, freeze_long_lived
        from domain.policy import load_policy
        from schemas.facts import AnyFact

        assert facts_file is not None
        facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
        recorder = None
        if record:
            from consumers.kafka_log import ensure_topics

            ensure_topics(ns=record)
            recorder = DecisionPublisher(None, record)
        store = AllowAll(tokens) if kind == "noauth" else TokenStore.for_server(tokens)
        app = create_app(Replica.from_facts(facts, load_policy()), store, recorder)  # type: ignore[assignment]
        freeze_long_lived()  # as a Kafka-fed replica does once it has caught up
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class AllowAll(TokenStore):
    """The no-auth stand-in: every token is the bench's router (no hash, no lookup, no file look)."""

    principal = Principal("bench", "bench", Role.ROUTER)

    def authenticate(self, token: str) -> Principal | None:
        return self.principal


def build_log(facts_file: Path) -> Path:
    """The same facts on an embedded log (made once, in bench/out)."""
    from storage.log import EmbeddedLog

    path = facts_file.with_suffix(".log.db")
    if not path.exists():
        from schemas.facts import AnyFact

        facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
        with EmbeddedLog(path.with_suffix(".tmp")) as log:
            log.append(facts)
        path.with_suffix(".tmp").rename(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def router_token() -> str:
    """A router token in a store of the bench's own (bench/out, never in the repository)."""
    OUT.mkdir(exist_ok=True)
    with TokenStore(TOKENS, create=True) as store:
        return store.create(Role.ROUTER, "bench")[1]


def start(kind: str, facts_file: Path, record: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, str(SCRIPT), "--serve", kind, "--port", str(port), "--facts-file", str(facts_file)]
    cmd += ["--tokens", str(TOKENS)]
    if record:
        cmd += ["--record-namespace", record]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    url = f"http://127.0.0.1:{port}"
    return proc, wait_ready(proc, url, "/ready" if kind != "bare" else "/", f"the {kind} server")


def wait_ready(proc: subprocess.Popen[bytes], url: str, path: str, name: str) -> str:
    """`url` once `path` answers 200 (up to 5 minutes: a replica is filled first); exits if not."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"{name} did not come up")
