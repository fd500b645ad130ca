"""The HTTP transport under ``DatameerClient``: urllib3 pools for one server, set up once.

What ``requests`` did for the client, done once at construction instead of on every call
(about half of a call's CPU went into requests' per-call preparation and environment scans):

    proxies     HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, bypassed by NO_PROXY (host suffixes,
                IPv4 CIDR blocks, host:port), as requests reads them; socks:// needs PySocks
    TLS         verified by default against certifi's CA bundle (requests' default);
                REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace it; a configured CA file or
                folder replaces both; verification off only with ``verify=False``
    login       HTTP basic auth from the user and password given, else the netrc entry for
                the server's host, read as the command line reads it
                (``credentials.netrc_login``); the header is built once and never shown
    cookies     kept between calls and sent back, as a requests session did (a load
                balancer's sticky cookie, a server session)
    headers     User-Agent, Accept-Encoding (answers are decoded), keep-alive

Redirects are never followed and retries are the caller's ``Retry``: both stay in
``runner.datameer.client``, which also turns every exception into dmpipe's.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import os
import threading
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.util import make_headers, parse_url

from runner.datameer.credentials import netrc_login

if TYPE_CHECKING:
    import http.cookiejar

    from urllib3.connectionpool import HTTPConnectionPool
    from urllib3.response import BaseHTTPResponse
    from urllib3.util.retry import Retry

USER_AGENT = "dmpipe (python-urllib3)"
_DEFAULT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept-Encoding": ", ".join(make_headers(accept_encoding=True)["accept-encoding"].split(",")),
    "Connection": "keep-alive",
}


# Where proxies come from; messages name these, never the proxy URL (it may carry a login),
# and carry no colon (the client shows an error's last ``:``-separated part).
_NAMES = "HTTP(S)_PROXY/ALL_PROXY"


class ProxySetupError(ValueError):
    """The environment names a proxy that cannot be used (malformed, unknown scheme)."""


class Transport:
    """Pooled connections to one server, through its proxy if the environment names one.

    Safe to share between threads.  ``request`` returns urllib3's streamed response;
    urllib3's own exceptions (and ``OSError``) pass through to the caller.
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str,
        auth: tuple[str, str] | None,
        retries: Retry,
        pool_classes: Mapping[str, type[HTTPConnectionPool]] | None = None,
        num_pools: int = 4,
        maxsize: int = 16,
    ) -> None:
        self.base_url = base_url
        self.verify = environment_verify(verify)
        self.proxy = environment_proxy(base_url)
        self._retries = retries
        login = auth if auth is not None else netrc_login(base_url)
        self._headers = dict(_DEFAULT_HEADERS)
        if login is not None:
            self._headers["Authorization"] = basic_auth(*login)
        # Made when the first cookie comes (most servers send none: no call, and no start,
        # pays for http.cookiejar until then); ``len(jar)`` is not thread-safe, the jar's
        # own methods are.
        self._cookies: http.cookiejar.CookieJar | None = None
        self._cookies_lock = threading.Lock()
        self._setup_error: ProxySetupError | None = None
        tls = _tls_settings(self.verify)
        common: dict[str, Any] = {"num_pools": num_pools, "maxsize": maxsize, "block": False}
        self._manager: urllib3.PoolManager
        try:
            self._manager = _manager(self.proxy, {**common, **tls})
        except ProxySetupError as error:
            # Reported on each call, as a connection failure: the command may not need one.
            self._setup_error = error
            self._manager = urllib3.PoolManager(**common, **tls)
        if pool_classes is not None:
            self._manager.pool_classes_by_scheme = dict(pool_classes)
        # A server reached directly is one pool for the whole run, made at the first call:
        # calls go to it with their path, without the manager parsing each whole URL again
        # and looking its pool up (a tenth of a call's CPU).
        self._origin = _origin(base_url) if self.proxy is None else None
        self._pool: HTTPConnectionPool | None = None
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, proxy={_shown(self.proxy)!r})"

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
    ) -> BaseHTTPResponse:
        """Send one request (retried as ``retries`` says, never redirected); the answer's
        body is left to read."""
        if self._setup_error is not None:
            raise urllib3.exceptions.ProxyError(str(self._setup_error), self._setup_error)
        sent = {**self._headers, **headers}
        cookie = self._cookie_header(method, url)
        if cookie:
            sent["Cookie"] = cookie
        settings: dict[str, Any] = {
            "body": body,
            "headers": sent,
            "redirect": False,
            "retries": self._retries,
            "timeout": timeout,
            "preload_content": False,
            "decode_content": False,
        }
        target = self._target(url)
        if target is None:
            response = self._manager.urlopen(method, url, **settings)
        else:
            response = self._server_pool().urlopen(
                method, target, assert_same_host=False, **settings
            )
        if "Set-Cookie" in response.headers or "Set-Cookie2" in response.headers:
            answer = cast("http.client.HTTPResponse", _CookieResponse(response))
            self._jar().extract_cookies(answer, _cookie_request(method, url))
        return response

    def close(self) -> None:
        """Close the pooled connections; a later call opens new ones."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._manager.clear()

    def _target(self, url: str) -> str | None:
        """What goes on the request line for ``url`` when it is on the server reached
        directly (its path and query), None to leave ``url`` to the pool manager."""
        origin = self._origin
        if origin is None or not url.startswith(origin):
            return None
        rest = url[len(origin) :]
        if "#" in rest or rest[:1] not in ("/", "?", ""):
            return None
        return rest if rest.startswith("/") else f"/{rest}"

    def _server_pool(self) -> HTTPConnectionPool:
        """The manager's pool for the server (the one it would pick for each call)."""
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = self._manager.connection_from_url(cast(str, self._origin))
                pool = self._pool
        return pool

    def _cookie_header(self, method: str, url: str) -> str | None:
        jar = self._cookies
        if jar is None:
            return None
        request = _cookie_request(method, url)
        jar.add_cookie_header(request)
        return request.unredirected_hdrs.get("Cookie")

    def _jar(self) -> http.cookiejar.CookieJar:
        with self._cookies_lock:
            if self._cookies is None:
                import http.cookiejar

                self._cookies = http.cookiejar.CookieJar()
            return self._cookies


