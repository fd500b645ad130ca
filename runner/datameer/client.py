"""The Datameer REST API: one method per endpoint, typed records out, dmpipe errors only.

Every failure is translated once, here, into ``runner.errors``::

    nothing sent: refused, DNS, connect timeout, TLS handshake or certificate failure
                                                       → ConnectionFailedError
    POST sent, then the connection broke, timed out or the TLS stream failed
                                                       → OutcomeUnknownError (it may have run)
    a GET or DELETE whose connection broke             → ConnectionFailedError (after retries)
    401 / 403                                          → AuthenticationError
    3xx (redirects are never followed)                 → ApiError saying where it points
    404 with a failure body, or a "not found" reason   → NotFoundError
    404 with a non-JSON body on an optional endpoint   → EndpointUnavailableError
    429 (after the retries of a GET or DELETE)         → ThrottledError
    5xx (after the retries of a GET or DELETE)         → ServerError
    any other failure body                             → ApiError with the server's reason
    2xx to a read that is not the documented shape, or > 10 MB → UnreadableAnswerError
    2xx to a trigger without a readable execution id   → OutcomeUnknownError (it may have run)
    2xx to a stop or delete that is not documented     → MalformedResponseError

Retries: GET and DELETE are retried by urllib3 on connection errors and on
429/500/502/503/504, with exponential backoff and ``Retry-After`` honoured (at most
``MAX_RETRY_AFTER``).  DELETE counts as idempotent: a repeat only marks already-marked
data again (the answer then says ``{"status": false}``).  A POST is never sent twice: a
trigger whose answer was lost may still have started a job, and only the caller can look.
A 404 is never retried.

Every call is bounded by ``Timeout.total`` (60 s by default): connecting, every read,
the retries and their waits included.  Past it the call's connection is cut, so a server
that accepts and never answers, or drips its headers, cannot hold a call longer.

No message, log line or ``base_url`` ever carries the password.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlencode

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    InsecureRequestWarning,
    MaxRetryError,
    NameResolutionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry
from urllib3.util.ssl_match_hostname import CertificateError

from runner.datameer import responses
from runner.datameer.credentials import redact_url, split_credentials
from runner.datameer.records import (
    ExecutionPlan,
    ExecutionStatus,
    RunningJob,
    ServerInfo,
    TriggerResult,
)
from runner.datameer.transport import Transport, encoding_of
from runner.datameer.versions import Capabilities, capabilities
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    EndpointUnavailableError,
    MalformedResponseError,
    MissingPasswordError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    UnreadableAnswerError,
    UsageError,
)
from runner.model import ServerSettings
from runner.reference import JobRef, PathEncoding, RefKind

if TYPE_CHECKING:
    from typing import Self

    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

    from runner.datameer.late_records import (
        ConfigurationStatus,
        ConfiguredFile,
        DeleteResult,
        HistoryEntry,
        JobDetails,
    )

log = logging.getLogger("runner.datameer.client")

T = TypeVar("T")

MAX_BODY_BYTES = 10 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIED_METHODS = frozenset({"GET", "DELETE"})
# A Retry-After longer than this is cut short: a one-shot CLI must not hang for hours.
MAX_RETRY_AFTER = 60.0
POOL_SIZE = 16

_NOT_FOUND_WORDS = ("doesn't exist", "does not exist", "not found", "no such")
_V2_HINT = "it needs Datameer 7.2.5+ or the REST v2 plugin"
# The largest id Datameer stores (a Java long); a longer number is a typing mistake.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for a connection, for each read of the answer, for its whole body
    once the headers came (a server dripping bytes never holds a call for longer), and
    ``total`` for the whole call: connecting, reading, retries and their waits."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0


@dataclass(frozen=True)
class _Call:
    """One request: what the user would call it, and where it goes."""

    name: str
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    # Set for endpoints some servers lack: what to say when the server has no such route.
    missing: str | None = None
    # For a POST: what its lost answer may mean.
    if_lost: str = "the server may have acted on it: check before sending it again"
    # A trigger: an unreadable success answer may hide a started job.
    starts_jobs: bool = False


@dataclass(frozen=True)
class _Answer:
    """A received answer; ``data`` is the decoded JSON, or None with ``is_json`` False."""

    status_code: int
    data: object
    is_json: bool
    text: str
    location: str | None
    retry_after: str | None = None


class _Retry(Retry):
    """urllib3's Retry that never repeats a POST, whatever the error, and caps Retry-After."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """Give up at once on a failed non-idempotent request; otherwise as urllib3 does."""
        pool = cast("ConnectionPool", _pool)
        if isinstance(error, urllib3.exceptions.SSLError) and not _in_tls_handshake(
            list(_causes(error))
        ):
            # The TLS stream broke under an answer: a read error (retried for a GET), not
            # an "other" error such as a refused certificate.
            error = urllib3.exceptions.ProtocolError("the TLS stream failed", error)
        if error is not None and method is not None and not self._is_method_retryable(method):
            raise MaxRetryError(pool, url, error) from error
        deadline = _Deadline.current()
        if deadline is not None and deadline.expired():
            # For a status answer urllib3 then hands back that answer (a 503 stays a 503).
            raise MaxRetryError(pool, url, error or _DeadlineError(deadline.seconds))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if (
            deadline is not None
            and response is not None
            and retry._wait(response) >= (deadline.remaining())
        ):
            # The server asks for a longer wait than the call has left: its answer stands.
            raise MaxRetryError(pool, url, _DeadlineError(deadline.seconds))
        return retry

    def _wait(self, response: BaseHTTPResponse) -> float:
        """How long ``sleep(response)`` would wait before the next attempt."""
        after = None
        if self.respect_retry_after_header and response.status in self.RETRY_AFTER_STATUS_CODES:
            after = self.get_retry_after(response)
        return after if after else self.get_backoff_time()

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """The server's Retry-After in seconds, at most ``MAX_RETRY_AFTER``."""
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER, _time_left())

    def get_backoff_time(self) -> float:
        """urllib3's backoff, never past the call's deadline."""
        return min(super().get_backoff_time(), _time_left())


