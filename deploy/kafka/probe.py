#!/usr/bin/env python3
"""Readiness probe for a Kafka cluster, standard library only.

Sends a real ApiVersions request and then a real Metadata request over the
Kafka wire protocol to every address in the bootstrap list (first one that
answers wins) and succeeds only if the cluster reports at least one live
(registered, unfenced) broker.

Usage:
    probe.py [--bootstrap HOST:PORT[,HOST:PORT...]] [--timeout SECONDS] [-q]
             [--sasl-user USER --sasl-password-file FILE [--sasl-mechanism SCRAM-SHA-512]]

With --sasl-user it authenticates first (SaslHandshake v1 + SaslAuthenticate, SCRAM per RFC 5802)
over a SASL_PLAINTEXT listener: a SASL broker answers nothing else before that.

The bootstrap list defaults to $HOTLINE_KAFKA_BOOTSTRAP, then 127.0.0.1:9092.
Exit status: 0 ready, 1 not ready / unreachable, 2 usage error.

Only non-flexible Metadata versions (4..8) are encoded here; the version is chosen
inside the range the broker advertises via ApiVersions (Kafka 4.3.1 advertises
Metadata 0..13; KIP-896 lets 4.x brokers drop pre-2.1 versions of other APIs).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import socket
import struct
import sys
from typing import Any

API_METADATA = 3
API_SASL_HANDSHAKE = 17
API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36
CLIENT_ID = b"hotline-probe"


class ProbeError(Exception):
    pass


class AuthenticationFailed(ProbeError):
    """The broker refused the credentials; `code` is Kafka's error code (58: SASL_AUTHENTICATION_FAILED)."""

    def __init__(self, code: int, message: str | None) -> None:
        super().__init__(f"SASL authentication failed (error code {code}: {message})")
        self.code = code


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ProbeError("connection closed by peer")
        buf.extend(chunk)
    return bytes(buf)


