"""How every Kafka client of the project authenticates: SASL and TLS settings read from the
environment once per client, given in each client library's dialect.

    HOTLINE_KAFKA_SECURITY_PROTOCOL  PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    HOTLINE_KAFKA_SASL_MECHANISM     SCRAM-SHA-512 (default) | SCRAM-SHA-256 | PLAIN
    HOTLINE_KAFKA_USERNAME           the principal (SASL only)
    HOTLINE_KAFKA_PASSWORD           its password, or HOTLINE_KAFKA_PASSWORD_FILE: a file holding it
    HOTLINE_KAFKA_CA_FILE            PEM CA bundle to verify the brokers (TLS only; default: the system's)
    HOTLINE_KAFKA_CERT_FILE          PEM client certificate, with HOTLINE_KAFKA_KEY_FILE (TLS client auth)

kafka-python and aiokafka take the same keyword arguments (`client_settings`); faust takes a
credentials object (`faust_settings`). PLAINTEXT gives no setting at all, so nothing changes for a
local broker. A setting that would be silently ignored (a username without SASL, a CA file without
TLS) is refused: someone who set it believes the connection is protected.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_MECHANISM = "SCRAM-SHA-512"

_P = "HOTLINE_KAFKA_"


class KafkaSecurityError(KafkaError):
    """The environment's Kafka security settings are incomplete or contradictory (one line, naming the
    variable). A KafkaError, so every caller that turns a broker failure into one line does so here."""

    retriable = False

    def __str__(self) -> str:  # the message alone: kafka-python's errors prefix their class name
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ClientSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifies the broker's certificate and host name (against the CA file, else the system's)."""
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file:
                context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        except (OSError, ssl.SSLError) as err:
            raise KafkaSecurityError(f"{_P}CA_FILE/CERT_FILE/KEY_FILE: cannot load: {err}") from None
        return context

    def client_settings(self) -> dict[str, Any]:
        """Keyword arguments for KafkaProducer, KafkaConsumer, KafkaAdminClient (kafka-python) and
        AIOKafkaProducer, AIOKafkaClient (aiokafka)."""
        if self.protocol == "PLAINTEXT":
            return {}
        settings: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            settings |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls:
            settings["ssl_context"] = self.ssl_context()
        return settings

    def faust_settings(self) -> dict[str, Any]:
        """Keyword arguments for faust.App (faust-streaming's `broker_credentials`)."""
        if self.protocol == "PLAINTEXT":
            return {}
        import faust  # only the workers need it

        if self.sasl:
            credentials: Any = faust.SASLCredentials(
                username=self.username,
                password=self.password,
                mechanism=self.mechanism,
                ssl_context=self.ssl_context(),  # given: SASL_SSL; None: SASL_PLAINTEXT
            )
        else:
            credentials = faust.SSLCredentials(self.ssl_context())
        return {"broker_credentials": credentials}


def security_from_env(environ: Mapping[str, str] | None = None) -> ClientSecurity:
    """The settings of $HOTLINE_KAFKA_*; raises KafkaSecurityError naming the variable at fault."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(_P + name, "").strip() or None

    protocol = (get("SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise KafkaSecurityError(f"{_P}SECURITY_PROTOCOL={protocol!r} is not one of {', '.join(PROTOCOLS)}")
    sasl, tls = protocol.startswith("SASL_"), protocol in ("SSL", "SASL_SSL")
    files: dict[str, Path] = {}
    for name in ("CA_FILE", "CERT_FILE", "KEY_FILE"):
        if (value := get(name)) is not None:
            if not tls:
                raise KafkaSecurityError(
                    f"{_P}{name} is set but {protocol} does not use TLS (use SSL or SASL_SSL)"
                )
            if not Path(value).is_file():
                raise KafkaSecurityError(f"{_P}{name}={value!r} is not a readable file")
            files[name] = Path(value)
    if "KEY_FILE" in files and "CERT_FILE" not in files:
        raise KafkaSecurityError(f"{_P}KEY_FILE is set without {_P}CERT_FILE")
    tls_files = ClientSecurity(
        protocol,
        ca_file=files.get("CA_FILE"),
        cert_file=files.get("CERT_FILE"),
        key_file=files.get("KEY_FILE"),
    )
    if not sasl:
        if given := [_P + n for n in ("SASL_MECHANISM", "USERNAME", "PASSWORD", "PASSWORD_FILE") if get(n)]:
            raise KafkaSecurityError(
                f"{', '.join(given)} set but {protocol} sends no credentials (use SASL_*)"
            )
        return tls_files
    mechanism = (get("SASL_MECHANISM") or DEFAULT_MECHANISM).upper()
    if mechanism not in MECHANISMS:
        raise KafkaSecurityError(f"{_P}SASL_MECHANISM={mechanism!r} is not one of {', '.join(MECHANISMS)}")
    username = get("USERNAME")
    if username is None:
        raise KafkaSecurityError(f"{_P}USERNAME is required with {protocol}")
    return replace(tls_files, mechanism=mechanism, username=username, password=_password(env, protocol))


def _password(env: Mapping[str, str], protocol: str) -> str:
    direct, path = env.get(_P + "PASSWORD", ""), env.get(_P + "PASSWORD_FILE", "").strip()
    if direct and path:
        raise KafkaSecurityError(f"set {_P}PASSWORD or {_P}PASSWORD_FILE, not both")
    if path:
        try:
            # the whole file but its final line break (what `echo secret > file` adds)
            direct = Path(path).read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise KafkaSecurityError(f"{_P}PASSWORD_FILE={path!r} is not UTF-8 text") from None
        except OSError as err:
            raise KafkaSecurityError(f"{_P}PASSWORD_FILE={path!r} cannot be read: {err.strerror}") from None
    if not direct:
        raise KafkaSecurityError(f"{_P}PASSWORD or {_P}PASSWORD_FILE is required with {protocol}")
    return direct


def client_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """kafka-python / aiokafka keyword arguments from the environment ({} for PLAINTEXT)."""
    return security_from_env(environ).client_settings()


def faust_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """faust.App keyword arguments from the environment ({} for PLAINTEXT)."""
    return security_from_env(environ).faust_settings()
