"""The plan as a JSON document for tools (``dmpipe plan --json``); it has a ``version`` key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runner.model import Job
from runner.plan.endpoints import planned_capabilities
from runner.plan.masking import masked_variables
from runner.plan.outline import Plan, PlannedJob

DOCUMENT_VERSION = 1


def plan_document(plan: Plan, passwords: Iterable[str | None] = ()) -> dict[str, Any]:
    """Plain JSON-ready data: durations in seconds, enums as their file spelling."""
    pipeline = plan.pipeline
    policies = pipeline.policies
    return {
        "version": DOCUMENT_VERSION,
        "pipeline": pipeline.name,
        "file": pipeline.path,
        "server_url": plan.server_url,
        "server_profile": plan.pipeline.server.profile,
        "mode": {
            "mode": plan.mode.runs_as.value,
            "fallback_to_client": plan.mode.mode is not plan.mode.runs_as,
            "reason": plan.mode.reason,
            "warnings": list(plan.mode.warnings),
        },
        "variables": masked_variables(pipeline.variables, [pipeline.server.password, *passwords]),
        "policies": {
            "on_failure": policies.on_failure.value,
            "max_parallel": policies.max_parallel,
            "timeout": policies.timeout,
            "poll_interval": policies.poll_interval,
            "max_poll_interval": policies.max_poll_interval,
        },
        "levels": _levels(plan),
        "jobs": [_job(planned) for planned in plan.jobs],
        "critical_path": {
            "jobs": list(plan.critical_path.jobs),
            "total": plan.critical_path.total,
            "unestimated": list(plan.critical_path.unestimated),
        },
        "endpoints": _endpoints(plan),
        "selection": {
            "assumed_done": {
                name: list(needs) for name, needs in plan.selection.assumed_done.items()
            },
            "downstream_left_out": list(plan.selection.downstream_left_out),
        },
    }


def _endpoints(plan: Plan) -> dict[str, Any]:
    """The calls the run will make and why (``server.version`` decides, or the server)."""
    known = planned_capabilities(plan.pipeline)
    return {
        "server_version": known.version,
        "decided_by": "setting" if known.version else "the server, at run time",
        "calls": [
            {"operation": op, "endpoint": endpoint, "why": why}
            for op, endpoint, why in known.endpoints()
        ],
    }


def _levels(plan: Plan) -> list[list[str]]:
    result: list[list[str]] = [[] for _ in range(plan.level_count)]
    for planned in plan.jobs:
        result[planned.level - 1].append(planned.job.name)
    return result


def _job(planned: PlannedJob) -> dict[str, Any]:
    job: Job = planned.job
    return {
        "name": job.name,
        "level": planned.level,
        "ref": {"kind": job.ref.kind.value, "value": job.ref.value},
        "configuration_id": job.configuration_id,
        "needs": list(job.needs),
        "assumed_done": list(planned.assumed_done),
        "when": job.when.value,
        "retry": {
            "retries": job.retry.retries,
            "delay": job.retry.delay,
            "backoff": job.retry.backoff,
            "max_delay": job.retry.max_delay,
            "jitter": job.retry.jitter,
            "retry_on": sorted(job.retry.retry_on),
        },
        "timeout": job.timeout,
        "warnings": job.warnings.value,
        "already_running": job.already_running.value,
        "expect": [str(expectation) for expectation in job.expect],
        "estimate": job.estimate,
        "started_by": planned.started_by,
        "critical": planned.critical,
    }