def _time_left() -> float:
    deadline = _Deadline.current()
    return float("inf") if deadline is None else deadline.remaining()


class _DeadlineError(urllib3.exceptions.TimeoutError):
    """The whole call took longer than ``Timeout.total``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"no complete answer within {seconds:g}s")


class _Deadline:
    """The end of one call's time; once past it, the call's connections are cut.

    The calling thread's deadline is found with ``current()``: urllib3's pools and
    retries run in that thread, inside ``DatameerClient._request``.
    """

    _local = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.finished = False
        self._cut = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection | socket.socket] = []

    @classmethod
    def current(cls) -> _Deadline | None:
        """The deadline of the call this thread is making, if any."""
        deadline: _Deadline | None = getattr(cls._local, "deadline", None)
        return deadline

    def __enter__(self) -> Self:
        self._local.deadline = self
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._local.deadline = None
        with self._lock:
            self.finished = True
            self._connections.clear()

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def expired(self) -> bool:
        return self._cut or time.monotonic() >= self.ends

    def watch(self, connection: HTTPConnection | socket.socket) -> None:
        """Cut ``connection`` (a pooled connection, or the socket a new one opened) when
        the time is up; at once if it already is."""
        with self._lock:
            if not self.expired():
                self._connections.append(connection)
                return
        raise _DeadlineError(self.seconds)

    def cut(self) -> None:
        """Shut the call's sockets down: a read blocked on them returns at once."""
        with self._lock:
            if self.finished:
                return
            self._cut = True
            for connection in self._connections:
                sock = connection if isinstance(connection, socket.socket) else connection.sock
                if sock is not None:
                    # socket.socket's own shutdown, also for an SSLSocket: only the file
                    # descriptor is touched, never the TLS state another thread is using.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that cuts the calls that outlive their deadline."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._pending: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: _Deadline) -> None:
        with self._changed:
            heapq.heappush(self._pending, (deadline.ends, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="dmpipe-call-deadlines", daemon=True
                )
                self._thread.start()
            elif self._pending[0][2] is deadline:
                self._changed.notify()

    def _watch(self) -> None:
        while True:
            self._next_due().cut()

    def _next_due(self) -> _Deadline:
        with self._changed:
            while True:
                while self._pending and self._pending[0][2].finished:
                    heapq.heappop(self._pending)
                if not self._pending:
                    self._changed.wait()
                    continue
                delay = self._pending[0][0] - time.monotonic()
                if delay <= 0:
                    return heapq.heappop(self._pending)[2]
                self._changed.wait(delay)


_WATCHDOG = _Watchdog()


def _watched(connection: HTTPConnection) -> HTTPConnection:
    deadline = _Deadline.current()
    if deadline is not None:
        deadline.watch(connection)
    return connection


def _watch_socket(sock: socket.socket | None) -> None:
    # http.client drops ``conn.sock`` once an answer that closes the connection has its
    # headers; the socket itself goes on carrying the body, so it is watched on its own.
    deadline = _Deadline.current()
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _HTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)


class _HTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)


class _HTTPPool(HTTPConnectionPool):
    """A pool whose connections are cut when their call's deadline passes."""

    ConnectionCls = _HTTPConnection

    def _get_conn(self, timeout: float | None = None) -> HTTPConnection:
        connection = cast(HTTPConnection, super()._get_conn(timeout))
        _watch_socket(connection.sock)
        return _watched(connection)


class _HTTPSPool(HTTPSConnectionPool):
    """The https pool, cut like ``_HTTPPool``."""

    ConnectionCls = _HTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> HTTPSConnection:
        connection = cast(HTTPSConnection, super()._get_conn(timeout))
        _watch_socket(connection.sock)
        return cast(HTTPSConnection, _watched(connection))


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


def new_retry(retries: int = 3, backoff_factor: float = 0.5) -> Retry:
    """The client's retries: GET/DELETE on connection errors and RETRY_STATUSES, never POST."""
    return _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=RETRIED_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=30.0,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def new_session(
    base_url: str,
    *,
    verify: bool | str = True,
    auth: tuple[str, str] | None = None,
    retries: int = 3,
    backoff_factor: float = 0.5,
) -> Transport:
    """Pooled connections to ``base_url`` (proxy, CA and netrc login from the environment,
    read once) that retry GET/DELETE (never POST) and honour the call deadline."""
    return Transport(
        base_url,
        verify=verify,
        auth=auth,
        retries=new_retry(retries, backoff_factor),
        pool_classes=_POOL_CLASSES,
        num_pools=4,
        maxsize=POOL_SIZE,
    )


