"""What the client takes from its environment, seen from the server: proxies (HTTP_PROXY,
ALL_PROXY, NO_PROXY), the netrc login, cookies kept between calls, the text of an answer's
charset.  Only ``DatameerClient`` is used, so the same tests hold for any transport."""

from __future__ import annotations

import base64
import contextlib
import gzip
import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

from runner.datameer.client import DatameerClient, Timeout
from runner.errors import ApiError, ConnectionFailedError
from testing.certs import make_certificate, openssl_available
from testing.environment import closed_port_url
from testing.hostile_server import Answer, hostile_server, json_answer

PROXY_VARIABLES = [
    f"{name}{suffix}"
    for name in ("http", "https", "all", "no")
    for suffix in ("_proxy", "_PROXY")
    if f"{name}{suffix}" != "http_PROXY"
] + ["HTTP_PROXY", "NETRC"]
# A name that never resolves: only a proxy can take the call there.
FAR_SERVER = "http://datameer.invalid:8080"
FAST = Timeout(connect=2.0, read=5.0, total=10.0)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in {*PROXY_VARIABLES, *(v.upper() for v in PROXY_VARIABLES)}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("latin-1")).decode()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_from_the_environment_carries_the_call(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with hostile_server(json_answer(200, "[]")) as proxy:
        monkeypatch.setenv(variable, proxy.url)
        with DatameerClient(FAR_SERVER, user="etl", password="s3cret", timeout=FAST) as client:
            assert client.list_running() == []
    (seen,) = proxy.received
    assert seen.path == f"{FAR_SERVER}/rest/jobs/list-running"  # absolute form: a proxy's
    assert seen.headers["Authorization"] == _basic("etl", "s3cret")
    assert "Proxy-Authorization" not in seen.headers


def test_the_proxy_login_goes_to_the_proxy_only(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(json_answer(200, "[]")) as proxy:
        host = proxy.url.removeprefix("http://")
        monkeypatch.setenv("HTTP_PROXY", f"http://gate%40corp:pa%3Ass@{host}")
        with DatameerClient(FAR_SERVER, user="etl", password="s3cret", timeout=FAST) as client:
            client.list_running()
            assert "pa:ss" not in repr(client)
            assert "pa%3Ass" not in repr(client)
    (seen,) = proxy.received
    assert seen.headers["Proxy-Authorization"] == _basic("gate@corp", "pa:ss")
    assert seen.headers["Authorization"] == _basic("etl", "s3cret")


@pytest.mark.parametrize(
    "no_proxy",
    [
        pytest.param("127.0.0.1", id="address"),
        pytest.param("10.0.0.0/8, 127.0.0.0/8", id="cidr-block"),
        pytest.param("*", id="everything"),
    ],
)
def test_no_proxy_sends_the_call_straight_to_the_server(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with hostile_server(json_answer(200, "[]")) as server:
        with DatameerClient(server.url, timeout=FAST) as client:
            assert client.list_running() == []
        assert [seen.path for seen in server.received] == ["/rest/jobs/list-running"]


def test_a_host_suffix_in_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(json_answer(200, "[]"), host="localhost") as server:
        monkeypatch.setenv("HTTP_PROXY", closed_port_url())
        monkeypatch.setenv("no_proxy", "example.com,.localhost,localhost")
        with DatameerClient(server.url, timeout=FAST) as client:
            assert client.list_running() == []


def test_a_proxy_that_is_down_is_a_connection_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    with hostile_server(json_answer(200, "[]")) as server:
        client = DatameerClient(server.url, timeout=FAST, retries=0)
        with client, pytest.raises(ConnectionFailedError):
            client.list_running()
        assert server.received == []  # the call went to the proxy, not around it


def test_the_netrc_login_is_sent_when_no_user_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login robot password n3trc\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with hostile_server(json_answer(200, "[]")) as server:
        with DatameerClient(server.url, timeout=FAST) as client:
            client.list_running()
        with DatameerClient(server.url, user="etl", password="given", timeout=FAST) as client:
            client.list_running()
    first, second = server.received
    assert first.headers["Authorization"] == _basic("robot", "n3trc")
    assert second.headers["Authorization"] == _basic("etl", "given")


def test_calls_to_a_server_under_a_path_go_to_that_path_and_survive_a_close() -> None:
    with hostile_server(json_answer(200, "[]")) as server:
        client = DatameerClient(f"{server.url}/datameer", timeout=FAST)
        with client:
            client.list_running()
            client.list_running()
        client.list_running()  # closed: its next call opens a new pool
    paths = [seen.path for seen in server.received]
    assert paths == ["/datameer/rest/jobs/list-running"] * 3


def test_cookies_the_server_sets_come_back_on_later_calls() -> None:
    sticky = json_answer(200, "[]", headers=(("Set-Cookie", "NODE=b7; Path=/"),))
    with hostile_server(sticky, json_answer(200, "[]")) as server:
        with DatameerClient(server.url, timeout=FAST) as client:
            client.list_running()
            client.list_running()
        with DatameerClient(server.url, timeout=FAST) as fresh:
            fresh.list_running()
    first, second, third = server.received
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == "NODE=b7"
    assert "Cookie" not in third.headers  # a client's cookies are its own


def test_cookies_are_safe_to_share_between_threads() -> None:
    sets = json_answer(200, "[]", headers=(("Set-Cookie", "NODE=b7; Path=/"),))
    with hostile_server(sets) as server, DatameerClient(server.url, timeout=FAST) as client:

        def calls() -> None:
            for _ in range(15):
                client.list_running()

        threads = [threading.Thread(target=calls) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.received) == 90
    assert sum("Cookie" in seen.headers for seen in server.received) >= 84


@pytest.mark.parametrize(
    ("content_type", "body", "shown"),
    [
        pytest.param(
            "text/html",
            "Zugriff verweigert für Gäste".encode("latin-1"),
            "für Gäste",
            id="text-is-latin-1",
        ),
        pytest.param("text/plain; charset=utf-8", "für Gäste".encode(), "für Gäste", id="charset"),
        pytest.param(
            "application/octet-stream", "für Gäste".encode(), "für Gäste", id="no-charset-utf-8"
        ),
    ],
)
def test_an_error_page_is_shown_in_its_charset(content_type: str, body: bytes, shown: str) -> None:
    with hostile_server(Answer(400, body, content_type=content_type)) as server:
        client = DatameerClient(server.url, timeout=FAST)
        with client, pytest.raises(ApiError) as caught:
            client.list_running()
    assert shown in str(caught.value)


def test_the_client_asks_for_compressed_answers_and_reads_them() -> None:
    packed = Answer(200, gzip.compress(b"[]"), headers=(("Content-Encoding", "gzip"),))
    with hostile_server(packed) as server, DatameerClient(server.url, timeout=FAST) as client:
        assert client.list_running() == []
    assert "gzip" in server.received[0].headers["Accept-Encoding"]


@pytest.mark.parametrize(
    ("proxy", "said"),
    [
        pytest.param("ftp://gate:pw@proxy.corp:21", "unknown scheme", id="unknown-scheme"),
        pytest.param("http://", "no host", id="no-host"),
        pytest.param(
            "socks5://gate:pw@proxy.corp:1080",
            "needs PySocks",
            id="socks-without-pysocks",
            marks=pytest.mark.skipif(bool(find_spec("socks")), reason="PySocks is installed"),
        ),
    ],
)
def test_an_unusable_proxy_is_a_connection_failure_that_says_why(
    monkeypatch: pytest.MonkeyPatch, proxy: str, said: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    client = DatameerClient(FAR_SERVER, timeout=FAST, retries=0)
    with client, pytest.raises(ConnectionFailedError) as caught:
        client.list_running()
    assert said in str(caught.value)
    assert "pw" not in str(caught.value)


class _Tunnel(socketserver.BaseRequestHandler):
    """A CONNECT proxy: reads the request head, then relays bytes both ways blindly."""

    heads: list[bytes]

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        self.heads.append(head)
        method, target, _ = head.split(b" ", 2)
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.decode().rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(self.request, upstream)


def _relay(one: socket.socket, other: socket.socket) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        while True:
            for key, _ in selector.select(timeout=5):
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if data:
                        key.data.sendall(data)
                except OSError:  # a client that refused the certificate hangs up
                    return
                if not data:
                    return


@contextlib.contextmanager
def _tunnel_proxy() -> Iterator[tuple[str, list[bytes]]]:
    heads: list[bytes] = []
    handler = type("Handler", (_Tunnel,), {"heads": heads})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", heads
    finally:
        server.shutdown()
        server.server_close()


def test_https_goes_through_the_proxy_in_a_tunnel_with_the_certificate_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not openssl_available():
        pytest.skip("no openssl binary to make a test certificate")
    certificate = make_certificate(tmp_path)
    with (
        hostile_server(json_answer(200, "[]"), host="localhost", tls=certificate) as server,
        _tunnel_proxy() as (proxy, heads),
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        trusted = DatameerClient(
            server.url, user="etl", password="s3cret", verify=str(certificate.cert), timeout=FAST
        )
        with trusted:
            assert trusted.list_running() == []
        untrusted = DatameerClient(server.url, timeout=FAST, retries=0)
        with untrusted, pytest.raises(ConnectionFailedError, match="verification failed"):
            untrusted.list_running()
    port = server.url.rpartition(":")[2]
    request_lines = [head.split(b"\r\n")[0] for head in heads]
    assert [line.rpartition(b" ")[0] for line in request_lines] == [
        f"CONNECT localhost:{port}".encode()
    ] * 2
    assert all(b"s3cret" not in head and b"Authorization" not in head for head in heads)
    (seen,) = server.received
    assert seen.headers["Authorization"] == _basic("etl", "s3cret")
