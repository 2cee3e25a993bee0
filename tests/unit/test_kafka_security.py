"""The Kafka clients' SASL/TLS settings, from the environment to each library's keyword arguments.
Expected values are written out by hand from the variables' documentation in consumers/kafka_security."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest

from consumers.kafka_security import (
    KafkaSecurityError,
    client_settings,
    faust_settings,
    security_from_env,
)

SASL = {
    "HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "HOTLINE_KAFKA_USERNAME": "crm",
    "HOTLINE_KAFKA_PASSWORD": "s3cret",
}


def test_nothing_set_is_plaintext_and_adds_no_setting() -> None:
    assert client_settings({}) == {}
    assert faust_settings({}) == {}
    assert client_settings({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "plaintext"}) == {}


def test_sasl_plaintext_defaults_to_scram_sha_512() -> None:
    assert client_settings(SASL) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "crm",
        "sasl_plain_password": "s3cret",
    }


def test_the_mechanism_is_taken_as_given() -> None:
    settings = client_settings({**SASL, "HOTLINE_KAFKA_SASL_MECHANISM": "scram-sha-256"})
    assert settings["sasl_mechanism"] == "SCRAM-SHA-256"


def test_the_password_file_gives_its_content_without_the_final_line_break(tmp_path: Path) -> None:
    secret = tmp_path / "crm.password"
    secret.write_text("pa ss\n", encoding="utf-8")
    env = {k: v for k, v in SASL.items() if k != "HOTLINE_KAFKA_PASSWORD"}
    settings = client_settings({**env, "HOTLINE_KAFKA_PASSWORD_FILE": str(secret)})
    assert settings["sasl_plain_password"] == "pa ss"


def test_the_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(security_from_env(SASL))


def test_faust_gets_sasl_credentials() -> None:
    credentials = faust_settings(SASL)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("crm", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_PLAINTEXT"


def test_sasl_ssl_adds_a_verifying_tls_context() -> None:
    env = {**SASL, "HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    settings = client_settings(env)
    assert settings["security_protocol"] == "SASL_SSL"
    context = settings["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = faust_settings(env)["broker_credentials"]
    assert credentials.protocol.value == "SASL_SSL"


def test_ssl_alone_gives_tls_and_no_sasl() -> None:
    settings = client_settings({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert set(settings) == {"security_protocol", "ssl_context"}
    assert settings["security_protocol"] == "SSL"
    assert isinstance(
        faust_settings({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SSL"})["broker_credentials"], faust.SSLCredentials
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL"}, "HOTLINE_KAFKA_SECURITY_PROTOCOL"),
        ({**SASL, "HOTLINE_KAFKA_SASL_MECHANISM": "GSSAPI"}, "HOTLINE_KAFKA_SASL_MECHANISM"),
        (
            {"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "HOTLINE_KAFKA_PASSWORD": "x"},
            "HOTLINE_KAFKA_USERNAME",
        ),
        (
            {"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "HOTLINE_KAFKA_USERNAME": "crm"},
            "HOTLINE_KAFKA_PASSWORD",
        ),
        ({**SASL, "HOTLINE_KAFKA_PASSWORD_FILE": "/nonexistent/crm.password"}, "HOTLINE_KAFKA_PASSWORD_FILE"),
        (
            {k: v for k, v in SASL.items() if k != "HOTLINE_KAFKA_PASSWORD"}
            | {"HOTLINE_KAFKA_PASSWORD_FILE": "/nonexistent/crm.password"},
            "HOTLINE_KAFKA_PASSWORD_FILE",
        ),
        # set but unused: whoever set them believes the connection is protected
        ({"HOTLINE_KAFKA_USERNAME": "crm", "HOTLINE_KAFKA_PASSWORD": "x"}, "HOTLINE_KAFKA_USERNAME"),
        ({**SASL, "HOTLINE_KAFKA_CA_FILE": "/etc/hostname"}, "HOTLINE_KAFKA_CA_FILE"),
        (
            {"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SSL", "HOTLINE_KAFKA_CA_FILE": "/nonexistent.pem"},
            "HOTLINE_KAFKA_CA_FILE",
        ),
    ],
)
def test_a_wrong_setting_is_refused_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(KafkaSecurityError) as refused:
        client_settings(env)
    assert variable in str(refused.value)
    assert "\n" not in str(refused.value)
