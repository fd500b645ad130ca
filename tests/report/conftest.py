"""Runs on the emulator shared by the report tests (each runs once per session)."""

from __future__ import annotations

import pytest

from runner.report.publish import publish_reports
from tests.report.support import MixedRun, run_markup, run_mixed


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """The mixed run, with junit.xml, summary.md and report.html published next to it."""
    result = run_mixed(tmp_path_factory.mktemp("mixed"))
    publish_reports(result.directory, {})
    return result


@pytest.fixture(scope="session")
def markup_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """A failed run whose server-side failure message quotes markup."""
    result = run_markup(tmp_path_factory.mktemp("markup"))
    publish_reports(result.directory, {})
    return result
