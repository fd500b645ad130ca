"""Which Datameer endpoints a run will call, and why, in words (``dmpipe plan``, ``doctor``)."""

from __future__ import annotations

from runner.datameer.versions import Capabilities, capabilities
from runner.model import Pipeline


def planned_capabilities(pipeline: Pipeline) -> Capabilities:
    """What the plan can know without asking: the ``server.version`` setting, if any."""
    if pipeline.server.version:
        return capabilities(pipeline.server.version, "setting")
    return capabilities(None, "unknown")


def endpoint_lines(known: Capabilities, pipeline: Pipeline | None = None) -> list[str]:
    """One line per operation: the endpoint and why; then what the run will need."""
    lines = [
        f"  {operation:<19} {endpoint}  ({why})" for operation, endpoint, why in known.endpoints()
    ]
    if known.version is None and known.source == "unknown":
        lines.append(
            "  the run asks GET /rest/license-details first and follows the version it says; "
            "set server.version or --datameer-version to decide here"
        )
    if pipeline is not None:
        lines.extend(_legacy_needs(known, pipeline))
    return lines


def _legacy_needs(known: Capabilities, pipeline: Pipeline) -> list[str]:
    missing = [name for name, job in pipeline.jobs.items() if job.configuration_id is None]
    if not missing:
        return []
    names = ", ".join(missing)
    if known.legacy:
        return [
            f"  MISSING: the legacy calls need configuration_id: on {names}; "
            "these jobs cannot run on this server"
        ]
    if known.version is None:
        return [
            f"  note: without configuration_id: ({names}) a server without REST v2 "
            "(before 7.2.5, or without the plugin) cannot run these jobs"
        ]
    return []
