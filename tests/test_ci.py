"""``.ci/run`` runs the very test command README.md gives, and that command runs everything."""

from __future__ import annotations

import re

from testing.scenarios import ROOT


def pytest_commands(text: str) -> list[str]:
    return re.findall(r"python -m pytest[^\n`]*", text)


def test_ci_runs_the_readme_test_command() -> None:
    readme = pytest_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    ci = pytest_commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert len(ci) == 1
    assert ci[0] == readme[0]
    assert "--run-slow" in ci[0].split()