def _request(sock: socket.socket, api_key: int, api_version: int, corr: int, body: bytes) -> bytes:
    # Request header v1: api_key int16, api_version int16, correlation_id int32,
    # client_id nullable string (int16 length).
    header = struct.pack(">hhih", api_key, api_version, corr, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    resp = _recv_exact(sock, size)
    (resp_corr,) = struct.unpack(">i", resp[:4])
    if resp_corr != corr:
        raise ProbeError(f"correlation id mismatch: {resp_corr} != {corr}")
    return resp[4:]  # response header v0 is just the correlation id


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ProbeError("truncated response")
        vals = struct.unpack(fmt, self.data[self.pos : self.pos + size])
        self.pos += size
        return vals[0] if len(vals) == 1 else vals

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s


class Scram:
    """The client side of SCRAM-SHA-256/512 (RFC 5802), as Kafka's ScramSaslServer expects it."""

    def __init__(self, mechanism: str, user: str, password: str) -> None:
        self.hash = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.user = user.replace("=", "=3D").replace(",", "=2C")
        self.password = password.encode()
        self.nonce = secrets.token_urlsafe(24)

    def _hmac(self, key: bytes, msg: bytes) -> bytes:
        return hmac.new(key, msg, self.hash).digest()

    def first(self) -> bytes:
        self.first_bare = f"n={self.user},r={self.nonce}"
        return ("n,," + self.first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        fields = dict(item.split("=", 1) for item in text.split(","))
        if not fields.get("r", "").startswith(self.nonce):
            raise ProbeError("SCRAM: the server's nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(
            self.hash, self.password, base64.b64decode(fields["s"]), int(fields["i"])
        )
        client_key = self._hmac(salted, b"Client Key")
        without_proof = f"c=biws,r={fields['r']}"
        self.auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = self._hmac(hashlib.new(self.hash, client_key).digest(), self.auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_key = self._hmac(salted, b"Server Key")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        expected = base64.b64encode(self._hmac(self.server_key, self.auth_message)).decode()
        if server_final.decode() != f"v={expected}":
            raise ProbeError("SCRAM: the server's signature does not match")


def _authenticate(sock: socket.socket, ranges: dict[int, tuple[int, int]], scram: Scram) -> None:
    if API_SASL_AUTHENTICATE not in ranges:
        raise ProbeError("broker does not advertise SaslAuthenticate")
    mechanism = {"sha256": "SCRAM-SHA-256", "sha512": "SCRAM-SHA-512"}[scram.hash].encode()
    r = _Reader(_request(sock, API_SASL_HANDSHAKE, 1, 3, struct.pack(">h", len(mechanism)) + mechanism))
    if (err := r.take(">h")) != 0:
        raise ProbeError(f"SaslHandshake error code {err} (is {mechanism.decode()} enabled?)")
    version = min(ranges[API_SASL_AUTHENTICATE][1], 1)  # v0 and v1 are not flexible

    def exchange(corr: int, token: bytes) -> bytes:
        r = _Reader(
            _request(sock, API_SASL_AUTHENTICATE, version, corr, struct.pack(">i", len(token)) + token)
        )
        err, message = r.take(">h"), r.string()
        if err != 0:
            raise AuthenticationFailed(err, message)
        size = r.take(">i")
        return r.data[r.pos : r.pos + size]

    server_first = exchange(4, scram.first())
    scram.verify(exchange(5, scram.final(server_first)))


def probe(host: str, port: int, timeout: float, scram: Scram | None = None) -> dict[str, Any]:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        # ApiVersions v0 is kept by every broker for version negotiation.
        r = _Reader(_request(sock, API_VERSIONS, 0, 1, b""))
        err = r.take(">h")
        if err != 0:
            raise ProbeError(f"ApiVersions error code {err}")
        ranges = {}
        for _ in range(r.take(">i")):
            key, lo, hi = r.take(">hhh")
            ranges[key] = (lo, hi)
        if scram is not None:
            _authenticate(sock, ranges, scram)
        if API_METADATA not in ranges:
            raise ProbeError("broker does not advertise Metadata API")
        lo, hi = ranges[API_METADATA]
        version = max(lo, 4)
        if version > min(hi, 8):
            raise ProbeError(f"no Metadata version in 4..8 (broker supports {lo}..{hi})")
        # Metadata v4..v8 body: topics = null (all topics), allow_auto_topic_creation = false
        body = struct.pack(">ib", -1, 0)
        if version >= 8:
            # include_cluster_authorized_operations, include_topic_authorized_operations
            body += struct.pack(">bb", 0, 0)
        r = _Reader(_request(sock, API_METADATA, version, 6, body))
        r.take(">i")  # throttle_time_ms (v3+)
        brokers = []
        for _ in range(r.take(">i")):
            node_id = r.take(">i")
            bhost = r.string()
            bport = r.take(">i")
            r.string()  # rack
            brokers.append((node_id, bhost, bport))
        cluster_id = r.string()
        controller_id = r.take(">i")
        return {
            "metadata_version": version,
            "api_count": len(ranges),
            "brokers": brokers,
            "cluster_id": cluster_id,
            "controller_id": controller_id,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--bootstrap",
        default=os.environ.get("HOTLINE_KAFKA_BOOTSTRAP") or "127.0.0.1:9092",
        help="comma-separated host:port list (default: $HOTLINE_KAFKA_BOOTSTRAP or 127.0.0.1:9092)",
    )
    ap.add_argument("--timeout", type=float, default=3.0, help="socket timeout per address, seconds")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    ap.add_argument("--sasl-user", help="authenticate with SCRAM as this user first")
    ap.add_argument("--sasl-password-file", help="the file holding the user's password")
    ap.add_argument("--sasl-mechanism", default="SCRAM-SHA-512", choices=("SCRAM-SHA-512", "SCRAM-SHA-256"))
    args = ap.parse_args(argv)
    password = None
    if args.sasl_user:
        if not args.sasl_password_file:
            print("probe: --sasl-user needs --sasl-password-file", file=sys.stderr)
            return 2
        try:
            with open(args.sasl_password_file, encoding="utf-8") as f:
                password = f.read().removesuffix("\n")
        except OSError as exc:
            print(f"probe: cannot read {args.sasl_password_file}: {exc.strerror}", file=sys.stderr)
            return 2

    errors = []
    for addr in [a.strip() for a in args.bootstrap.split(",") if a.strip()]:
        host, sep, port_s = addr.rpartition(":")
        if not sep or not port_s.isdigit():
            print(f"probe: bad address {addr!r}, expected host:port", file=sys.stderr)
            return 2
        host = host.strip("[]")
        try:
            scram = Scram(args.sasl_mechanism, args.sasl_user, password) if password is not None else None
            info = probe(host, int(port_s), args.timeout, scram)
        except (OSError, ProbeError) as exc:
            errors.append(f"{addr}: {exc}")
            continue
        if not info["brokers"]:
            errors.append(f"{addr}: answered but reports no live broker yet")
            continue
        if not args.quiet:
            brokers = ", ".join(f"{n}@{h}:{p}" for n, h, p in info["brokers"])
            print(
                f"ready: {addr} cluster_id={info['cluster_id']} controller={info['controller_id']} "
                f"brokers=[{brokers}] (Metadata v{info['metadata_version']}, {info['api_count']} APIs)"
            )
        return 0
    for e in errors:
        print(f"probe: not ready: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
