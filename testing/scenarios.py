"""Building emulator scenarios quickly in tests.

``scenario(artifact(1), artifact(2, outcomes=["ERROR"]))`` is a 7.5.2 server with
one user (admin/admin) and a manual clock: nothing moves until the test calls
``server.clock.advance(seconds)``.  Pass ``time_scale=1000`` (and ``clock="real"``)
for a clock that runs by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "emulator"
REFERENCE = EXAMPLES / "reference.yaml"

USER, PASSWORD = "admin", "admin"


def artifact(file_id: int, **fields: Any) -> dict[str, Any]:
    """One artifact lasting 10 emulated seconds, with no queue time."""
    return {"file_id": file_id, "duration": 10, "queue_time": 0, **fields}


def scenario(*artifacts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A scenario mapping: manual clock, admin/admin, the given artifacts (or ``artifacts=``)."""
    listed = list(fields.pop("artifacts", [])) + list(artifacts)
    return {
        "version": "7.5.2",
        "clock": "manual",
        "users": {USER: {"password": PASSWORD}},
        "artifacts": listed,
        **fields,
    }


def chain(*file_ids: int, **fields: Any) -> list[dict[str, Any]]:
    """Artifacts linked ``downstream`` one after the other: 1 → 2 → 3."""
    return [
        artifact(file_id, downstream=list(file_ids[i + 1 : i + 2]), **fields)
        for i, file_id in enumerate(file_ids)
    ]