class DatameerClient:
    """Speaks the Datameer REST API of one server; one method per endpoint, no policy.

    By default the client makes its own pooled, retrying transport (``new_session``);
    a ``session`` passed in is used as it is, its own ``Retry`` deciding any retries.
    Safe to share between threads, as the engine's pollers do.
    """

    def __init__(
        self,
        base_url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        session: Transport | None = None,
        verify: bool | str = True,
        timeout: Timeout = Timeout(),
        retries: int = 3,
        backoff_factor: float = 0.5,
        version: str | None = None,
        path_encoding: PathEncoding | str | None = None,
        configurations: Mapping[JobRef, int] | None = None,
        detect_version: bool = False,
    ) -> None:
        """``version`` (``server.version``/``--datameer-version``) replaces the server's own
        answer; ``path_encoding`` fixes how paths are written (None: detected on the first
        status GET of a path); ``configurations`` maps references to job-configuration ids,
        which the legacy calls of a server without REST v2 need; ``detect_version`` asks
        ``/rest/license-details`` once, before the first call whose endpoint depends on it
        (off: an unknown version is taken for a current server, and a missing ``/api/...``
        found on first use switches to the legacy calls)."""
        self.base_url, url_user, url_password = split_credentials(base_url)
        user = user or url_user
        password = password if password is not None else url_password
        self._user = user
        self._auth = (user, password or "") if user else None
        self._timeout = timeout
        self._owns_session = session is None
        if session is None:
            session = new_session(
                self.base_url,
                verify=_check_verify(verify),
                auth=self._auth,
                retries=retries,
                backoff_factor=backoff_factor,
            )
        self._session = session
        self._verify = session.verify
        self._urllib3_timeout = urllib3.Timeout(connect=timeout.connect, read=timeout.read)
        self._version_setting = version.strip() if version and version.strip() else None
        self._detect_version = detect_version
        self._capabilities: Capabilities | None = None
        self._encoding = None if path_encoding is None else PathEncoding(path_encoding)
        self._encoding_detected = False
        self._configurations: dict[JobRef, int] = dict(configurations or {})
        self._checked: set[JobRef] = set()
        self._state_lock = threading.RLock()
        self._version_look: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: ServerSettings, **kw: Any) -> DatameerClient:
        """A client for resolved settings (see ``runner.datameer.credentials.resolve_server``)."""
        if not settings.url:
            raise UsageError("no Datameer server: pass --server or set DATAMEER_URL")
        if settings.user and settings.password is None:
            raise MissingPasswordError(
                f"no password for user {settings.user!r}: set DATAMEER_PASSWORD, "
                "DATAMEER_PASSWORD_FILE or ~/.netrc"
            )
        verify: bool | str = settings.ca_bundle or settings.verify_tls
        kw.setdefault("verify", verify)
        kw.setdefault("version", settings.version)
        kw.setdefault("path_encoding", settings.path_encoding)
        return cls(settings.url, user=settings.user, password=settings.password, **kw)

    def __repr__(self) -> str:
        return f"DatameerClient({self.base_url!r}, user={self._user!r})"

    @property
    def user(self) -> str | None:
        """The user the client logs in as (None: no credentials sent)."""
        return self._user

    @property
    def verify(self) -> bool | str:
        """TLS verification: True (system CAs), a CA bundle file, or False (off)."""
        return self._verify

    def close(self) -> None:
        """Release the pooled connections (a session passed in is left to its owner)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- endpoints ---------------------------------------------------------------------

    def job_status(self, configuration_id: int) -> ConfigurationStatus:
        """v1 status of a job configuration (``{}`` from the server means it never ran)."""
        call = _Call(
            f"job status v1 for configuration {configuration_id}",
            "GET",
            f"/rest/job-configuration/job-status/{_id(configuration_id)}",
        )
        return self._fetch(call, responses.configuration_status, configuration_id)

    def execution_status(self, ref: JobRef) -> ExecutionStatus:
        """Status of the LATEST execution of an artifact (right after a trigger it may
        still be the previous one: correlate on the execution id).

        REST v2 when the server has it; on a server without it, the v1 status of the
        artifact's job configuration (see ``configurations``)."""
        if self.capabilities().legacy:
            return self._legacy_status(ref)
        try:
            return self._v2_status(ref)
        except EndpointUnavailableError as error:
            self._lacks_v2(ref, error)
            return self._legacy_status(ref)

    def v2_status(self, ref: JobRef) -> ExecutionStatus:
        """``GET /api/job-execution/<ref>/status`` itself, whatever the server's version."""
        return self._v2_status(ref)

    def _v2_status(self, ref: JobRef) -> ExecutionStatus:
        if ref.kind is not RefKind.PATH or self._encoding is not None:
            call = self._status_call(ref, self.path_encoding)
            return self._fetch(call, responses.execution_status)
        return self._detect_encoding(ref)

    def _status_call(self, ref: JobRef, encoding: PathEncoding) -> _Call:
        return _Call(
            f"job status v2 for {ref.describe()}",
            "GET",
            f"/api/job-execution/{_segment(ref, encoding)}/status",
            missing=f"{_V2_HINT}; try the legacy call: dmpipe job status --v1 CONFIG_ID",
        )

    def _detect_encoding(self, ref: JobRef) -> ExecutionStatus:
        """Try each path encoding with a GET; remember the first the server answers."""
        refused: ApiError | None = None
        for encoding in PathEncoding:
            try:
                status = self._fetch(self._status_call(ref, encoding), responses.execution_status)
            except EndpointUnavailableError:
                raise
            except ApiError as error:
                # Not found in this form (or refused: Tomcat answers 400 to an encoded slash).
                if not isinstance(error, NotFoundError) and error.status_code != 400:
                    raise
                refused = refused or error
                continue
            with self._state_lock:
                if self._encoding is None:
                    self._encoding, self._encoding_detected = encoding, True
                    log.debug("paths are written %s on %s", encoding.value, self.base_url)
            return status
        assert refused is not None
        raise refused

    @property
    def path_encoding(self) -> PathEncoding:
        """How paths are written: set, detected, or the reference's ``plus`` until detected."""
        return self._encoding or PathEncoding.PLUS

    @property
    def path_encoding_source(self) -> str:
        """``set``, ``detected``, or ``default`` (not detected yet)."""
        if self._encoding is None:
            return "default"
        return "detected" if self._encoding_detected else "set"

    def license_details(self) -> ServerInfo:
        """``GET /rest/license-details``: the server's ``ProductVersion``."""
        call = _Call("server version (license details)", "GET", "/rest/license-details")
        return self._fetch(call, responses.server_info)

    def capabilities(self) -> Capabilities:
        """The endpoints this client uses on the server: by ``version`` if set, else by the
        version the server says (asked once, cached), else assuming a current server."""
        with self._state_lock:
            if self._capabilities is None:
                self._capabilities = self._detect_capabilities()
            return self._capabilities

    def look_up_version_ahead(self) -> threading.Thread | None:
        """Ask the server's version now, in a thread of its own, so that the first call
        whose endpoint depends on it (a status look, a trigger) finds it known instead of
        waiting one more round trip; calls that need no version (``list-running``) go out
        meanwhile.  Those calls wait for the look (``capabilities()``), so nothing is sent
        to an endpoint chosen before the version is known; ``license-details`` is still
        asked once.  A look that fails for a reason that may pass (a busy server, no
        answer) is not kept: the first call that needs the version asks again, as it would
        have without the look-ahead.  Returns the look's thread; None (nothing started)
        without ``detect_version``, with a ``version`` setting, or once known or asked."""
        with self._state_lock:
            if (
                not self._detect_version
                or self._version_setting is not None
                or self._capabilities is not None
                or self._version_look is not None
            ):
                return None
            self._version_look = threading.Thread(
                target=self._look_up_version, name="dmpipe-version", daemon=True
            )
            self._version_look.start()
            return self._version_look

    def _look_up_version(self) -> None:
        with self._state_lock:
            if self._capabilities is not None:  # a caller was first
                return
            try:
                self._capabilities = self._detect_capabilities(ahead=True)
            except Exception as error:  # the first caller that needs it asks again
                log.debug("version look-ahead: %s", error)

    def server_version(self) -> str | None:
        """The server's version (or the ``version`` setting); None when unknown."""
        return self.capabilities().version

    def add_configurations(self, configurations: Mapping[JobRef, int]) -> None:
        """Learn job-configuration ids of references (for the legacy calls)."""
        with self._state_lock:
            self._configurations.update(configurations)

    def _detect_capabilities(self, *, ahead: bool = False) -> Capabilities:
        if self._version_setting is not None:
            return capabilities(self._version_setting, "setting")
        if not self._detect_version:
            return capabilities(None, "unknown")
        try:
            info = self.license_details()
        except (ConnectionFailedError, OutcomeUnknownError):
            raise
        except AuthenticationError as error:
            if error.status_code != 403:
                raise
            log.debug("no version: %s", error)  # a user who may not read the license
            return capabilities(None, "unknown")
        except ApiError as error:
            if ahead and isinstance(error, (ServerError, ThrottledError)):
                raise  # a busy server: the first call that needs the version asks again
            log.debug("no version: %s", error)
            return capabilities(None, "unknown")
        return capabilities(info.version, "server")

    def _lacks_v2(self, ref: JobRef, error: EndpointUnavailableError) -> None:
        """A first call met a missing ``/api/...``: use the legacy calls from now on
        (never the same 404 again), if the reference's configuration is known."""
        with self._state_lock:
            current = self.capabilities()
            if not current.legacy:
                self._capabilities = replace(current, api_v2=False, v2_missing_seen=True)
                log.info("%s has no REST v2 endpoints: using the legacy calls", self.base_url)
        if ref not in self._configurations:
            reason = f"{error.reason}; {_no_configuration(ref, self._capabilities)}"
            raise EndpointUnavailableError(error.call, error.url, reason, 404) from error

    def _configuration_of(self, ref: JobRef, action: str) -> int:
        configuration = self._configurations.get(ref)
        if configuration is None:
            what = f"{action} of {ref.describe()}"
            raise EndpointUnavailableError(
                what, self.base_url, _no_configuration(ref, self._capabilities)
            )
        if ref not in self._checked:
            self._check_configuration(ref, configuration)
            self._checked.add(ref)
        return configuration

    def configured_file(self, configuration_id: int, kind: str) -> ConfiguredFile:
        """The artifact of a job configuration: ``kind`` is ``workbook``, ``import-job``
        (also data links and uploads) or ``export-job``."""
        segment = {"workbook": "workbook", "import-job": "import-job", "export-job": "export-jobs"}
        if kind not in segment:
            raise UsageError(f"unknown artifact kind {kind!r}: workbook, import-job or export-job")
        call = _Call(
            f"{kind} of configuration {configuration_id}",
            "GET",
            f"/rest/{segment[kind]}/{_id(configuration_id)}",
        )
        return self._fetch(call, responses.configured_file, configuration_id)

    def _check_configuration(self, ref: JobRef, configuration: int) -> None:
        """Before the legacy calls act on ``configuration``: the documented read call of
        its artifact must not name another one (a typo would run the wrong job).  What
        cannot be read (no such call, a file id to compare with) is let through."""
        if ref.kind is RefKind.FILE_ID:
            return  # the read call tells path and uuid, never the file id
        for kind in _kinds_to_try(ref):
            try:
                found = self.configured_file(configuration, kind)
            except (AuthenticationError, ConnectionFailedError):
                raise
            except ApiError as error:
                log.debug("configuration %s as %s: %s", configuration, kind, error)
                continue
            named = found.path if ref.kind is RefKind.PATH else found.uuid
            if named is not None and named != ref.value:
                raise NotFoundError(
                    f"check of configuration {configuration}",
                    self.base_url,
                    f"configuration {configuration} is the {kind} {named}, not "
                    f"{ref.describe()}: fix the job's configuration_id",
                )
            return

    def _legacy_status(self, ref: JobRef) -> ExecutionStatus:
        """The v1 status of the reference's configuration, as an ``ExecutionStatus``."""
        status = self.job_status(self._configuration_of(ref, "job status"))
        return ExecutionStatus(
            status=status.status, raw_status=status.raw_status, execution_id=status.execution_id
        )

    def job_history(
        self, configuration_id: int, start: int = 0, length: int = 10
    ) -> list[HistoryEntry]:
        """Executions of a configuration, newest first; empty when it never ran."""
        call = _Call(
            f"job history of configuration {configuration_id}",
            "GET",
            f"/rest/job-configuration/job-history/{_id(configuration_id)}",
            query=urlencode({"start": _id(start), "length": _id(length)}),
        )
        return self._fetch(call, responses.history)

    def job_details(self, execution_id: int) -> JobDetails:
        """Counters, counts, status and times of one execution (either response shape)."""
        call = _Call(
            f"job details of execution {execution_id}",
            "GET",
            f"/rest/job-execution/job-details/{_id(execution_id)}",
        )
        return self._fetch(call, responses.job_details, execution_id)

    def list_running(self) -> list[RunningJob]:
        """Every queued or running execution on the server."""
        call = _Call("list of running jobs", "GET", "/rest/jobs/list-running")
        return self._fetch(call, responses.running)

    def trigger(self, ref: JobRef) -> TriggerResult:
        """Start an artifact's job; an answer lost on the way raises OutcomeUnknownError.

        On a server without REST v2 (by version, or a servlet 404 here, which started
        nothing) the legacy trigger of the reference's configuration."""
        if self.capabilities().legacy:
            return self.trigger_legacy(self._configuration_of(ref, "trigger"))
        call = _Call(
            f"trigger of {ref.describe()}",
            "POST",
            f"/api/job-execution/{_segment(ref, self.path_encoding)}/trigger",
            missing=f"{_V2_HINT}; try the legacy call: dmpipe job trigger --legacy CONFIG_ID",
            if_lost=_LOST_TRIGGER,
            starts_jobs=True,
        )
        try:
            return self._fetch(call, responses.trigger)
        except EndpointUnavailableError as error:
            self._lacks_v2(ref, error)
            return self.trigger_legacy(self._configuration_of(ref, "trigger"))

    def trigger_sequence(
        self, file_ids: Sequence[int], variables: Mapping[str, str] | None = None
    ) -> ExecutionPlan:
        """Start artifacts and their data-driven downstream chain, with workbook variables."""
        if not file_ids:
            raise UsageError("the sequential trigger needs at least one file id")
        ids = [_id(file_id) for file_id in file_ids]
        known = self.capabilities()
        body = {"variables": dict(variables or {}), "fileIds": ids}
        name = f"sequential trigger of file{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"
        call = _Call(
            name,
            "POST",
            "/rest/job-execution",
            query=urlencode({"sequence": ",".join(map(str, ids))}, safe=","),
            body=json.dumps(body).encode(),
            missing="the sequential trigger needs Datameer 7.5.2+; use mode: client",
            if_lost="it may have started jobs: check their status before triggering again",
            starts_jobs=True,
        )
        if known.sequential is False:
            # Nothing is sent: an older server would take the POST for a legacy trigger.
            raise EndpointUnavailableError(
                name,
                self._url(call),
                "the server has no such endpoint: the sequential trigger needs Datameer "
                f"7.5.2+ (the server is {known.version}); use mode: client",
            )
        try:
            return self._fetch(call, responses.execution_plan)
        except ApiError as error:
            if error.status_code != 400 or known.sequential is not None:
                raise
            # Before 7.5.2, POST /rest/job-execution is the legacy trigger, which refuses a
            # call without ?configuration=: nothing started.
            raise EndpointUnavailableError(
                name,
                error.url,
                "the server has no such endpoint: the sequential trigger needs Datameer "
                f"7.5.2+ (it answered: {error.reason}); use mode: client",
                400,
            ) from error

    def stop(self, ref: JobRef) -> None:
        """Ask the server to stop the artifact's running execution; the answer has no body.

        Without REST v2: the legacy kill of the configuration's latest execution, if active."""
        if self.capabilities().legacy:
            self._legacy_stop(ref)
            return
        call = _Call(
            f"stop of {ref.describe()}",
            "POST",
            f"/api/job-execution/{_segment(ref, self.path_encoding)}/stop",
            missing=f"{_V2_HINT}; try the legacy call: dmpipe job stop --legacy EXECUTION_ID",
            if_lost="it may have been done: check the job's status",
        )
        try:
            self._no_body(call)
        except EndpointUnavailableError as error:
            self._lacks_v2(ref, error)
            self._legacy_stop(ref)

    def _legacy_stop(self, ref: JobRef) -> None:
        status = self._legacy_status(ref)
        if status.status.is_active and status.execution_id is not None:
            self.stop_legacy(status.execution_id)

    def delete_data(self, data_id: int) -> DeleteResult:
        """Mark a job's data for deletion; ``deleted`` is False when it already was."""
        call = _Call(f"delete of data {data_id}", "DELETE", f"/rest/data/{_id(data_id)}")
        return self._fetch(call, responses.delete_result, data_id)

    def trigger_legacy(self, configuration_id: int) -> TriggerResult:
        """Start a job configuration through the pre-7.2.5 call (no REST v2 plugin needed)."""
        call = _Call(
            f"legacy trigger of configuration {configuration_id}",
            "POST",
            "/rest/job-execution",
            query=urlencode({"configuration": _id(configuration_id)}),
            if_lost=_LOST_TRIGGER,
            starts_jobs=True,
        )
        return self._fetch(call, responses.legacy_trigger)

    def stop_legacy(self, execution_id: int) -> None:
        """Stop one execution through the pre-7.2.5 call."""
        call = _Call(
            f"legacy stop of execution {execution_id}",
            "POST",
            f"/rest/job-execution/job-kill/{_id(execution_id)}",
            if_lost="it may have been done: check the execution's status",
        )
        self._no_body(call)

    # -- one request ---------------------------------------------------------------------

    def _url(self, call: _Call) -> str:
        if any(part in (".", "..") for part in call.path.split("/")):
            # requests/urllib3 would collapse it and call another endpoint than this one.
            raise UsageError(f"{call.name}: refusing to send a URL with . or .. segments")
        return f"{self.base_url}{call.path}" + (f"?{call.query}" if call.query else "")

    def _no_body(self, call: _Call) -> None:
        """Send a call whose success has no body; a page that is not JSON is not a success
        (a proxy's login page, say)."""
        answer = self._request(call)
        if answer.text.strip() and not answer.is_json:
            raise self._unreadable(call, f"the answer is not JSON: {_excerpt(answer.text)}")

    def _fetch(self, call: _Call, parser: Callable[..., T], *args: object) -> T:
        """Send ``call`` and parse its JSON answer into a record with ``parser``."""
        answer = self._request(call)
        if not answer.is_json:
            raise self._unreadable(call, f"the answer is not JSON: {_excerpt(answer.text)}")
        try:
            return parser(answer.data, *args)
        except responses.ShapeError as error:
            said = responses.server_message(answer.data)
            if said is not None:
                words = _server_text(said)
                if _says_not_found(words):
                    raise NotFoundError(call.name, self._url(call), words) from None
                raise self._unreadable(call, f"the server says: {words}") from None
            raise self._unreadable(call, f"unexpected answer: {error}") from None

    def _unreadable(self, call: _Call, what: str) -> ApiError:
        """The error for a success answer that cannot be read, by what the call was."""
        url = self._url(call)
        if call.starts_jobs:
            return OutcomeUnknownError(
                call.name, url, f"the server said yes but {what}; {call.if_lost}"
            )
        if call.method == "GET":
            return UnreadableAnswerError(call.name, url, what)
        return MalformedResponseError(call.name, url, what)

    def _request(self, call: _Call) -> _Answer:
        """Send ``call`` and return its answer if it is a success; raise ours otherwise."""
        url = self._url(call)
        started = time.monotonic()
        with _Deadline(self._timeout.total) as deadline:
            try:
                response = self._send(call, url)
                try:
                    answer = _read(call, url, response, self._timeout.read)
                finally:
                    # A body read to its end has already given its connection back to
                    # the pool; one left unread closes it (it cannot carry another call).
                    response.close()
                    response.release_conn()
                if deadline.expired():  # cut short: what came may be a fragment
                    raise urllib3.exceptions.ProtocolError("the answer was cut at the deadline")
            except DecodeError as error:
                # The answer came, but not in the Content-Encoding it names: no broken
                # connection.  A success that cannot be read is the call's unreadable
                # answer (for a trigger, an unknown outcome); a failure keeps its status.
                what = _undecodable(response, error)
                if 200 <= response.status < 300:
                    raise self._unreadable(call, what) from None
                headers = response.headers
                answer = _Answer(
                    response.status,
                    None,
                    False,
                    what,
                    headers.get("Location"),
                    headers.get("Retry-After"),
                )
            except (urllib3.exceptions.HTTPError, OSError) as error:
                log.debug("%s %s -> %s", call.method, url, type(error).__name__)
                raise self._transport_error(call, url, error, deadline) from error
            except _TooBigError as error:
                raise self._unreadable(call, str(error)) from None
        log.debug(
            "%s %s -> %s in %.3fs",
            call.method,
            url,
            answer.status_code,
            time.monotonic() - started,
        )
        self._raise_for_failure(call, url, answer)
        return answer

    def _send(self, call: _Call, url: str) -> BaseHTTPResponse:
        headers = {"Accept": "application/json"}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return self._session.request(
            call.method, url, body=call.body, headers=headers, timeout=self._urllib3_timeout
        )

    # -- translating failures ------------------------------------------------------------

    def _transport_error(
        self, call: _Call, url: str, error: BaseException, deadline: _Deadline
    ) -> ApiError:
        causes = list(_causes(error))
        if deadline.expired():
            causes.insert(0, _DeadlineError(deadline.seconds))
        if call.method == "POST" and not _nothing_sent(causes):
            return OutcomeUnknownError(
                call.name,
                url,
                f"the connection broke after the request was sent ({self._broke(causes)}); "
                f"{call.if_lost}",
            )
        if _in_tls_handshake(causes):
            return ConnectionFailedError(call.name, url, _tls_reason(causes))
        dropped = not _nothing_sent(causes) and not _timed_out(causes)
        return ConnectionFailedError(
            call.name, url, self._unreachable_reason(causes), dropped=dropped
        )

    def _broke(self, causes: list[BaseException]) -> str:
        """How a connection broke after the request left, in a few words."""
        if isinstance(causes[0], _DeadlineError):
            return f"no complete answer within {self._timeout.total:g}s"
        if any(isinstance(cause, ssl.SSLError) for cause in causes):
            return f"the TLS stream failed: {_transport_reason(causes)}"
        return _transport_reason(causes)

    def _unreachable_reason(self, causes: list[BaseException]) -> str:
        if isinstance(causes[0], _DeadlineError):
            return (
                f"no complete answer within {self._timeout.total:g}s, retries included "
                "(the limit of one call)"
            )
        if any(isinstance(cause, ssl.SSLError) for cause in causes):
            return f"the TLS stream failed ({_transport_reason(causes)})"
        if any(isinstance(cause, _SlowAnswerError) for cause in causes):
            return (
                f"the answer was still arriving after {self._timeout.read:g}s: the server "
                "sends too slowly (raise the limit with --timeout)"
            )
        if any(isinstance(cause, NameResolutionError | socket.gaierror) for cause in causes):
            return f"cannot resolve the host name of {self.base_url}"
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return "connection refused: is the server running and the URL right?"
        if any(type(cause) is ConnectTimeoutError for cause in causes):
            return f"no connection within {self._timeout.connect:g}s"
        if any(_is_read_timeout(cause) for cause in causes):
            return f"no answer within {self._timeout.read:g}s (raise it with --timeout)"
        return f"the connection failed ({_transport_reason(causes)})"

    def _raise_for_failure(self, call: _Call, url: str, answer: _Answer) -> None:
        code = answer.status_code
        reason = responses.failure_reason(answer.data) if answer.is_json else None
        if reason is None and code >= 400 and answer.is_json:
            # An error status with an undocumented body: {"error": ...}, {"message": ...}.
            reason = responses.server_message(answer.data)
        reason = None if reason is None else _server_text(reason)
        if code in (401, 403):
            raise AuthenticationError(call.name, url, self._auth_reason(code, reason), code)
        if 300 <= code < 400:
            raise ApiError(call.name, url, _redirect_reason(answer.location), code)
        if code == 404:
            raise _not_found(call, url, answer, reason)
        if code == 429:
            raise ThrottledError(call.name, url, _throttled_reason(reason, answer), code)
        if code >= 500:
            raise ServerError(call.name, url, reason or "the server failed", code)
        if code >= 400:
            raise ApiError(call.name, url, reason or _excerpt(answer.text), code)
        if reason is not None:
            kind = NotFoundError if _says_not_found(reason) else ApiError
            raise kind(call.name, url, reason)

    def _auth_reason(self, code: int, reason: str | None) -> str:
        if code == 403:
            return reason or f"user {self._user!r} is not allowed to do this"
        if self._auth is None:
            return (
                "the server wants credentials: set DATAMEER_USER and DATAMEER_PASSWORD "
                "(or DATAMEER_PASSWORD_FILE, or ~/.netrc)"
            )
        return f"the server refused the credentials of user {self._user!r}"