def _origin(base_url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) server URL as written, None for one that names
    a login (``user@host``) or no host: those go through the pool manager."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _cookie_request(method: str, url: str) -> urllib.request.Request:
    """What ``CookieJar`` reads of a request: its URL and method (nothing is opened)."""
    return urllib.request.Request(url, method=method)  # noqa: S310 - never opened


class _CookieResponse:
    """What ``CookieJar.extract_cookies`` reads of an answer: its headers."""

    def __init__(self, response: BaseHTTPResponse) -> None:
        self._headers = response.headers

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: list[str]) -> list[str]:
        return self._headers.getlist(name) or default


def _manager(proxy: str | None, settings: dict[str, Any]) -> urllib3.PoolManager:
    """The pool manager for the server: direct, or through ``proxy``."""
    if proxy is None:
        return urllib3.PoolManager(**settings)
    if proxy.lower().startswith("socks"):
        socks = _socks_manager()
        if socks is None:
            raise ProxySetupError(f"the proxy in {_NAMES} needs PySocks (pip install PySocks)")
        user, password = _url_login(proxy)
        return socks(proxy, username=user, password=password, **settings)
    proxy = _with_scheme(proxy)
    if not parse_url(proxy).host:
        raise ProxySetupError(f"the proxy in {_NAMES} has no host")
    user, password = _url_login(proxy)
    headers = {"Proxy-Authorization": basic_auth(user, password)} if user else None
    if parse_url(proxy).scheme not in ("http", "https"):
        raise ProxySetupError(f"the proxy in {_NAMES} has an unknown scheme, use http")
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **settings)


