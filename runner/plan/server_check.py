"""``dmpipe plan --check-server``: does the server have the artifacts and endpoints a run needs?

Only GETs: each reference's v2 status (which also tells whether the REST v2
endpoints exist, i.e. Datameer 7.2.5+ or the plugin), and one job-details call
on an execution found on the way, whose shape tells 7.4+ from older servers.
The sequential trigger (7.5.2) cannot be probed without starting jobs; an
``auto`` run falls back to client mode by itself when it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.datameer.protocol import JobApi
from runner.errors import EndpointUnavailableError, NotFoundError
from runner.model import Pipeline


@dataclass(frozen=True)
class ReferenceCheck:
    """Whether one job's artifact exists for the user."""

    job: str
    ref: str
    exists: bool | None  # None: could not be checked
    detail: str


@dataclass(frozen=True)
class ServerCheck:
    """The answers of --check-server."""

    references: tuple[ReferenceCheck, ...]
    api_v2: bool
    details_7_4: bool | None  # None: no execution to look at
    # The client drives this server through the legacy calls (no REST v2, configuration ids).
    legacy: bool = False
    sequential: bool | None = None  # None: not known without starting jobs

    @property
    def ok(self) -> bool:
        """True when every reference exists and the run has endpoints to drive them with."""
        return (self.api_v2 or self.legacy) and all(r.exists for r in self.references)

    def lines(self) -> list[str]:
        """The findings in words, one per line."""
        lines = [f"  {r.job:<24} {r.ref}: {r.detail}" for r in self.references]
        if self.legacy:
            v2 = "missing: the run uses the legacy calls, by each job's configuration_id"
        elif self.api_v2:
            v2 = "available"
        else:
            v2 = (
                "MISSING: upgrade or install the REST v2 plugin (or give every job its "
                "configuration_id: for the legacy calls)"
            )
        lines.append(f"  REST v2 endpoints (trigger, stop, status; Datameer 7.2.5+): {v2}")
        shape = {True: "7.4 or newer", False: "older than 7.4", None: "unknown (nothing ran yet)"}
        lines.append(f"  job-details shape: {shape[self.details_7_4]}")
        if self.sequential is None:
            lines.append(
                "  sequential trigger (7.5.2+): not probed (it would start jobs); "
                "auto mode falls back to client mode without it"
            )
        else:
            lines.append(
                "  sequential trigger (7.5.2+): "
                + ("available (by version)" if self.sequential else "missing (by version)")
            )
        return lines


def check_server(pipeline: Pipeline, api: JobApi) -> ServerCheck:
    """Look up every job's artifact on the server; authentication errors propagate."""
    references: list[ReferenceCheck] = []
    api_v2 = True
    execution_id: int | None = None
    for name, job in pipeline.jobs.items():
        if not api_v2:
            references.append(ReferenceCheck(name, str(job.ref), None, "not checked"))
            continue
        try:
            status = api.execution_status(job.ref)
        except EndpointUnavailableError:
            api_v2 = False
            references.append(ReferenceCheck(name, str(job.ref), None, "not checked"))
            continue
        except NotFoundError as error:
            references.append(
                ReferenceCheck(name, str(job.ref), False, f"MISSING ({error.reason})")
            )
            continue
        execution_id = execution_id or status.execution_id
        state = status.raw_status or status.status.value
        references.append(ReferenceCheck(name, str(job.ref), True, f"ok ({state})"))
    details = _details_shape(api, execution_id)
    known = getattr(api, "capabilities", None)
    if known is None:
        return ServerCheck(tuple(references), api_v2, details)
    found = known()
    return ServerCheck(
        tuple(references),
        api_v2 and not found.legacy,
        details,
        legacy=found.legacy and all(r.exists is not None for r in references),
        sequential=found.sequential,
    )


def _details_shape(api: JobApi, execution_id: int | None) -> bool | None:
    if execution_id is None:
        return None
    try:
        details = api.job_details(execution_id)
    except NotFoundError:
        return None
    return details.configuration_id is not None or details.file_id is not None
