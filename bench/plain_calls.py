"""The yardstick of benchmarks 7 and 10: a GET made with urllib3 alone, the way dmpipe's
transport makes it (no redirects, no retries, the body streamed), decoded as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

import urllib3
from workload import PASSWORD, USER

# What dmpipe's client waits for at most: a connection, then each read of the answer.
TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)


def login_headers() -> dict[str, str]:
    """The emulator's login and the Accept header, as dmpipe sends them."""
    headers = dict(urllib3.make_headers(basic_auth=f"{USER}:{PASSWORD}"))
    headers["Accept"] = "application/json"
    return headers


def urllib3_getter(manager: urllib3.PoolManager, url: str) -> Callable[[], object]:
    """A call that GETs ``url`` through ``manager`` and returns the decoded answer."""
    headers = login_headers()

    def get() -> object:
        response = manager.urlopen(
            "GET",
            url,
            headers=headers,
            redirect=False,
            retries=False,
            timeout=TIMEOUT,
            preload_content=False,
            decode_content=False,
        )
        chunks = []
        while chunk := response.read1(64 * 1024):
            chunks.append(chunk)
        response.release_conn()
        return json.loads(b"".join(chunks))

    return get
