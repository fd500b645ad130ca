"""How problems name things: a path as words, a value as the user wrote it, did-you-mean."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runner.spec.document import JsonPath

SECRET_KEYS = frozenset({"password"})


def is_secret(path: JsonPath) -> bool:
    """True for a value that must never be printed (a password)."""
    return bool(path) and (path[-1] in SECRET_KEYS or _is_scenario_user(path))


def _is_scenario_user(path: JsonPath) -> bool:
    """An emulator scenario's ``users.<name>`` (or a pipeline's ``emulator.users.<name>``):
    written as ``bob: s3cret`` instead of a mapping, the value is a password."""
    return len(path) >= 2 and path[-2] == "users" and path[:-2] in ((), ("emulator",))


def dotted(parts: Iterable[str | int]) -> str:
    """``("retry", "retries")`` → ``retry.retries``; ``("needs", 0)`` → ``needs[0]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if part.isprintable() else repr(part)
            text += f".{name}" if text else name
    return text


def quoted(name: str | int) -> str:
    """``'load'``; a name with a quote or an unprintable character is escaped as Python would."""
    text = str(name)
    return f"'{text}'" if text.isprintable() and "'" not in text else repr(text)


def subject(path: JsonPath) -> str:
    """What is at ``path``: ``version``, ``server.url``, ``job 'load'``, ``retry of job 'load'``."""
    if len(path) >= 2 and path[0] == "jobs":
        job = f"job {quoted(path[1])}"
        return f"{dotted(path[2:])} of {job}" if len(path) > 2 else job
    return dotted(path) or "the file"


def where(path: JsonPath) -> str:
    """Where a key at ``path`` lives: ``at the top level``, ``in server``, ``in job 'load'``."""
    if not path:
        return "at the top level"
    return f"in {subject(path)}"


def shown(value: Any, path: JsonPath = ()) -> str:
    """``value`` as messages show it: ``'ten minutes'``, ``5``, ``true``, ``a list``, ``nothing``"""
    if is_secret(path):
        return "a value (hidden)"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    return repr(value)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, if one is close enough to be a typo of it."""
    import difflib  # only for a file with a mistake: a valid file's run never needs it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'retry'?"`` when a choice is close to ``word``, else ``""``."""
    close = closest(word, choices)
    return f"; did you mean '{close}'?" if close else ""