# -- helpers -----------------------------------------------------------------------------


# What a trigger whose answer was lost may have done (its call names the artifact).
_LOST_TRIGGER = "it may have started a job: check its status before triggering again"


def _segment(ref: JobRef, encoding: PathEncoding) -> str:
    """The reference in a URL; a path an HTTP stack would rewrite is refused, not sent."""
    try:
        return ref.url_segment(encoding)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _kinds_to_try(ref: JobRef) -> tuple[str, ...]:
    """The artifact kinds whose read call may know ``ref``'s configuration, likeliest first."""
    extension = ref.value.rsplit(".", 1)[-1].lower() if ref.kind is RefKind.PATH else ""
    by_extension = {"wbk": "workbook", "imp": "import-job", "upl": "import-job"}
    by_extension |= {"lnk": "import-job", "exp": "export-job"}
    first = by_extension.get(extension)
    kinds = ("workbook", "import-job", "export-job")
    return (first,) if first else kinds


def _no_configuration(ref: JobRef, known: Capabilities | None) -> str:
    server = f"the server ({known.version})" if known and known.version else "the server"
    return (
        f"{server} has no REST v2 endpoints (/api/..., Datameer 7.2.5+ or the REST v2 "
        f"plugin); the legacy calls dmpipe uses instead need the job configuration id of "
        f"{ref.describe()}: add configuration_id: to the job in a pipeline file; "
        "dmpipe job takes that id as status --v1 CONFIG_ID or trigger --legacy CONFIG_ID"
    )


