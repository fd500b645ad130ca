"""``--log-format json``: one JSON object per line on stderr, per run event and per log record.

Every line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``; event
lines add ``event``, ``job``, ``attempt`` and ``data``.  Secrets are scrubbed from
every string (URL user info, Basic credentials, ``password=`` pairs), so a log
shipper never receives one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from runner.engine.events import RunEvent
from runner.report.severity import severity

EVENT_LOGGER = "dmpipe.run"

_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|token|authorization")
_SECRETS = (
    # User info ends at the authority's last "@" (as in ``redact_url``): a password may hold "@".
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@"), r"\1"),
    (re.compile(r"(?i)\b(authorization:\s*basic\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token)(\s*[=:]\s*)\S+"), r"\1\2[redacted]"),
)


class JsonEventLines:
    """An event sink writing each event as one JSON line (``keep`` filters, e.g. --quiet)."""

    def __init__(
        self, stream: TextIO | None = None, keep: Callable[[RunEvent], bool] | None = None
    ) -> None:
        self._stream = stream or sys.stderr
        self._keep = keep

    def __call__(self, event: RunEvent) -> None:
        if self._keep is not None and not self._keep(event):
            return
        self._stream.write(json.dumps(event_record(event), default=str) + "\n")
        self._stream.flush()


class JsonLogFormatter(logging.Formatter):
    """Formats a log record as one JSON line, in the same shape as the event lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line)


def use_json_logging(logger: logging.Logger | None = None) -> None:
    """Make every handler of ``logger`` (the root logger by default) write JSON lines."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonLogFormatter())


def event_record(event: RunEvent) -> dict[str, Any]:
    """The JSON object of one run event, secrets scrubbed."""
    return {
        "time": _iso(event.at),
        "level": severity(event),
        "logger": EVENT_LOGGER,
        "event": event.kind.value,
        "job": event.job or None,
        "attempt": event.attempt or None,
        "message": scrub(event.message or event.kind.value),
        "data": _scrub_value(event.data),
    }


def scrub(text: str) -> str:
    """``text`` with anything that looks like a credential replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {
            str(k): "[redacted]" if _SECRET_KEY.search(str(k)) else _scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def _iso(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat()
