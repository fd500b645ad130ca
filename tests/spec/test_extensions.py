"""Datameer artifact extensions: a path without one gets a warning naming the likely one."""

from __future__ import annotations

import pytest

from runner.spec import inspect_pipeline_text
from runner.spec.extensions import has_known_extension, likely_extension


@pytest.mark.parametrize(
    ("path", "known", "likely"),
    [
        pytest.param("/Data/ImportJobs/URLS.imp", True, ".imp", id="import"),
        pytest.param("/Workbooks/Clickstream Preprocessing.WBK", True, ".wbk", id="upper-case"),
        pytest.param("/FileUploads/Clickstream Data.upl", True, ".upl", id="upload"),
        pytest.param("/Data/ImportJobs/URLS", False, ".imp", id="import-folder"),
        pytest.param("/Exports/Sales to CRM", False, ".exp", id="export-folder"),
        pytest.param("/Data/Uploads/Prices", False, ".upl", id="upload-folder"),
        pytest.param("/Analytics/Sales v1.2", False, ".wbk", id="a-dot-is-not-an-extension"),
    ],
)
def test_extensions(path: str, known: bool, likely: str) -> None:
    assert has_known_extension(path) is known
    assert likely_extension(path) == likely


def test_validate_warns_and_names_the_likely_extension() -> None:
    inspection = inspect_pipeline_text(
        "version: 1\nname: x\njobs:\n"
        "  a: {path: /Data/ImportJobs/Web logs}\n"
        "  b: {path: /Analytics/Sales.wbk, needs: [a]}\n"
    )
    assert inspection.pipeline is not None  # a warning, not an error
    assert [(p.severity, p.line) for p in inspection.problems] == [("warning", 4)]
    assert "probably '/Data/ImportJobs/Web logs.imp' (import job)" in str(inspection.problems[0])