def _check_verify(verify: bool | str) -> bool | str:
    if isinstance(verify, str) and not Path(verify).is_file():
        raise UsageError(f"the CA bundle {verify} is not a readable file")
    if verify is False:
        # The user chose this (--insecure warns once); a warning per request adds nothing.
        urllib3.disable_warnings(InsecureRequestWarning)
    return verify


def _id(value: int) -> int:
    """An id for a URL; a negative or huge number, or a bool, is a caller's mistake."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"an id must be a non-negative whole number, got {value!r}")
    if value > MAX_ID:
        raise UsageError(f"an id has at most 19 digits, got one of {len(str(value))} digits")
    return value


def _throttled_reason(reason: str | None, answer: _Answer) -> str:
    said = f": {reason}" if reason else ""
    after = answer.retry_after
    wait = f" (it asked to wait {_server_text(after, 40)}s)" if after else ""
    return f"the server is throttling requests (Too Many Requests){said}{wait}; try again later"


def _read(call: _Call, url: str, response: BaseHTTPResponse, seconds: float) -> _Answer:
    """The answer with its body read (at most ``MAX_BODY_BYTES``, within ``seconds``) and
    decoded if JSON."""
    body = _read_capped(call, url, response, seconds)
    try:
        text = body.decode(encoding_of(response.headers.get("Content-Type")) or "utf-8", "replace")
    except LookupError:  # a charset Python does not know: the text is only for messages
        text = body.decode("utf-8", errors="replace")
    data: object = None
    is_json = False
    if body.strip():
        try:
            data = json.loads(body)
            is_json = True
        except (ValueError, RecursionError):
            pass
    headers = response.headers
    return _Answer(
        response.status,
        data,
        is_json,
        text,
        headers.get("Location"),
        headers.get("Retry-After"),
    )


def _read_capped(call: _Call, url: str, response: BaseHTTPResponse, seconds: float) -> bytes:
    del call, url
    too_big = _TooBigError(f"the answer is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    # read1 returns whatever one socket read brings: a byte-a-second server cannot park
    # the loop inside a 64 KB read, so the deadline is checked as the bytes come.
    while chunk := response.read1(64 * 1024, decode_content=True):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        if time.monotonic() > deadline:
            raise _SlowAnswerError(f"the answer was still arriving after {seconds:g}s")
        chunks.append(chunk)
    return b"".join(chunks)


def _undecodable(response: BaseHTTPResponse, error: DecodeError) -> str:
    """What to say of an answer whose body does not decode as its Content-Encoding says."""
    encoding = _server_text(response.headers.get("Content-Encoding", ""), 40)
    reason = _transport_reason(list(_causes(error)))
    return f"the answer cannot be decoded as its Content-Encoding ({encoding}) says ({reason})"


class _TooBigError(Exception):
    """The answer is over ``MAX_BODY_BYTES``; becomes the call's unreadable-answer error."""


