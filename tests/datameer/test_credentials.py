from __future__ import annotations

from pathlib import Path

import pytest

from runner.datameer.credentials import resolve_server, split_credentials
from runner.errors import UsageError
from runner.model import ServerSettings

URL = "https://dm.example.com:8443"


def _netrc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_explicit_arguments_win_over_everything(tmp_path: Path) -> None:
    settings = ServerSettings(url="https://file.example.com", user="file-user", password="pw1")
    env = {"DATAMEER_URL": "https://env.example.com", "DATAMEER_USER": "env-user"}
    resolved = resolve_server(URL, "cli-user", env=env, settings=settings)
    assert (resolved.url, resolved.user, resolved.password) == (URL, "cli-user", "pw1")


def test_pipeline_settings_win_over_environment() -> None:
    settings = ServerSettings(url="https://file.example.com", user="file-user", password="pw1")
    env = {
        "DATAMEER_URL": "https://env.example.com",
        "DATAMEER_USER": "env-user",
        "DATAMEER_PASSWORD": "pw2",
    }
    resolved = resolve_server(env=env, settings=settings)
    assert (resolved.url, resolved.user, resolved.password) == (
        "https://file.example.com",
        "file-user",
        "pw1",
    )


def test_environment_fills_what_settings_leave_empty() -> None:
    # ${DATAMEER_USER} interpolated from an unset variable arrives as "".
    settings = ServerSettings(url="", user="", password="")
    env = {"DATAMEER_URL": URL + "/", "DATAMEER_USER": "analyst", "DATAMEER_PASSWORD": "s3cret"}
    resolved = resolve_server(env=env, settings=settings)
    assert (resolved.url, resolved.user, resolved.password) == (URL, "analyst", "s3cret")


