"""report.html in a real browser: it renders, and no request leaves the page.

Headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it) loads the page
from a loopback server that records every request, and writes its network log:
any request the page made — a font, a script, an image, on any host — has the
page's origin as initiator there.  The browser's own background calls (update
checks, clock) have none, so they do not count.  Skipped without chromium.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.report.html import CSP
from testing.reports import MIXED_OUTCOMES, MixedRun

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class FileServer(ThreadingHTTPServer):
    """Serves the files of one folder on loopback and records every request path."""

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = folder
        self.paths: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FileServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        target = self.server.folder / self.path.lstrip("/")
        if not target.is_file():
            self.send_error(404)
            return
        body = target.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are recorded in do_GET


@dataclass(frozen=True)
class Visit:
    """What the browser did with a page."""

    dom: str
    page_requests: list[str]  # URLs the page itself asked for (its own URL included)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FileServer]:
    files = FileServer(tmp_path / "site")
    files.folder.mkdir()
    thread = threading.Thread(target=files.serve_forever, daemon=True)
    thread.start()
    yield files
    files.shutdown()
    files.server_close()


def visit(server: FileServer, page: str, *extra: str) -> Visit:
    """Open ``page`` in headless Chromium; the DOM after load and the page's requests."""
    assert CHROMIUM is not None
    work = server.folder.parent
    net_log = work / f"{page}.netlog.json"
    result = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={work / 'profile'}",
            f"--log-net-log={net_log}",
            *extra,
            f"{server.origin}/{page}",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return Visit(result.stdout, page_requests(net_log, server.origin))


def page_requests(net_log: Path, origin: str) -> list[str]:
    """URLs of the requests in a Chromium net log started by the page at ``origin``."""
    log = json.loads(net_log.read_text("utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        if params.get("initiator") == origin or params.get("request_type") == "main frame":
            urls.append(params["url"])
    return urls


def test_the_report_renders_with_no_request_but_its_own(
    mixed_run: MixedRun, server: FileServer
) -> None:
    shutil.copy(mixed_run.directory / "report.html", server.folder / "report.html")
    seen = visit(server, "report.html", "--dump-dom")
    assert seen.page_requests == [f"{server.origin}/report.html"]
    assert server.paths == ["/report.html"]
    attempts = sum(n for _, n in MIXED_OUTCOMES.values())
    assert seen.dom.count('class="attempt ') == attempts
    assert seen.dom.count('<g class="node"') == len(MIXED_OUTCOMES)
    assert "Critical path" in seen.dom


def test_without_its_policy_the_page_still_asks_for_nothing(
    mixed_run: MixedRun, server: FileServer
) -> None:
    text = (mixed_run.directory / "report.html").read_text("utf-8")
    stripped = text.replace(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">', "")
    assert stripped != text
    (server.folder / "bare.html").write_text(stripped, "utf-8")
    seen = visit(server, "bare.html", "--dump-dom")
    assert seen.page_requests == [f"{server.origin}/bare.html"]
    assert server.paths == ["/bare.html"]


def test_a_page_that_fetches_is_caught(server: FileServer) -> None:
    page = (
        '<!DOCTYPE html><img src="https://fonts.example.com/x.png">'
        '<img src="http://cdn.example.org/y.png"><img src="/local.png">'
    )
    (server.folder / "leaky.html").write_text(page, "utf-8")
    seen = visit(server, "leaky.html", "--dump-dom")
    assert {
        f"{server.origin}/leaky.html",
        "https://fonts.example.com/x.png",
        "http://cdn.example.org/y.png",
        f"{server.origin}/local.png",
    } <= set(seen.page_requests)  # and the favicon this page does not inline


def test_screenshot(mixed_run: MixedRun, server: FileServer) -> None:
    shutil.copy(mixed_run.directory / "report.html", server.folder / "report.html")
    shot = server.folder.parent / "report.png"
    visit(server, "report.html", f"--screenshot={shot}", "--window-size=1100,900")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