class _SlowAnswerError(urllib3.exceptions.TimeoutError):
    """The body kept arriving, too slowly to ever finish (a slow-loris server)."""


def _not_found(call: _Call, url: str, answer: _Answer, reason: str | None) -> ApiError:
    if reason is not None:
        return NotFoundError(call.name, url, reason, 404)
    if call.missing is not None and not answer.is_json:
        return EndpointUnavailableError(
            call.name, url, f"the server has no such endpoint: {call.missing}", 404
        )
    return NotFoundError(call.name, url, "not found", 404)


def _says_not_found(reason: str) -> bool:
    lowered = reason.lower()
    return any(words in lowered for words in _NOT_FOUND_WORDS)


def _redirect_reason(location: str | None) -> str:
    if not location:
        return "the server answered with a redirect and no Location"
    # Drop any user:password@ (and the query, which may carry a token): never shown.
    return _redirects_to(redact_url(location.partition("#")[0].partition("?")[0]) or "")


def _redirects_to(target: str) -> str:
    return (
        f"the server redirects to {_server_text(target)}; dmpipe does not follow redirects "
        "(use that address as the server URL)"
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps (causes, contexts, urllib3 reasons, args)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped.extend(current.args)
        pending.extend(item for item in wrapped if isinstance(item, BaseException))


def _nothing_sent(causes: list[BaseException]) -> bool:
    """True only with proof that the request never left: no connection could be made, the
    TLS handshake (which comes before any request byte) failed, or the call's time was up
    before a connection was handed to it."""
    if isinstance(causes[0], _DeadlineError) and not any(
        isinstance(cause, _DeadlineError) for cause in causes[1:]
    ):
        return False  # the deadline cut a call in flight
    return _in_tls_handshake(causes) or any(
        isinstance(
            cause,
            ConnectTimeoutError | ConnectionRefusedError | socket.gaierror | _DeadlineError,
        )
        for cause in causes
    )


# Frames of urllib3/ssl that only run while a connection is set up, before the request is
# written: an error raised inside one of them proves nothing was sent.
_HANDSHAKE_FRAMES = frozenset(
    {"_validate_conn", "do_handshake", "_ssl_wrap_socket_and_match_hostname"}
)


def _in_tls_handshake(causes: list[BaseException]) -> bool:
    """True when a TLS error came from setting the connection up, not from the stream.

    urllib3 wraps every ``ssl.SSLError`` as its own ``SSLError``, a handshake failure
    and an EOF while reading the answer alike; the traceback of the ``ssl`` error tells
    which phase raised it.
    """
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError | CertificateError):
            return True
        if isinstance(cause, ssl.SSLError | CertificateError) and _raised_in(
            cause, _HANDSHAKE_FRAMES
        ):
            return True
    return False


