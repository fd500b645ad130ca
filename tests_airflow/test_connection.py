"""An Airflow datameer connection as server settings (pure: no Airflow needed)."""

from __future__ import annotations

from typing import Any

import pytest

from runner.airflow.connection import ConnectionFields, base_url, server_settings
from runner.errors import UsageError


def fields(**given: Any) -> ConnectionFields:
    return ConnectionFields(conn_id="datameer_default", **given)


@pytest.mark.parametrize(
    ("given", "url"),
    [
        pytest.param({"host": "dm.example.com"}, "https://dm.example.com", id="https-by-default"),
        pytest.param(
            {"host": "dm.example.com", "port": 8443, "schema": "https"},
            "https://dm.example.com:8443",
            id="port",
        ),
        pytest.param(
            {"host": "127.0.0.1", "port": 8088, "schema": "HTTP"},
            "http://127.0.0.1:8088",
            id="http",
        ),
        pytest.param(
            {"host": "http://dm.example.com/datameer/", "port": 80},
            "http://dm.example.com:80/datameer",
            id="scheme-and-path-in-host",
        ),
        pytest.param(
            {"host": "https://dm.example.com:9443", "port": 8443},
            "https://dm.example.com:9443",
            id="port-in-host-wins",
        ),
    ],
)
def test_the_base_url_comes_from_host_port_and_schema(given: dict[str, Any], url: str) -> None:
    assert base_url(fields(**given)) == url


@pytest.mark.parametrize(
    ("given", "words"),
    [
        pytest.param({}, "has no host", id="no-host"),
        pytest.param({"host": "dm", "schema": "ftp"}, "use http or https", id="scheme"),
        pytest.param(
            {"host": "dm", "extra": {"verify": "perhaps"}}, "write true or false", id="verify"
        ),
        pytest.param(
            {"host": "dm", "extra": {"token": "x"}}, "unknown extra field(s) token", id="extra"
        ),
        pytest.param(
            {"host": "dm", "extra": {"path_encoding": "percent"}},
            "path_encoding 'percent'",
            id="enc",
        ),
    ],
)
def test_a_connection_that_names_no_usable_server_says_what_to_fix(
    given: dict[str, Any], words: str
) -> None:
    with pytest.raises(UsageError, match="datameer_default") as raised:
        server_settings(fields(**given))
    assert words in str(raised.value)


def test_credentials_and_tls_settings_come_from_the_connection() -> None:
    settings = server_settings(
        fields(
            host="dm.example.com",
            login="etl",
            password="s3cret",
            extra={"ca_bundle": "/etc/ssl/dm.pem", "verify": "false", "path_encoding": "plus"},
        )
    )

    assert (settings.url, settings.user, settings.password) == (
        "https://dm.example.com",
        "etl",
        "s3cret",
    )
    assert (settings.ca_bundle, settings.verify_tls) == ("/etc/ssl/dm.pem", False)
    assert "s3cret" not in repr(settings)


def test_a_password_without_a_login_is_not_sent() -> None:
    assert server_settings(fields(host="dm", password="stray")).password is None
