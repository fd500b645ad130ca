"""What a run ran: recorded in its journal's ``run_started``, compared by ``--resume``.

A resume may only continue the run its directory holds: the same pipeline file,
the same pipeline (name and loaded content), the same artifact behind every job,
the same selection, mode and server.  ``--resume --force`` accepts a changed
pipeline, but an execution is only carried over for a job whose artifact is
unchanged; another server is never accepted (its execution ids mean nothing there).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.datameer.credentials import redact_url
from runner.model import Job, Pipeline

# Not part of what a pipeline does: where the file lies and where each key sits in it; the
# server block is compared on its own (the URL), and holds the password.
_UNHASHED_FIELDS = frozenset({"path", "location", "server"})


@dataclass(frozen=True)
class RunIdentity:
    """The identity of a run, as its ``run_started`` journal record holds it."""

    run_id: str
    pipeline: str
    file: str
    sha256: str
    artifacts: Mapping[str, str]  # job name → "file_id:3", "uuid:…", "path:/…"
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    mode: str = "auto"
    mode_override: str | None = None
    server: str | None = None
    variables: tuple[str, ...] = ()  # names of the --var values (never the values)

    def to_data(self) -> dict[str, Any]:
        """The fields as journal data (plain JSON types)."""
        data = dataclasses.asdict(self)
        data["artifacts"] = dict(self.artifacts)
        for name in ("select", "exclude", "variables"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RunIdentity | None:
        """The identity in a ``run_started`` record; None for a journal of an older dmpipe."""
        try:
            return cls(
                run_id=str(data["run_id"]),
                pipeline=str(data["pipeline"]),
                file=str(data["file"]),
                sha256=str(data["sha256"]),
                artifacts={str(k): str(v) for k, v in dict(data["artifacts"]).items()},
                select=tuple(str(s) for s in data.get("select") or ()),
                exclude=tuple(str(s) for s in data.get("exclude") or ()),
                mode=str(data.get("mode") or "auto"),
                mode_override=data.get("mode_override"),
                server=data.get("server"),
                variables=tuple(str(s) for s in data.get("variables") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def artifact_reference(job: Job) -> str:
    """``file_id:3``: the job's artifact as the identity records it."""
    return f"{job.ref.kind.value}:{job.ref.value}"


def pipeline_sha256(pipeline: Pipeline) -> str:
    """sha256 of a canonical JSON of the loaded (interpolated) pipeline, without its file
    path, line numbers or server settings (so never a password)."""
    text = json.dumps(_plain(pipeline), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if value is None or type(value) in _SCALARS:  # most leaves: answered first
        return value
    names = _hashed_fields(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):  # no order of its own: sort for a stable hash
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, default=str))
    return value


_SCALARS = frozenset({str, int, float, bool})


_FIELDS_OF: dict[type, tuple[str, ...] | None] = {}


def _hashed_fields(cls: type) -> tuple[str, ...] | None:
    """The fields of dataclass ``cls`` that the hash covers; None for any other class.
    (Found once per class: ``dataclasses.fields`` per value was most of the hash's time.)"""
    if cls not in _FIELDS_OF:
        _FIELDS_OF[cls] = (
            tuple(f.name for f in dataclasses.fields(cls) if f.name not in _UNHASHED_FIELDS)
            if dataclasses.is_dataclass(cls)
            else None
        )
    return _FIELDS_OF[cls]


def normal_server(url: str | None) -> str | None:
    """The server URL as recorded: no credentials, no trailing slash."""
    redacted = redact_url(url)
    return redacted.rstrip("/") if redacted else redacted


def differences(recorded: RunIdentity, current: RunIdentity) -> list[str]:
    """What ``current`` changes of the ``recorded`` run, one phrase each; empty when equal."""
    found: list[str] = []
    if recorded.file != current.file:
        found.append(f"it ran the file {recorded.file}, not {current.file}")
    if recorded.pipeline != current.pipeline:
        found.append(f"it ran pipeline {recorded.pipeline}, not {current.pipeline}")
    found.extend(artifact_changes(recorded.artifacts, current.artifacts))
    if (recorded.select, recorded.exclude) != (current.select, current.exclude):
        found.append(f"it ran the selection {_selection(recorded)}, not {_selection(current)}")
    if recorded.mode != current.mode:
        found.append(f"it ran in {recorded.mode} mode, not {current.mode}")
    if recorded.sha256 != current.sha256 and not found:
        found.append(_content_change(recorded, current))
    return found


def server_difference(recorded: RunIdentity, current: RunIdentity) -> str | None:
    """The phrase saying the run used another server, or None."""
    if recorded.server == current.server:
        return None
    return f"it ran on {recorded.server or 'an unnamed server'}, not {current.server}"


def artifact_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Jobs whose artifact changed, appeared or went away."""
    found = []
    for job in current:
        if job in recorded and recorded[job] != current[job]:
            found.append(f"job {job} ran {recorded[job]}, now {current[job]}")
    added = [job for job in current if job not in recorded]
    removed = [job for job in recorded if job not in current]
    if added:
        found.append(f"it did not have the job(s) {', '.join(added)}")
    if removed:
        found.append(f"it also had the job(s) {', '.join(removed)}")
    return found


def _selection(identity: RunIdentity) -> str:
    parts = [f"--select {' '.join(identity.select)}"] if identity.select else []
    parts += [f"--exclude {' '.join(identity.exclude)}"] if identity.exclude else []
    return " ".join(parts) or "(all jobs)"


def _content_change(recorded: RunIdentity, current: RunIdentity) -> str:
    change = (
        f"the pipeline's content changed since the run started "
        f"(sha256 {recorded.sha256[:12]} → {current.sha256[:12]})"
    )
    if recorded.variables != current.variables:
        given = ", ".join(recorded.variables) or "none"
        change += f" — the run was given --var {given}"
    return change
