"""A loopback HTTP(S) server that misbehaves on purpose, and remembers what it was sent.

Each request is answered by one ``Answer`` (the last one repeats): a scripted
status, headers and body, or worse — a body of any size streamed without a
``Content-Length``, a body dripped one byte at a time (slow-loris), headers
dripped one byte at a time, no answer at all (the connection held open), or a
connection cut without an answer after the whole request was read (over TLS: the
stream ends without a close_notify, as a crashing proxy does).  ``received``
keeps every request's method, path and headers, so a test can tell whether
credentials reached a host.  With ``tls`` the server speaks HTTPS (handshake in the
connection's own thread, so a client that fails it never blocks the others).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testing.certs import Certificate

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """How to answer one request."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    # After ``body``, stream this many more bytes of ``filler`` with no Content-Length.
    stream_bytes: int = 0
    filler: bytes = b"0,"
    # Slow-loris: after the headers, send ``body`` one byte every ``drip`` seconds, then
    # keep dripping ``filler`` until the client gives up or the server stops.
    drip: float = 0.0
    drop: bool = False  # close the connection without answering
    # Answer bytes that are not HTTP, or over TLS not even a TLS record, then cut.
    corrupt: bool = False
    hang: bool = False  # read the request, then answer nothing until the server closes
    # Send the status line, then one header byte every ``drip_headers`` seconds, forever.
    drip_headers: float = 0.0


def json_answer(status: int, text: str, **kw: Any) -> Answer:
    """A JSON answer with ``text`` as its body."""
    return Answer(status, text.encode(), **kw)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    """Serves ``answers`` on ``host`` (loopback) until ``close()``."""

    answers: tuple[Answer, ...]
    host: str = "127.0.0.1"
    tls: Certificate | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.closing = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._httpd = _QuietServer((self.host, 0), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            self._httpd.tls = context
        # close() waits for serve_forever to look at its stop flag: every 5 ms.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.005,), name="hostile-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the server."""
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{self.host}:{self._httpd.server_address[1]}"

    def next_answer(self, received: Received) -> Answer:
        """Record a request and pick its answer."""
        with self._lock:
            self.received.append(received)
            return self.answers[min(len(self.received), len(self.answers)) - 1]

    def close(self) -> None:
        """Stop serving; ends any drip in progress."""
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@contextlib.contextmanager
def hostile_server(
    *answers: Answer, host: str = "127.0.0.1", tls: Certificate | None = None
) -> Iterator[HostileServer]:
    """A started ``HostileServer``, closed on exit."""
    server = HostileServer(answers or (Answer(),), host=host, tls=tls)
    try:
        yield server
    finally:
        server.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    tls: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up on a huge or slow answer are what this server is for."""


class _Handler(BaseHTTPRequestHandler):
    server_owner: HostileServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        context = self.server.tls  # type: ignore[attr-defined]
        if context is not None:
            # A client that refuses the certificate ends here; the error is its to report.
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if isinstance(self.request, ssl.SSLSocket):
            # socketserver closes the socket it accepted, which the TLS socket took over.
            self.request.close()

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test asserts on ``received``."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        owner = self.server_owner
        answer = owner.next_answer(Received(self.command, self.path, dict(self.headers.items())))
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                # The raw socket's shutdown: over TLS no close_notify is sent either.
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
            return
        if answer.corrupt:
            self.close_connection = True
            with contextlib.suppress(OSError):
                socket.socket.send(self.connection, b"\x15\x03\x03\x00\x02\x02\x50garbage")
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
            return
        if answer.hang:
            self.close_connection = True
            owner.closing.wait()
            return
        if answer.drip_headers > 0:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                _drip(self.wfile, b"", b"X-Drip: a\r\n", answer.drip_headers, owner.closing)
            return
        with contextlib.suppress(OSError):  # the client hung up: expected
            self._send(answer, owner.closing)

    def _send(self, answer: Answer, closing: threading.Event) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        endless = answer.stream_bytes > 0 or answer.drip > 0
        if endless:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if answer.drip > 0:
            _drip(self.wfile, answer.body, answer.filler, answer.drip, closing)
            return
        self.wfile.write(answer.body)
        _stream(self.wfile, answer.filler, answer.stream_bytes, closing)


def _stream(out: Any, filler: bytes, size: int, closing: threading.Event) -> None:
    """Write ``size`` bytes of repeated ``filler`` in chunks, never holding them all."""
    chunk = filler * (CHUNK // len(filler))
    sent = 0
    while sent < size and not closing.is_set():
        piece = chunk[: size - sent]
        out.write(piece)
        sent += len(piece)


def _drip(out: Any, body: bytes, filler: bytes, interval: float, closing: threading.Event) -> None:
    """Send one byte every ``interval`` seconds until the client or the server gives up."""
    index = 0
    while not closing.wait(interval):
        source = body if index < len(body) else filler
        position = index if index < len(body) else (index - len(body)) % len(filler)
        out.write(source[position : position + 1])
        out.flush()
        index += 1