def _socks_manager() -> Callable[..., urllib3.PoolManager] | None:
    """urllib3's SOCKS proxy manager, None without PySocks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.DependencyWarning)
        try:
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError:
            return None
    return SOCKSProxyManager


def _tls_settings(verify: bool | str) -> dict[str, Any]:
    """urllib3's pool settings for ``verify``, as requests gave them."""
    if verify is False:
        return {"cert_reqs": "CERT_NONE"}
    location = verify if isinstance(verify, str) else _default_ca_bundle()
    if location is None:
        return {"cert_reqs": "CERT_REQUIRED"}  # the system's CAs
    key = "ca_cert_dir" if Path(location).is_dir() else "ca_certs"
    return {"cert_reqs": "CERT_REQUIRED", key: location}


def _default_ca_bundle() -> str | None:
    """certifi's bundle (requests' default), or None for the system's CAs without it."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi is a dependency of dmpipe
        return None
    where: str = certifi.where()
    return where


def environment_verify(verify: bool | str) -> bool | str:
    """``verify`` with the environment's CA bundle when it is the default (True):
    REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, as requests reads them."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, None when none or when bypassed."""
    if bypasses_proxy(url):
        return None
    proxies = urllib.request.getproxies()
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return proxies.get(parts.scheme, proxies.get("all"))
    for key in (f"{parts.scheme}://{host}", parts.scheme, f"all://{host}", "all"):
        if key in proxies:
            return proxies[key]
    return None


def bypasses_proxy(url: str) -> bool:
    """True when NO_PROXY (or the platform's settings) exempts ``url``'s host."""
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY")
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return True
    if no_proxy:
        entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
        if _listed(host, parts.port, entries):
            return True
    try:
        return bool(urllib.request.proxy_bypass(host))
    except (TypeError, OSError):
        return False


def _listed(host: str, port: int | None, entries: list[str]) -> bool:
    if _is_ipv4(host):
        return any(_in_block(host, entry) if "/" in entry else host == entry for entry in entries)
    with_port = f"{host}:{port}" if port else host
    for entry in entries:
        entry = entry.lstrip(".")
        if entry in (host, with_port):
            return True
        if host.endswith(f".{entry}") or with_port.endswith(f".{entry}"):
            return True
    return False


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _in_block(host: str, block: str) -> bool:
    """``host`` is in the CIDR ``block`` (a malformed block matches nothing)."""
    address, _, bits = block.partition("/")
    if not (_is_ipv4(address) and bits.isdigit() and 1 <= int(bits) <= 32):
        return False
    return ipaddress.IPv4Address(host) in ipaddress.IPv4Network(block, strict=False)


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` value: Latin-1 like requests (what servers decode by default),
    UTF-8 for characters Latin-1 lacks (RFC 7617)."""
    raw = f"{user}:{password}"
    try:
        encoded = raw.encode("latin-1")
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def encoding_of(content_type: str | None) -> str | None:
    """The text encoding an answer's Content-Type implies, as requests derives it."""
    if not content_type:
        return None
    kind, *params = content_type.split(";")
    charset = None
    for param in params:
        key, equals, value = param.strip().partition("=")
        if equals and key.strip("\"' ").lower() == "charset":
            charset = value.strip("\"' ")  # the last one counts, as in requests
    if charset is not None:
        return charset.strip("'\"")
    if "text" in kind.strip():
        return "ISO-8859-1"
    if "application/json" in kind.strip():
        return "utf-8"
    return None


def _with_scheme(proxy: str) -> str:
    """``proxy:3128`` means ``http://proxy:3128``."""
    return proxy if "://" in proxy else f"http://{proxy}"


def _url_login(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.username is None or parts.password is None:
        return ("", "")  # as requests: a user without a password sends no login
    return (unquote(parts.username), unquote(parts.password or ""))


def _shown(proxy: str | None) -> str | None:
    """A proxy URL without its user and password."""
    if proxy is None:
        return None
    parts = urlsplit(_with_scheme(proxy))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"
