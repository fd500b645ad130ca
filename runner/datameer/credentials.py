"""Where the Datameer server is and who to log in as, from every place a user may say so.

Precedence, first set wins, for each value separately: explicit arguments
(``--server``, ``--user``), the pipeline's ``server:`` settings, the
environment (``DATAMEER_URL``, ``DATAMEER_USER``, ``DATAMEER_PASSWORD`` or
``DATAMEER_PASSWORD_FILE``), user info in the URL, then ``~/.netrc`` (looked up
by the URL's host; it gives the user too).  An empty value counts as unset, so
``${DATAMEER_USER}`` interpolated from an unset variable does not hide the
environment.  TLS verification is on unless ``DATAMEER_INSECURE=1`` or the
settings turn it off; ``DATAMEER_CA_BUNDLE`` names a CA file.
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from runner.errors import UsageError
from runner.model import ServerSettings

_TRUE = frozenset({"1", "true", "yes", "on"})
# What ``redact_url`` shows for a URL too broken to split.
NOT_A_URL = "(not a valid URL)"


@dataclass(frozen=True)
class _Login:
    user: str | None
    password: str | None


def resolve_server(
    url: str | None = None,
    user: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    netrc_path: str | Path | None = None,
    settings: ServerSettings | None = None,
) -> ServerSettings:
    """The server settings to connect with; UsageError when no URL is given anywhere."""
    settings = settings or ServerSettings()
    chosen = _first(url, settings.url, env.get("DATAMEER_URL"))
    if chosen is None:
        raise UsageError("no Datameer server: pass --server or set DATAMEER_URL")
    base_url, url_user, url_password = split_credentials(chosen)
    login = _login(
        _first(user, settings.user, env.get("DATAMEER_USER"), url_user),
        _first(settings.password, _env_password(env), url_password),
        base_url,
        env,
        netrc_path,
    )
    return ServerSettings(
        url=base_url,
        user=login.user,
        password=login.password,
        ca_bundle=_first(settings.ca_bundle, env.get("DATAMEER_CA_BUNDLE")),
        verify_tls=settings.verify_tls and not _is_true(env.get("DATAMEER_INSECURE")),
        version=settings.version,
        path_encoding=settings.path_encoding,
    )


def redact_url(url: str | None) -> str | None:
    """``url`` fit to show or store: any ``user:password@`` dropped, the rest as written.

    Never raises, whatever the text (a bad port, IPv6 brackets, an ``@`` in the password);
    a URL too broken to split is not shown at all, as it may hold a password.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": unbalanced brackets or an invalid IPv6 host
        return NOT_A_URL
    # The userinfo ends at the netloc's last "@": a password may hold "@" and ":".
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``https://u:p@host/x/`` → (``https://host/x``, ``u``, ``p``); UsageError if not http(s)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[::1": the text may hold a password, so it is not shown
        raise UsageError(
            "the server URL is malformed: it must look like https://host:port"
        ) from None
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host:
        shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
        raise UsageError(f"the server URL must look like https://host:port, got {shown!r}")
    _check_port(parts.scheme, host, parts.path)
    base = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return base, user, password


def _check_port(scheme: str, host: str, path: str) -> None:
    """A port, if given, is a number from 1 to 65535; the host is not empty."""
    shown = urlunsplit((scheme, host, path, "", ""))
    try:
        port = urlsplit(f"//{host}").port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"the server URL {shown!r} has no valid port: use a number 1-65535")
    if not urlsplit(f"//{host}").hostname:
        raise UsageError(f"the server URL {shown!r} names no host")


def _login(
    user: str | None,
    password: str | None,
    url: str,
    env: Mapping[str, str],
    netrc_path: str | Path | None,
) -> _Login:
    """Fill in from netrc what the other sources left out (never overriding them)."""
    if password is not None:
        return _Login(user, password)
    found = netrc_login(url, env, netrc_path)
    if found is None:
        return _Login(user, None)
    netrc_user, netrc_password = found
    if user is not None and netrc_user and netrc_user != user:
        # That netrc entry is somebody else's password.
        return _Login(user, None)
    return _Login(user or netrc_user or None, netrc_password or None)


def environment_password(env: Mapping[str, str] = os.environ) -> str | None:
    """``DATAMEER_PASSWORD``, else the content of ``DATAMEER_PASSWORD_FILE``, else None."""
    return _env_password(env)


def _env_password(env: Mapping[str, str]) -> str | None:
    password = _first(env.get("DATAMEER_PASSWORD"))
    if password is not None:
        return password
    path = _first(env.get("DATAMEER_PASSWORD_FILE"))
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read DATAMEER_PASSWORD_FILE {path}: {reason}") from None
    # Files written by `echo` or editors end with a newline that is not part of the secret.
    return _first(text.removesuffix("\n").removesuffix("\r"))


def netrc_login(
    url: str, env: Mapping[str, str] = os.environ, netrc_path: str | Path | None = None
) -> tuple[str, str] | None:
    """(login, password) of the netrc entry for the URL's host, or None: the file is
    ``netrc_path``, else ``$NETRC``, else ``~/.netrc`` (``~/_netrc`` where only that one
    exists).  UsageError for a file that cannot be read, naming the file and line only."""
    path = _netrc_file(env, netrc_path)
    host = urlsplit(url).hostname
    if path is None or host is None or not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as error:
        # The parser's message may quote the file's text: name the file and line only.
        line = getattr(error, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(f"{where}: cannot read this netrc file") from None
    if entry is None:
        return None
    login, _account, password = entry
    return login, password or ""


def _netrc_file(env: Mapping[str, str], netrc_path: str | Path | None) -> Path | None:
    if netrc_path is not None:
        return Path(netrc_path)
    if env.get("NETRC"):
        return Path(env["NETRC"])
    home = env.get("HOME")
    if not home:
        return None
    dotted, underscored = Path(home) / ".netrc", Path(home) / "_netrc"
    return underscored if not dotted.exists() and underscored.exists() else dotted


def _first(*values: str | None) -> str | None:
    """The first value that is set and not empty."""
    return next((value for value in values if value), None)


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE
