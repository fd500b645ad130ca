"""The slice of the Datameer API that the engine and the planner drive.

``runner.datameer.client.DatameerClient`` satisfies ``JobApi``; the seam lets tests and
benchmarks count or slow calls without touching HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from runner.datameer.records import (
    ExecutionPlan,
    ExecutionStatus,
    RunningJob,
    TriggerResult,
)
from runner.reference import JobRef

if TYPE_CHECKING:
    from runner.datameer.late_records import JobDetails


class JobApi(Protocol):
    """The calls the engine makes; one method per endpoint, no policy."""

    def execution_status(self, ref: JobRef) -> ExecutionStatus: ...

    def job_details(self, execution_id: int) -> JobDetails: ...

    def list_running(self) -> list[RunningJob]: ...

    def trigger(self, ref: JobRef) -> TriggerResult: ...

    def trigger_sequence(
        self, file_ids: Sequence[int], variables: Mapping[str, str] | None = None
    ) -> ExecutionPlan: ...

    def stop(self, ref: JobRef) -> None: ...

    def stop_legacy(self, execution_id: int) -> None: ...


def server_facts(api: JobApi) -> dict[str, object]:
    """What the client knows about the server (version, where it came from, the endpoints
    it uses), for a journal or a report; empty for an API without that knowledge (a test
    double).  Asks the server's version if the client was set to and has not yet."""
    known = getattr(api, "capabilities", None)
    if known is None:
        return {}
    found = known()
    return {
        "version": found.version,
        "version_source": found.source,
        "endpoints": {operation: endpoint for operation, endpoint, _ in found.endpoints()},
    }
