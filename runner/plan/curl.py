"""The HTTP calls a run would make, as curl commands a user can paste into a shell.

The password is never written out: every command authenticates with
``-u "$DATAMEER_USER:$DATAMEER_PASSWORD"``, and a workbook variable that is a
secret (by its name, or because it holds a known password) is printed as ``****``.
Values the server hands out during the run (execution ids, file ids behind a uuid
or path) are shell variables, each explained by the comment above its first use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter

from runner.datameer.versions import capabilities
from runner.model import Mode, When
from runner.plan.masking import masked_variables
from runner.plan.outline import Plan, PlannedJob, StartedBy
from runner.reference import PathEncoding, RefKind
from runner.spec.durations import format_duration

_AUTH = '-u "$DATAMEER_USER:$DATAMEER_PASSWORD"'
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9]+")
_CONDITIONS = {
    When.ALL_DONE: " (when: all_done, once the jobs it needs have ended)",
    When.ANY_FAILED: " (when: any_failed, only if a job it needs failed)",
}


@dataclass(frozen=True)
class Var:
    """A shell variable inside a URL or body: ``$NAME`` once quoted."""

    name: str


def shell_quote(*parts: str | Var) -> str:
    """Quote for a POSIX shell: single quotes, or double quotes when a variable must expand."""
    if all(isinstance(part, str) for part in parts):
        text = "".join(str(part) for part in parts)
        return "'" + text.replace("'", "'\"'\"'") + "'"
    quoted = (
        f"${{{part.name}}}" if isinstance(part, Var) else re.sub(r'([\\"$`])', r"\\\1", part)
        for part in parts
    )
    return '"' + "".join(quoted) + '"'


def render_curl(plan: Plan, passwords: Iterable[str | None] = ()) -> str:
    """Every call of the run, level by level, with comments saying when and why; variables
    whose name looks secret or whose value is one of ``passwords`` (or the pipeline's
    password) are masked."""
    calls = _Calls(plan, (plan.pipeline.server.password, *passwords))
    lines = calls.preamble()
    if plan.mode.runs_as is Mode.SEQUENTIAL:
        lines += calls.sequence()
    lines += calls.levels()
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Calls:
    """The curl lines of one plan, section by section."""

    plan: Plan
    passwords: tuple[str | None, ...] = field(default=())

    def url(self, *path: str | Var) -> str:
        base: str | Var = (self.plan.server_url or "").rstrip("/") or Var("DATAMEER_URL")
        return shell_quote(base, *path)

    def curl(self, method: str, *path: str | Var) -> str:
        return f"curl {_AUTH} -X {method} {self.url(*path)}"

    def preamble(self) -> list[str]:
        mode = self.plan.mode.runs_as.value
        pipeline = self.plan.pipeline
        lines = [
            f"# The HTTP calls of `dmpipe run {pipeline.path}` ({mode} mode), in order.",
            "# Set DATAMEER_USER and DATAMEER_PASSWORD first. A job starts as soon as the jobs",
            "# it needs have succeeded; the calls are listed level by level.",
        ]
        if not self.plan.server_url:
            lines.append("# DATAMEER_URL: the server, e.g. https://datameer.example.com:8443")
        return lines

    def sequence(self) -> list[str]:
        entries = self.plan.sequence_entries
        if not entries:
            return []
        lines = ["", "# The sequential trigger starts these jobs and their data-driven chain."]
        ids: list[str | Var] = []
        for planned in entries:
            ref = planned.job.ref
            if ref.kind is RefKind.FILE_ID:
                ids.append(ref.value)
                continue
            variable = Var(f"FILE_ID_{_shell_name(planned.job.name)}")
            lines.append(f'# {variable.name}: the "file-id" this status call answers')
            lines.append(
                self.curl("GET", *_api(planned, "status", self.plan.pipeline.server.path_encoding))
            )
            ids.append(variable)
        lines.append(self._sequence_call(ids))
        return lines

    def _sequence_call(self, ids: list[str | Var]) -> str:
        variables = json.dumps(masked_variables(self.plan.pipeline.variables, self.passwords))
        body = shell_quote('{"variables": ', variables, ', "fileIds": [', *_joined(ids), "]}")
        url = self.url("/rest/job-execution?sequence=", *_joined(ids))
        return f"curl {_AUTH} -X POST -H 'Content-Type: application/json' -d {body} {url}"

    def levels(self) -> list[str]:
        lines: list[str] = []
        for level, group in groupby(self.plan.jobs, key=attrgetter("level")):
            jobs = list(group)
            lines += ["", f"# Level {level}"]
            for planned in jobs:
                lines += self._start(planned)
            lines += self._poll(level, jobs)
        return lines

    def _start(self, planned: PlannedJob) -> list[str]:
        name = planned.job.name
        if planned.started_by != StartedBy.RUNNER:
            return [f"# {name}: started by the {planned.started_by}"]
        condition = _CONDITIONS.get(planned.job.when, "")
        server = self.plan.pipeline.server
        if capabilities(server.version, "setting").legacy:
            # No REST v2 on this server: the v1 calls, by configuration id.
            configuration: str | Var = (
                str(planned.job.configuration_id)
                if planned.job.configuration_id is not None
                else Var(f"CONFIGURATION_{_shell_name(name)}")
            )
            lines = [f"# {name}{condition}: is it already running? then trigger it"]
            if isinstance(configuration, Var):
                lines.append(f"# {configuration.name}: its configuration id (configuration_id:)")
            return [
                *lines,
                self.curl("GET", "/rest/job-configuration/job-status/", configuration),
                self.curl("POST", "/rest/job-execution?configuration=", configuration),
            ]
        return [
            f"# {name}{condition}: is it already running? then trigger it",
            self.curl("GET", *_api(planned, "status", self.plan.pipeline.server.path_encoding)),
            self.curl("POST", *_api(planned, "trigger", self.plan.pipeline.server.path_encoding)),
        ]

    def _poll(self, level: int, jobs: list[PlannedJob]) -> list[str]:
        policies = self.plan.pipeline.policies
        every = (
            f"every {format_duration(policies.poll_interval)}, "
            f"backing off to {format_duration(policies.max_poll_interval)}"
        )
        lines = [
            f"# Until the executions of level {level} leave the running list ({every}):",
            self.curl("GET", "/rest/jobs/list-running"),
        ]
        for planned in self.plan.jobs:
            if planned.level == level:
                lines.append(
                    f"# {planned.job.name}: final status and counters; EXECUTION_ID is the "
                    '"job-execution-id" its trigger (or the execution plan) returned'
                )
                lines.append(
                    self.curl("GET", "/rest/job-execution/job-details/", Var("EXECUTION_ID"))
                )
        return lines


def _api(planned: PlannedJob, action: str, encoding: str | None = None) -> tuple[str, ...]:
    written = PathEncoding(encoding) if encoding else PathEncoding.PLUS
    return (f"/api/job-execution/{planned.job.ref.url_segment(written)}/{action}",)


def _joined(ids: Iterable[str | Var]) -> list[str | Var]:
    parts: list[str | Var] = []
    for index, part in enumerate(ids):
        parts.extend([",", part] if index else [part])
    return parts


def _shell_name(name: str) -> str:
    return _UNSAFE_NAME.sub("_", name).strip("_").upper() or "JOB"
