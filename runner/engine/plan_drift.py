"""Differences between the server's execution plan and the pipeline's DAG (sequential mode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.engine.slots import Slot


@dataclass(frozen=True)
class PlanDrift:
    """Differences between the server's execution plan and the pipeline's DAG."""

    added: tuple[str, ...] = ()  # plan steps that match no job of the pipeline
    left_out: tuple[str, ...] = ()  # pipeline jobs the plan does not run
    out_of_order: tuple[str, ...] = ()  # "a before b" pairs the plan runs the other way

    def __bool__(self) -> bool:
        return bool(self.added or self.left_out or self.out_of_order)

    def describe(self) -> str:
        """The drift in one line."""
        parts = []
        if self.added:
            parts.append("the server added " + ", ".join(self.added))
        if self.left_out:
            parts.append("the plan leaves out " + ", ".join(self.left_out))
        if self.out_of_order:
            parts.append("the plan runs out of order: " + ", ".join(self.out_of_order))
        return "; ".join(parts)

    def merged(self, other: PlanDrift) -> PlanDrift:
        """This drift and ``other``'s (a later trigger's), without repeats."""
        return PlanDrift(
            _union(self.added, other.added),
            _union(self.left_out, other.left_out),
            _union(self.out_of_order, other.out_of_order),
        )


def out_of_order(order: list[str], slots: Mapping[str, Slot]) -> tuple[str, ...]:
    """``need before job`` for each pair the plan ran in ``order`` the wrong way round."""
    position = {name: index for index, name in enumerate(order)}
    return tuple(
        f"{need} before {name}"
        for name, slot in slots.items()
        for need in slot.job.needs
        if need in slots
        if name in position and need in position and position[need] > position[name]
    )


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))
