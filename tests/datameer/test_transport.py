"""The transport's pure parts: which proxy the environment names, the CA it trusts, the
login header, an answer's charset.  Calls through it are in test_client_environment.py."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import urllib3
from urllib3 import Timeout

from runner.datameer.client import new_session
from runner.datameer.credentials import netrc_login
from runner.datameer.transport import (
    basic_auth,
    encoding_of,
    environment_proxy,
    environment_verify,
)
from runner.errors import UsageError

VARIABLES = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]
VARIABLES += [name.upper() for name in VARIABLES]
VARIABLES += ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC"]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        pytest.param({}, "https://dm.corp:8443", None, id="none"),
        pytest.param(
            {"HTTPS_PROXY": "http://p:3128"}, "https://dm.corp", "http://p:3128", id="https"
        ),
        pytest.param({"HTTPS_PROXY": "http://p:3128"}, "http://dm.corp", None, id="other-scheme"),
        pytest.param({"ALL_PROXY": "http://a:1"}, "http://dm.corp", "http://a:1", id="all"),
        pytest.param(
            {"HTTP_PROXY": "http://h:1", "ALL_PROXY": "http://a:1"},
            "http://dm.corp",
            "http://h:1",
            id="scheme-before-all",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "corp"},
            "https://dm.corp",
            None,
            id="no-proxy-suffix",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "dm.corp:8443"},
            "https://dm.corp:8443",
            None,
            id="no-proxy-host-and-port",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "dm.corp:9999"},
            "https://dm.corp:8443",
            "http://p:1",
            id="no-proxy-other-port",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "orp"},
            "https://dm.corp",
            "http://p:1",
            id="no-proxy-not-a-label",
        ),
        pytest.param(
            {"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.1.0.0/16"},
            "http://10.1.2.3",
            None,
            id="no-proxy-cidr",
        ),
        pytest.param(
            {"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.1.0.0/99"},
            "http://10.1.2.3",
            "http://p:1",
            id="no-proxy-bad-cidr",
        ),
    ],
)
def test_the_proxy_for_a_server(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(url) == expected


@pytest.mark.parametrize(
    ("env", "verify", "expected"),
    [
        pytest.param({}, True, True, id="default"),
        pytest.param({"REQUESTS_CA_BUNDLE": "/r.pem"}, True, "/r.pem", id="requests-bundle"),
        pytest.param({"CURL_CA_BUNDLE": "/c.pem"}, True, "/c.pem", id="curl-bundle"),
        pytest.param(
            {"REQUESTS_CA_BUNDLE": "/r.pem", "CURL_CA_BUNDLE": "/c.pem"},
            True,
            "/r.pem",
            id="requests-first",
        ),
        pytest.param(
            {"REQUESTS_CA_BUNDLE": "/r.pem"}, "/mine.pem", "/mine.pem", id="configured-wins"
        ),
        pytest.param({"REQUESTS_CA_BUNDLE": "/r.pem"}, False, False, id="off-stays-off"),
    ],
)
def test_the_ca_the_client_trusts(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    verify: bool | str,
    expected: bool | str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_verify(verify) == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("application/json", "utf-8", id="json"),
        pytest.param("text/html", "ISO-8859-1", id="text"),
        pytest.param('text/html; charset="UTF-8"', "UTF-8", id="quoted-charset"),
        pytest.param("text/html; Charset=koi8-r; charset=cp1252", "cp1252", id="last-wins"),
        pytest.param("application/octet-stream", None, id="binary"),
    ],
)
def test_the_charset_of_an_answer(content_type: str | None, expected: str | None) -> None:
    assert encoding_of(content_type) == expected


@pytest.mark.parametrize(
    ("password", "encoding"),
    [
        pytest.param("s3cret", "latin-1", id="ascii"),
        pytest.param("Größe", "latin-1", id="latin-1"),
        pytest.param("пароль", "utf-8", id="beyond-latin-1"),
    ],
)
def test_the_login_header(password: str, encoding: str) -> None:
    header = basic_auth("etl", password)
    assert base64.b64decode(header.removeprefix("Basic ")) == f"etl:{password}".encode(encoding)


def test_a_netrc_entry_for_the_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine dm.corp login robot password n3trc\nmachine other.corp login x password y\n",
        encoding="utf-8",
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert netrc_login("https://dm.corp:8443/dm") == ("robot", "n3trc")
    assert netrc_login("https://third.corp") is None
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    assert netrc_login("https://dm.corp") is None


def test_a_broken_netrc_file_is_named_not_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "netrc"
    broken.write_text("machine dm.corp login robot password s3cret\nfoo bar\n", "utf-8")
    broken.chmod(0o600)
    monkeypatch.setenv("NETRC", str(broken))
    # The same reading as the command line's (runner.datameer.credentials): a library
    # caller without a login hears which file is broken, not a 401 later.
    with pytest.raises(UsageError, match=r"netrc:\d+: cannot read this netrc file") as caught:
        new_session("https://dm.corp")
    assert "s3cret" not in str(caught.value)


def test_an_underscored_netrc_is_read_where_only_it_exists(tmp_path: Path) -> None:
    (tmp_path / "_netrc").write_text("machine dm.corp login robot password n3trc\n", "utf-8")
    (tmp_path / "_netrc").chmod(0o600)
    assert netrc_login("https://dm.corp", {"HOME": str(tmp_path)}) == ("robot", "n3trc")
    (tmp_path / ".netrc").write_text("machine dm.corp login other password pw\n", "utf-8")
    (tmp_path / ".netrc").chmod(0o600)
    assert netrc_login("https://dm.corp", {"HOME": str(tmp_path)}) == ("other", "pw")


def test_the_transport_never_shows_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://gate:pr0xy-pw@proxy.corp:3128")
    transport = new_session("https://dm.corp", auth=("etl", "s3cret"))
    shown = f"{transport!r} {transport!s}"
    for secret in ("s3cret", "pr0xy-pw", base64.b64encode(b"etl:s3cret").decode()):
        assert secret not in shown
    assert "http://proxy.corp:3128" in shown


def test_a_malformed_proxy_fails_each_call_not_the_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "ftp://proxy.corp:21")
    transport = new_session("http://dm.corp")
    with pytest.raises(urllib3.exceptions.ProxyError, match="unknown scheme"):
        transport.request("GET", "http://dm.corp/x", body=None, headers={}, timeout=Timeout(1))


@pytest.mark.parametrize(
    ("base_url", "url", "expected"),
    [
        pytest.param("http://dm:8080", "http://dm:8080/rest/x?a=1", "/rest/x?a=1", id="path"),
        pytest.param(
            "https://dm/datameer", "https://dm/datameer/api/y", "/datameer/api/y", id="prefix"
        ),
        pytest.param("http://[::1]:80", "http://[::1]:80/rest/x", "/rest/x", id="ipv6"),
        pytest.param("http://dm:8080", "http://dm:8080", "/", id="root"),
        pytest.param("http://dm:8080", "http://dm:8080?q", "/?q", id="bare-query"),
        pytest.param("http://dm:8080", "http://dm:80801/rest", None, id="other-port"),
        pytest.param("http://dm:8080", "http://other:8080/rest", None, id="other-host"),
        pytest.param("http://dm:8080", "http://dm:8080/rest#x", None, id="fragment"),
        pytest.param("http://u@dm:8080", "http://u@dm:8080/rest", None, id="login-in-url"),
        pytest.param("HTTP://dm:8080", "HTTP://dm:8080/rest", None, id="scheme-as-written"),
    ],
)
def test_what_goes_on_the_request_line_of_a_server_reached_directly(
    base_url: str, url: str, expected: str | None
) -> None:
    transport = new_session(base_url)
    assert transport._target(url) == expected  # None: the pool manager takes the whole URL


def test_a_server_behind_a_proxy_is_left_to_the_proxy_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    transport = new_session("http://dm:8080")
    assert transport._target("http://dm:8080/rest/x") is None