@pytest.mark.parametrize(
    ("content", "password"),
    [
        pytest.param("s3cret\n", "s3cret", id="newline"),
        pytest.param("s3cret\r\n", "s3cret", id="crlf"),
        pytest.param("s3cret", "s3cret", id="no-newline"),
        pytest.param("  spaced s3cret \n", "  spaced s3cret ", id="inner-spaces-kept"),
        pytest.param("two\nlines\n", "two\nlines", id="only-last-newline"),
    ],
)
def test_password_file_loses_its_trailing_newline(
    tmp_path: Path, content: str, password: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_text(content, newline="")
    env = {"DATAMEER_URL": URL, "DATAMEER_USER": "a", "DATAMEER_PASSWORD_FILE": str(secret)}
    assert resolve_server(env=env).password == password


def test_password_variable_wins_over_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    env = {"DATAMEER_URL": URL, "DATAMEER_PASSWORD": "pw", "DATAMEER_PASSWORD_FILE": str(secret)}
    assert resolve_server(env=env).password == "pw"


def test_unreadable_password_file_is_a_usage_error(tmp_path: Path) -> None:
    env = {"DATAMEER_URL": URL, "DATAMEER_PASSWORD_FILE": str(tmp_path / "missing")}
    with pytest.raises(UsageError, match=r"cannot read DATAMEER_PASSWORD_FILE .*missing"):
        resolve_server(env=env)


def test_no_url_anywhere_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no Datameer server: pass --server or set DATAMEER_URL"):
        resolve_server(env={})


def test_netrc_gives_user_and_password_by_host(tmp_path: Path) -> None:
    path = _netrc(
        tmp_path,
        "machine other.example.com login x password y\n"
        "machine dm.example.com login analyst password from-netrc\n",
    )
    resolved = resolve_server(URL, env={}, netrc_path=path)
    assert (resolved.user, resolved.password) == ("analyst", "from-netrc")


def test_netrc_found_through_home(tmp_path: Path) -> None:
    _netrc(tmp_path, "machine dm.example.com login analyst password pw\n").rename(
        tmp_path / ".netrc"
    )
    resolved = resolve_server(URL, env={"HOME": str(tmp_path)})
    assert (resolved.user, resolved.password) == ("analyst", "pw")


def test_netrc_password_of_another_user_is_not_used(tmp_path: Path) -> None:
    path = _netrc(tmp_path, "machine dm.example.com login analyst password pw\n")
    resolved = resolve_server(URL, "admin", env={}, netrc_path=path)
    assert (resolved.user, resolved.password) == ("admin", None)


def test_netrc_never_overrides_the_environment(tmp_path: Path) -> None:
    path = _netrc(tmp_path, "machine dm.example.com login analyst password netrc-pw\n")
    env = {"DATAMEER_PASSWORD": "env-pw"}
    resolved = resolve_server(URL, "admin", env=env, netrc_path=path)
    assert (resolved.user, resolved.password) == ("admin", "env-pw")


def test_missing_netrc_is_fine(tmp_path: Path) -> None:
    resolved = resolve_server(URL, env={"HOME": str(tmp_path)})
    assert (resolved.user, resolved.password) == (None, None)


def test_broken_netrc_names_the_file_but_never_its_content(tmp_path: Path) -> None:
    # "hunter2" is a stray token: Python's own parse error would quote it.
    path = _netrc(tmp_path, "machine dm.example.com login analyst password pw hunter2\n")
    with pytest.raises(UsageError, match="cannot read this netrc file") as raised:
        resolve_server(URL, env={}, netrc_path=path)
    assert str(path) in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_credentials_in_the_url_are_moved_out_of_it() -> None:
    resolved = resolve_server("https://ana%40corp:p%3Ass@dm.example.com:8443/", env={})
    assert (resolved.url, resolved.user, resolved.password) == (URL, "ana@corp", "p:ss")


@pytest.mark.parametrize(
    ("env", "verify", "bundle"),
    [
        pytest.param({}, True, None, id="verify-by-default"),
        pytest.param({"DATAMEER_INSECURE": "1"}, False, None, id="insecure"),
        pytest.param({"DATAMEER_INSECURE": "true"}, False, None, id="insecure-true"),
        pytest.param({"DATAMEER_INSECURE": "0"}, True, None, id="insecure-0"),
        pytest.param({"DATAMEER_CA_BUNDLE": "/etc/ca.pem"}, True, "/etc/ca.pem", id="bundle"),
    ],
)
def test_tls_settings(env: dict[str, str], verify: bool, bundle: str | None) -> None:
    resolved = resolve_server(URL, env=env)
    assert (resolved.verify_tls, resolved.ca_bundle) == (verify, bundle)


def test_insecure_settings_stay_insecure() -> None:
    resolved = resolve_server(URL, env={}, settings=ServerSettings(verify_tls=False))
    assert resolved.verify_tls is False


def test_password_never_in_repr() -> None:
    resolved = resolve_server(URL, env={"DATAMEER_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(resolved)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://h:8080", ("http://h:8080", None, None), id="plain"),
        pytest.param("http://h:8080/dm/", ("http://h:8080/dm", None, None), id="context-path"),
        pytest.param("https://u@h", ("https://h", "u", None), id="user-only"),
        pytest.param("https://u:@h", ("https://h", "u", ""), id="empty-password"),
        pytest.param("http://[::1]:8080", ("http://[::1]:8080", None, None), id="ipv6"),
    ],
)
def test_split_credentials(url: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_credentials(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("dm.example.com:8080", id="no-scheme"),
        pytest.param("ftp://u:secret@h", id="ftp"),
        pytest.param("http://", id="no-host"),
    ],
)
def test_split_credentials_refuses_non_http_without_echoing_secrets(url: str) -> None:
    with pytest.raises(UsageError, match="must look like https://host:port") as raised:
        split_credentials(url)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("http://127.0.0.1:99999", "has no valid port", id="port-too-big"),
        pytest.param("http://h:0", "has no valid port", id="port-zero"),
        pytest.param("http://h:abc", "has no valid port", id="port-text"),
        pytest.param("http://u:secret@h:-1", "has no valid port", id="negative-port"),
        pytest.param("http://[::1", "the server URL is malformed", id="unclosed-ipv6"),
        pytest.param("http://u:secret@[::1", "the server URL is malformed", id="ipv6-password"),
        pytest.param("http://u:secret@:8080", "names no host", id="port-without-host"),
    ],
)
def test_split_credentials_refuses_malformed_urls(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        split_credentials(url)
    assert "secret" not in str(raised.value)
