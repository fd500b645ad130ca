"""A loopback server that answers each request with bytes written by the test, exactly.

``testing.hostile_server`` speaks through ``http.server``, which always writes a
well-formed head; the tests of dmpipe's HTTP/1.1 exchange need what it cannot write: a
chunked body, a 1xx before the answer, bytes after the body, a body cut short, a
connection closed right after an answer.  Each request (head and ``Content-Length``
body) is read, recorded with the number of the connection that carried it, and answered
with the next script entry (the last repeats): the bytes to send, and whether to close
the connection afterwards.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """What to send for one request, byte for byte, and whether to close afterwards."""

    data: bytes
    close: bool = False


@dataclass(frozen=True)
class Request:
    """One request as it arrived: its connection's number, its head, its body."""

    connection: int
    head: bytes
    body: bytes

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class ScriptedServer:
    """Serves ``script`` on loopback until closed; ``requests`` in arrival order."""

    script: tuple[Reply, ...]
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        buffered = b""
        with sock:
            while not self._closing.is_set():
                head, buffered = _read_until(sock, buffered, b"\r\n\r\n")
                if head is None:
                    return
                size = _content_length(head)
                while len(buffered) < size:
                    more = sock.recv(65536)
                    if not more:
                        return
                    buffered += more
                body, buffered = buffered[:size], buffered[size:]
                with self._lock:
                    self.requests.append(Request(number, head, body))
                    reply = self.script[min(len(self.requests), len(self.script)) - 1]
                with contextlib.suppress(OSError):
                    sock.sendall(reply.data)
                if reply.close:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    return


def _read_until(sock: socket.socket, buffered: bytes, marker: bytes) -> tuple[bytes | None, bytes]:
    while marker not in buffered:
        try:
            more = sock.recv(65536)
        except OSError:
            return None, b""
        if not more:
            return None, b""
        buffered += more
    head, _, rest = buffered.partition(marker)
    return head, rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


@contextlib.contextmanager
def scripted_server(*script: Reply) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    try:
        yield server
    finally:
        server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    """A whole HTTP/1.1 answer with ``body`` and a Content-Length (unless a header sets
    Transfer-Encoding), ``headers`` written as given ("Name: value")."""
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers]
    if not any(header.lower().startswith("transfer-encoding") for header in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*pieces: bytes) -> bytes:
    """``pieces`` as a chunked body, its last chunk included."""
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
