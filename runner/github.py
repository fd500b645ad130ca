"""GitHub Actions workflow commands (``::error file=…::message``, ``::group::``): the
escaping GitHub expects, in one place for every command that speaks to a workflow."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def in_github_actions(environ: Mapping[str, str]) -> bool:
    """True inside a GitHub Actions job (the runner sets ``GITHUB_ACTIONS=true``)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def command(name: str, message: str = "", **properties: str | int | None) -> str:
    """``::name key=value,…::message`` with GitHub's escaping; properties set to None are
    left out."""
    shown = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{name}{' ' + shown if shown else ''}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """The message part: ``%``, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workspace_path(path: str, environ: Mapping[str, str]) -> str:
    """``path`` relative to the checkout (``GITHUB_WORKSPACE``), as annotations want it."""
    workspace = environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return path
    try:
        return Path(path).resolve().relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:  # outside the checkout: as given
        return path