def _raised_in(error: BaseException, functions: frozenset[str]) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name in functions:
            return True
        traceback = traceback.tb_next
    return False


def _timed_out(causes: list[BaseException]) -> bool:
    """True when the call failed for want of time: its deadline, a read or a slow answer."""
    return isinstance(causes[0], _DeadlineError) or any(
        isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError) for cause in causes
    )


def _is_read_timeout(cause: BaseException) -> bool:
    return isinstance(cause, ReadTimeoutError | TimeoutError)


def _transport_reason(causes: list[BaseException]) -> str:
    """The innermost low-level error, in a few words."""
    for cause in reversed(causes):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    innermost = causes[-1]
    text = str(innermost).split(":")[-1].strip(" ')\"") or type(innermost).__name__
    return _excerpt(text)


def _tls_reason(causes: list[BaseException]) -> str:
    if any("CERTIFICATE_VERIFY_FAILED" in str(cause) for cause in causes):
        return (
            "TLS certificate verification failed: pass --ca-bundle FILE with the server's CA "
            "(or set DATAMEER_CA_BUNDLE); --insecure skips the check"
        )
    return (
        f"the TLS handshake failed ({_transport_reason(causes)}): does the server speak "
        "https on that port? For a private CA pass --ca-bundle FILE"
    )


def _server_text(text: str, limit: int = 300) -> str:
    """Text the server chose, safe for a terminal: one line, control characters escaped
    (no escape sequence reaches the user's screen), at most ``limit`` characters."""
    line = " ".join(text.split())
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in line)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _excerpt(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, for messages."""
    line = " ".join(text.split())
    if not line:
        return "an empty answer"
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")
