"""``dmpipe doctor``: is the server reachable, are TLS and the credentials good, which version
and endpoints will a run use, how are paths written, and does every artifact resolve.

GETs only: ``/rest/license-details`` (the version), ``/rest/jobs/list-running`` (the
credentials), and per job its status (REST v2 by reference, or v1 by configuration id on a
server without REST v2).  A finding that fails makes the diagnosis fail (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.datameer.client import DatameerClient
from runner.datameer.credentials import redact_url
from runner.datameer.status import JobStatus
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    EndpointUnavailableError,
    NotFoundError,
)
from runner.model import Pipeline
from runner.reference import RefKind


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``ok`` is None for what is only reported."""

    topic: str
    ok: bool | None
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    """Every finding, in the order checked, and the endpoints a run would use."""

    server_url: str | None
    findings: tuple[Finding, ...]
    endpoints: tuple[tuple[str, str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no finding failed."""
        return all(finding.ok is not False for finding in self.findings)

    def lines(self) -> list[str]:
        """The diagnosis as one screen of text."""
        mark = {True: "ok  ", False: "FAIL", None: "    "}
        lines = [f"dmpipe doctor: {self.server_url or '(no server)'}"]
        lines += [f"  {mark[f.ok]} {f.topic:<16} {f.detail}" for f in self.findings]
        if self.endpoints:
            lines.append("  endpoints a run uses:")
            lines += [
                f"       {op:<19} {endpoint}  ({why})" for op, endpoint, why in self.endpoints
            ]
        lines.append("all good" if self.ok else "problems found: see FAIL above")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The diagnosis for tools (``--json``)."""
        return {
            "server": self.server_url,
            "ok": self.ok,
            "findings": [vars(finding) for finding in self.findings],
            "endpoints": [
                {"operation": op, "endpoint": endpoint, "why": why}
                for op, endpoint, why in self.endpoints
            ],
        }


def diagnose(client: DatameerClient, pipeline: Pipeline | None = None) -> Diagnosis:
    """Ask the server what a run needs to know; never raises for a server problem."""
    url = redact_url(client.base_url)
    findings = [_tls(client)]
    try:
        findings += _connection(client)
    except ApiError as error:
        findings.append(_failure(error))
        return Diagnosis(url, tuple(findings))
    if pipeline is not None:
        findings += _artifacts(client, pipeline)
    if not client.capabilities().legacy:
        findings.append(_encoding(client, pipeline))
    return Diagnosis(url, tuple(findings), tuple(client.capabilities().endpoints()))


def _tls(client: DatameerClient) -> Finding:
    if not client.base_url.startswith("https://"):
        return Finding("TLS", None, "not used (http://): credentials travel in clear text")
    if client.verify is False:
        return Finding("TLS", False, "certificate NOT verified (--insecure / verify_tls: false)")
    how = "the CA bundle" if isinstance(client.verify, str) else "the system's CAs"
    return Finding("TLS", True, f"certificate verified against {how}")


def _connection(client: DatameerClient) -> list[Finding]:
    """Reachable, the version, the credentials (raises ApiError when the server fails)."""
    known = client.capabilities()
    said = {
        "server": f"{known.version} (GET /rest/license-details)",
        "setting": f"{known.version} (set by server.version / --datameer-version)",
        "unknown": "unknown (/rest/license-details did not say): a current server is assumed",
    }
    findings = [Finding("reachable", True, "the server answers")]
    findings.append(Finding("version", None, said.get(known.source, str(known.version))))
    client.list_running()
    who = f"user {client.user!r}" if client.user else "no user"
    findings.append(Finding("credentials", True, f"{who} accepted (GET /rest/jobs/list-running)"))
    return findings


def _failure(error: ApiError) -> Finding:
    if isinstance(error, AuthenticationError):
        return Finding("credentials", False, f"{error.reason} (HTTP {error.status_code})")
    if isinstance(error, ConnectionFailedError):
        topic = "TLS" if "TLS" in error.reason else "reachable"
        return Finding(topic, False, error.reason)
    return Finding("reachable", False, str(error))


def _artifacts(client: DatameerClient, pipeline: Pipeline) -> list[Finding]:
    findings = []
    for name, job in pipeline.jobs.items():
        try:
            status = client.execution_status(job.ref)
        except EndpointUnavailableError as error:
            findings.append(Finding(f"job {name}", False, error.reason))
            continue
        except NotFoundError as error:
            findings.append(Finding(f"job {name}", False, f"{job.ref.describe()}: {error.reason}"))
            continue
        except ApiError as error:
            findings.append(Finding(f"job {name}", False, str(error)))
            continue
        if status.status is JobStatus.NEVER_RAN:
            state = "never ran"
        elif status.status is JobStatus.UNKNOWN:
            state = f"status {status.raw_status}"
        else:
            state = f"last run {status.status.value}"
        findings.append(Finding(f"job {name}", True, f"{job.ref.describe()} resolves ({state})"))
    return findings


def _encoding(client: DatameerClient, pipeline: Pipeline | None) -> Finding:
    encoding, source = client.path_encoding.value, client.path_encoding_source
    if source == "set":
        return Finding("path encoding", None, f"{encoding} (set)")
    if source == "detected":
        return Finding("path encoding", True, f"{encoding} (detected: the server answered it)")
    has_paths = pipeline is not None and any(
        job.ref.kind is RefKind.PATH for job in pipeline.jobs.values()
    )
    why = "no path resolved to try the forms on" if has_paths else "no path to try"
    return Finding("path encoding", None, f"not detected ({why}); {encoding} until then")
