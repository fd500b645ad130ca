"""What a run would do, worked out without a server call: mode, order, policies, curl.

``choose_mode`` is shared with the engine; ``build_plan`` makes the ``Plan``
record that ``dmpipe plan`` prints as text (``render_text``), curl commands
(``render_curl``) or JSON (``plan_document``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.lazy import lazy_names

if TYPE_CHECKING:
    from runner.plan.mode import ModeChoice, choose_mode, has_sequential_trigger
    from runner.plan.outline import Plan, PlannedJob, StartedBy, build_plan

# Public name -> its module, imported on first use: a run needs the mode choice before
# its first trigger, not the plan's outline (and the job graph it builds).
_HOMES = {
    "ModeChoice": "runner.plan.mode",
    "choose_mode": "runner.plan.mode",
    "has_sequential_trigger": "runner.plan.mode",
    "Plan": "runner.plan.outline",
    "PlannedJob": "runner.plan.outline",
    "StartedBy": "runner.plan.outline",
    "build_plan": "runner.plan.outline",
}

__all__ = [
    "ModeChoice",
    "Plan",
    "PlannedJob",
    "StartedBy",
    "build_plan",
    "choose_mode",
    "has_sequential_trigger",
]


__getattr__ = lazy_names("runner.plan", _HOMES, globals())
