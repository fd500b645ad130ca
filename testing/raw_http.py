"""Raw HTTP calls to an emulator, with ``requests`` and nothing of dmpipe's client."""

from __future__ import annotations

from typing import Any

import requests

from testing.scenarios import PASSWORD, USER

Auth = tuple[str, str] | None


def call(
    url: str,
    method: str,
    path: str,
    auth: Auth = (USER, PASSWORD),
    **kwargs: Any,
) -> requests.Response:
    """One request on a fresh connection (``path`` is sent as written, already encoded)."""
    kwargs.setdefault("timeout", 10)
    with requests.Session() as session:
        return session.request(method, url + path, auth=auth, **kwargs)


def get_json(url: str, path: str, auth: Auth = (USER, PASSWORD)) -> Any:
    """GET ``path`` and return its JSON, asserting a 200."""
    response = call(url, "GET", path, auth)
    assert response.status_code == 200, response.text
    return response.json()


def post_json(url: str, path: str, auth: Auth = (USER, PASSWORD), **kwargs: Any) -> Any:
    """POST ``path`` and return its JSON, asserting a 200."""
    response = call(url, "POST", path, auth, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()
