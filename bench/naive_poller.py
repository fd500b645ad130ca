"""The script users write today with the reference's curl commands, in Python.

It triggers every job (``POST /api/job-execution/<file-id>/trigger``), then, every
``interval``, asks each unfinished job's v2 status
(``GET /api/job-execution/<file-id>/status``) until every one reports a final
status for the execution its trigger started.  One request per job per round:
the load dmpipe's batched polling is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import requests

FINAL = frozenset({"COMPLETED", "COMPLETED_WITH_WARNINGS", "ERROR", "CANCELED", "CANCELLED"})


@dataclass(frozen=True)
class NaiveRun:
    """What the naive script did: its rounds of status calls and its real duration."""

    rounds: int
    seconds: float
    finished: int


def run_naive(
    url: str, file_ids: Iterable[int], user: str, password: str, interval: float
) -> NaiveRun:
    """Trigger each job, then poll each one's v2 status every ``interval`` real seconds."""
    clock = time.perf_counter()
    with requests.Session() as session:
        session.auth = (user, password)
        pending: dict[int, int] = {}
        for file_id in file_ids:
            answer = session.post(f"{url}/api/job-execution/{file_id}/trigger", timeout=30)
            pending[file_id] = int(answer.json()["job-execution-id"])
        total, rounds = len(pending), 0
        while pending:
            time.sleep(interval)
            rounds += 1
            for file_id, execution_id in list(pending.items()):
                status = session.get(f"{url}/api/job-execution/{file_id}/status", timeout=30)
                body = status.json()
                if body.get("job-execution-id") == execution_id and body["job-status"] in FINAL:
                    del pending[file_id]
    return NaiveRun(rounds, time.perf_counter() - clock, total - len(pending))
