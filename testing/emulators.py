"""Starting emulators in tests: any scenario source, with top-level overrides."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.emulator import EmulatorServer, Scenario, load_scenario, scenario_from_dict
from runner.emulator.loading import merge_overrides, with_overrides

# The type of the ``make_emulator`` fixture.
MakeEmulator = Callable[..., EmulatorServer]
ScenarioSource = Scenario | Mapping[str, Any] | str | Path


def build_scenario(source: ScenarioSource, **overrides: Any) -> Scenario:
    """A ``Scenario`` from a ``Scenario``, a mapping or a file, with top-level overrides."""
    if isinstance(source, Scenario):
        return with_overrides(source, **overrides)
    if isinstance(source, Mapping):
        return scenario_from_dict(merge_overrides(source, overrides), source="<test>")
    path = Path(source).resolve()
    return with_overrides(_load(path, path.stat().st_mtime_ns), **overrides)


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> Scenario:
    # Scenarios are immutable: a file read once serves every test (until it changes).
    del mtime_ns
    return load_scenario(path)
