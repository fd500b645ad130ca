"""``EmulatorServer``: the simulation served over real HTTP on loopback, in a thread.

A ``ThreadingHTTPServer`` (daemon threads, HTTP/1.1 keep-alive) hands each request
to ``Api``; this module adds what only a transport has: counting requests,
injecting faults (latency, 5xx, dropped connections, lost answers, bad list-running
answers, a server that stops answering), the private ``/__emulator__/`` endpoints,
HTTPS with a given certificate, and stopping or restarting the listener on the same
port with the state kept.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runner.clock import VirtualClock
from runner.emulator import shapes
from runner.emulator.emulated_clock import Clock, v2_time
from runner.emulator.faults import NO_FAULT, FaultDecision, FaultInjector
from runner.emulator.ledger import Ledger
from runner.emulator.loading import faults_from_dict
from runner.emulator.routes import Api, Match, Request, Response, json_response, match
from runner.emulator.scenario import Faults, Scenario
from runner.emulator.simulation import Simulation
from runner.errors import ScenarioError, UsageError

log = logging.getLogger("runner.emulator")

PRIVATE_PREFIX = "/__emulator__/"
_MAX_BODY = 1024 * 1024
# A client that connects and never finishes the TLS handshake holds one thread this long.
_HANDSHAKE_TIMEOUT = 10.0
# A frozen server holds a request at most this long (real seconds), then cuts it.
_HANG_LIMIT = 600.0
_HUGE_ENTRIES = 100_000
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>\n"
    b"<body><h1>Datameer is down for maintenance</h1>\n"
    b"<p>We'll be back shortly. Please try again later.</p></body></html>\n"
)
_sleep = time.sleep  # the latency fault's seam: tests record it instead of waiting


class EmulatorServer:
    """A Datameer double serving ``scenario`` at ``url`` until ``stop()``.

    ``tls=(certfile, keyfile)`` serves HTTPS with that PEM certificate chain and key;
    ``clock`` runs the emulated time on an engine's virtual clock.
    """

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[str | Path, str | Path] | None = None,
        clock: VirtualClock | None = None,
    ) -> None:
        self.scenario = scenario
        self.host = host
        self.port = port
        self.tls = None if tls is None else _tls_context(*tls)
        # ``clock``: run on the engine's virtual time (see emulated_clock.Clock.follow).
        self.clock = Clock(scenario.time_scale, clock)
        self.ledger = Ledger()
        self.state = Simulation(scenario, self.clock, self.ledger)
        self._faults = FaultInjector(scenario.faults)
        self.api = Api(scenario, self.state, self._faults)
        # Set while the server answers; cleared by freeze(): requests then hang.
        self._thawed = threading.Event()
        self._thawed.set()
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:54321``: where the server listens (its port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the listener accepts connections."""
        return self._listener is not None

    def start(self) -> EmulatorServer:
        """Bind (port 0 picks a free port, kept for restarts) and serve in a daemon thread."""
        if self._listener is not None:
            return self
        listener = _Listener(self)
        self.port = listener.server_address[1]
        self._listener = listener
        self._thread = threading.Thread(
            target=listener.serve_until_woken, name=f"dmpipe-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection; the state is kept."""
        listener, thread = self._listener, self._thread
        self._listener = self._thread = None
        if listener is None:
            return
        self._thawed.set()  # release held requests: they see the server stopped and cut
        listener.wake()
        if thread is not None:
            thread.join()
        listener.server_close()
        listener.cut_connections()

    def pause_listener(self) -> None:
        """Be unreachable (connections refused) until ``resume_listener``; state kept."""
        self.stop()

    def resume_listener(self) -> None:
        """Listen again on the same port."""
        self.start()

    def restart(self) -> None:
        """Stop and start again on the same port with the state kept, like a server restart."""
        self.stop()
        self.start()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- run-time controls -----------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._faults.faults

    def set_faults(
        self, faults: Faults | Mapping[str, Any] | None = None, **changes: Any
    ) -> Faults:
        """Replace the faults: a ``Faults``, a ``faults:`` mapping, or keyword changes.

        ``set_faults()`` switches every fault off; ``set_faults(error_rate=0.5, seed=3)``
        starts from no faults; ``set_faults(current, drop_rate=0.1)`` changes one field.
        The random sequence restarts from the seed.
        """
        if faults is None or isinstance(faults, Mapping):
            base = faults_from_dict({**(faults or {}), **_yaml_keys(changes)}, source="set_faults")
        else:
            base = replace(faults, **changes)
        self._faults.replace(base)
        return base

    def freeze(self) -> None:
        """Stop answering: every API request from now on is held, unanswered, until
        ``unfreeze()``, ``stop()`` (which cuts them) or ten minutes pass."""
        self._thawed.clear()

    def unfreeze(self) -> None:
        """Answer again, held requests included."""
        self._thawed.set()

    @property
    def frozen(self) -> bool:
        """True while requests are held unanswered."""
        return not self._thawed.is_set()

    def hold_while_frozen(self) -> bool:
        """Wait while frozen; False when the held request must be cut instead of answered."""
        if self._thawed.is_set():
            return True
        self.count("fault:hang")
        return self._thawed.wait(_HANG_LIMIT) and self.running

    def note_request(self) -> None:
        """Count an API request for ``hang_after``; freeze when it says so."""
        if self._faults.note_request():
            self.freeze()

    def set_password(self, user: str, password: str) -> None:
        """Rotate ``user``'s password: calls with the old one answer 401 from now on."""
        try:
            self.api.catalog.set_password(user, password)
        except KeyError:
            raise UsageError(f"the scenario has no user {user!r}") from None

    def trigger_as(self, user: str, ref: str | int) -> int:
        """Start an execution of the artifact ``ref`` as ``user`` (any name), like another
        client of the server would; the ledger says ``via: control``. Its execution id."""
        artifact = self.api.catalog.by_ref(str(ref))
        if artifact is None:
            raise UsageError(f"no artifact {ref!r} in the scenario")
        return self.state.trigger(artifact, user, via="control").execution_id

    def list_running_fault(self) -> Response | None:
        """The bad answer this list-running call gets, if a fault says so."""
        kind = self._faults.decide_list_running()
        if kind is None:
            return None
        self.count(f"fault:list_running:{kind}")
        return _bad_list_running(kind)

    def stats(self) -> dict[str, int]:
        """Requests per endpoint (``"GET /rest/jobs/list-running"``...), ``total``, and faults."""
        with self._stats_lock:
            return dict(self._stats)

    def count(self, *keys: str) -> None:
        """Add one to each stats key."""
        with self._stats_lock:
            self._stats.update(keys)

    def decide_fault(self, path: str) -> FaultDecision:
        """The fault for a request to ``path``; none for the private endpoints."""
        if path.startswith(PRIVATE_PREFIX):
            return NO_FAULT
        return self._faults.decide(path)

    def private(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes = b""
    ) -> Response:
        """The ``/__emulator__/`` endpoints: ledger, state, stats, advance, faults (no auth)."""
        name = path[len(PRIVATE_PREFIX) :]
        if method == "GET" and name == "ledger":
            return json_response(200, self.ledger.to_json())
        if method == "GET" and name == "stats":
            return json_response(200, self.stats())
        if method == "GET" and name == "state":
            return json_response(200, self._state_json())
        if method == "POST" and name == "advance":
            return self._advance(query)
        if method == "POST" and name == "faults":
            return self._set_faults(body)
        if method == "POST" and name in ("freeze", "unfreeze"):
            (self.freeze if name == "freeze" else self.unfreeze)()
            return json_response(200, {"frozen": self.frozen})
        if method == "POST" and name == "password":
            return self._password(body)
        if method == "POST" and name == "trigger":
            return self._trigger_as(query)
        return json_response(404, shapes.failure(f"no such emulator endpoint: {method} {path}"))

    def _advance(self, query: Mapping[str, list[str]]) -> Response:
        try:
            seconds = float(query.get("seconds", ["0"])[0])
            now = self.clock.advance(seconds)
        except ValueError as error:
            return json_response(400, shapes.failure(f"seconds: {error}"))
        return json_response(200, {"now": self.state.now(), "clock": now})

    def _set_faults(self, body: bytes) -> Response:
        try:
            spec = json.loads(body or b"{}")
            faults = self.set_faults(spec if isinstance(spec, dict) else {"invalid": spec})
        except (ValueError, ScenarioError) as error:
            return json_response(400, shapes.failure(str(error)))
        return json_response(200, {"active": faults.active, "seed": faults.seed})

    def _password(self, body: bytes) -> Response:
        try:
            spec = json.loads(body or b"{}")
            user, password = spec["user"], spec["password"]
            if not isinstance(user, str) or not isinstance(password, str):
                raise ValueError("'user' and 'password' are texts")
            self.set_password(user, password)
        except (ValueError, KeyError, TypeError, UsageError) as error:
            reason = f"give a JSON body {{'user': ..., 'password': ...}}: {error}"
            return json_response(400, shapes.failure(reason))
        return json_response(200, {"user": user})

    def _trigger_as(self, query: Mapping[str, list[str]]) -> Response:
        user, ref = query.get("user", [""])[0], query.get("ref", [""])[0]
        if not user or not ref:
            return json_response(400, shapes.failure("give ?ref=<file id|uuid|path>&user=<name>"))
        try:
            execution_id = self.trigger_as(user, ref)
        except UsageError as error:
            return json_response(404, shapes.failure(str(error)))
        return json_response(200, {"job-execution-id": execution_id, "user": user})

    def _state_json(self) -> dict[str, Any]:
        now = self.state.now()
        return {
            "version": self.scenario.version,
            "now": now,
            "time": v2_time(now),
            "executions": [e.to_json() for e in self.state.executions()],
        }


def _tls_context(certfile: str | Path, keyfile: str | Path) -> ssl.SSLContext:
    """A server-side TLS context; UsageError when the files cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except OSError as error:  # ssl.SSLError included
        reason = error.strerror or error
        raise UsageError(f"cannot serve HTTPS with {certfile} and {keyfile}: {reason}") from None
    return context


def _yaml_keys(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword changes in ``faults:`` spelling (``latency=(0, 0.1)`` → ``[0, 0.1]``)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}


class _Listener(ThreadingHTTPServer):
    """The HTTP listener of one ``EmulatorServer``; tracks connections to cut them on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: EmulatorServer) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in owner.host else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        # serve_forever() polls for shutdown; a wake-up socket stops at once and idles at 0 CPU.
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__((owner.host, owner.port), _Handler)
        if owner.tls is not None:
            # The handshake runs in the request's thread (_Handler.handle), never in the
            # accept loop, where one silent client would block every other.
            self.socket = owner.tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def serve_until_woken(self) -> None:
        """Accept and dispatch connections until ``wake()``."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader:
                        return
                    self.handle_request()  # readable: accepts without blocking

    def wake(self) -> None:
        """Make ``serve_until_woken`` return."""
        self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Close every open keep-alive connection, as a process exit would."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _cut(connection)


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, applies faults, asks ``Api`` (or the private endpoints), answers."""

    server: _Listener
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(9.4.emulated)"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes: with Nagle on, a keep-alive client waits for
    # the delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True

    def handle(self) -> None:
        """Serve the connection's requests, once its TLS handshake (if any) succeeded."""
        if _handshake(self.connection):
            super().handle()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged by ``_serve`` at DEBUG; keep http.server quiet on stderr."""

    def _serve(self) -> None:
        started = time.monotonic()
        owner = self.server.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = self._body()
        if body is None:
            return
        if parts.path.startswith(PRIVATE_PREFIX):
            self._send(owner.private(self.command, parts.path, query, body))
            return
        found = match(self.command, parts.path, query)
        owner.count("total", found.label)
        owner.note_request()
        if not owner.hold_while_frozen():
            self._finish(Response(0, cut=True), started)
            return
        decision = owner.decide_fault(parts.path)
        if decision.latency > 0:
            _sleep(decision.latency)
        response = self._answer(owner, decision, parts.path, query, body, found)
        self._finish(response, started)

    def _answer(
        self,
        owner: EmulatorServer,
        decision: FaultDecision,
        path: str,
        query: Mapping[str, list[str]],
        body: bytes,
        found: Match,
    ) -> Response:
        if decision.kind == "error":
            owner.count("fault:error")
            return _fault_error(owner.faults)
        if decision.kind == "drop":
            owner.count("fault:drop")
            return Response(0, cut=True)
        if found.label == "GET /rest/jobs/list-running":
            bad = owner.list_running_fault()
            if bad is not None:
                return bad
        request = Request(
            method=self.command,
            path=path,
            query=query,
            authorization=self.headers.get("Authorization"),
            body=body,
            lose_answer=decision.lose_answer,
        )
        response = owner.api.handle(request, found)
        if response.cut:
            owner.count("fault:lost_answer")
        return response

    def _finish(self, response: Response, started: float) -> None:
        elapsed = (time.monotonic() - started) * 1000
        status = "cut" if response.cut else str(response.status)
        log.debug("%s %s -> %s (%.1f ms)", self.command, self.path, status, elapsed)
        if response.cut:
            self.close_connection = True
            _cut(self.connection)
            return
        self._send(response)

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(json_response(411, shapes.failure("Send a Content-Length")))
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._send(json_response(413, shapes.failure("Content-Length missing or over 1 MB")))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up on the answer (a timeout, a cut connection): the
                # ledger already holds the call, as a real server's would.
                self.close_connection = True


def _handshake(connection: socket.socket) -> bool:
    """Complete a TLS connection's handshake; False when the client gave up or refused
    the certificate (its own error says why; the emulator has nothing to add)."""
    if not isinstance(connection, ssl.SSLSocket):
        return True
    connection.settimeout(_HANDSHAKE_TIMEOUT)
    try:
        connection.do_handshake()
    except OSError as error:  # ssl.SSLError included
        log.debug("TLS handshake failed: %s", error)
        return False
    connection.settimeout(_Handler.timeout)
    return True


def _bad_list_running(kind: str) -> Response:
    """A list-running answer no client can use as it is."""
    if kind == "html":
        return Response(200, _MAINTENANCE_PAGE, "text/html;charset=UTF-8")
    if kind == "garbage":
        return Response(200, b'\x00\xff[{"dapJobConfigurationId": 1,, garbage}\x1b]]')
    if kind == "429":
        return json_response(429, shapes.failure("Too many requests"))
    return Response(200, _huge_array())


@functools.cache
def _huge_array() -> bytes:
    """About 9 MB of list-running entries of configurations nobody knows."""
    entry = '{"dapJobConfigurationId": %d, "jobExecutionId": %d, "jobStatus": "RUNNING"}'
    first = 900_000_000
    items = (entry % (first + i, first + i) for i in range(_HUGE_ENTRIES))
    return ("[" + ",".join(items) + "]").encode()


def _fault_error(faults: Faults) -> Response:
    headers: tuple[tuple[str, str], ...] = ()
    if faults.retry_after is not None:
        headers = (("Retry-After", str(max(0, round(faults.retry_after)))),)
    body = json.dumps(shapes.failure("Injected fault: internal server error")).encode()
    return Response(faults.error_status, body, headers=headers)
