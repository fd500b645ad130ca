"""What a run would do, worked out without a server call: mode, order, policies, curl.

``choose_mode`` is shared with the engine; ``build_plan`` makes the ``Plan``
record that ``dmpipe plan`` prints as text (``render_text``), curl commands
(``render_curl``) or JSON (``plan_document``).
"""

from __future__ import annotations

from runner.plan.mode import ModeChoice, choose_mode, has_sequential_trigger
from runner.plan.outline import Plan, PlannedJob, StartedBy, build_plan

__all__ = [
    "ModeChoice",
    "Plan",
    "PlannedJob",
    "StartedBy",
    "build_plan",
    "choose_mode",
    "has_sequential_trigger",
]
