"""junit.xml: parsed back with an XML parser, a test case per job, failures with reasons."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from runner.report.junit import to_junit
from runner.report.load import parse_report, read_report
from runner.report.timeline import elapsed_seconds
from testing.reports import (
    MARKUP_PATH,
    MIXED_OUTCOMES,
    MixedRun,
    attempt,
    report_document,
    report_job,
)


def suite_of(run: MixedRun) -> ET.Element:
    root = ET.parse(run.directory / "junit.xml").getroot()  # noqa: S314 (our own output)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    return suite


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.findall("testcase")}


def test_a_test_case_per_job(mixed_run: MixedRun) -> None:
    suite = suite_of(mixed_run)
    assert list(cases(suite)) == list(MIXED_OUTCOMES)
    assert suite.attrib["name"] == "test"
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("6", "1")
    assert (suite.attrib["errors"], suite.attrib["skipped"]) == ("1", "1")
    assert {case.attrib["classname"] for case in suite.findall("testcase")} == {"dmpipe.test"}


@pytest.mark.parametrize(
    ("job", "tag", "kind", "message"),
    [
        pytest.param("load_bad", "failure", "FAILED", "Datameer reported ERROR", id="failed"),
        pytest.param("long_running", "error", "CANCELED", "load_bad failed", id="cancelled"),
        pytest.param("publish", "skipped", None, "load_bad failed", id="skipped"),
    ],
)
def test_verdict_elements_carry_the_reason(
    mixed_run: MixedRun, job: str, tag: str, kind: str | None, message: str
) -> None:
    case = cases(suite_of(mixed_run))[job]
    (verdict,) = [child for child in case if child.tag != "system-out"]
    assert verdict.tag == tag
    assert verdict.attrib.get("type") == kind
    assert message in verdict.attrib["message"]


def test_failure_text_lists_every_attempt(mixed_run: MixedRun) -> None:
    failure = cases(suite_of(mixed_run))["load_bad"].find("failure")
    assert failure is not None
    assert failure.text is not None
    assert "attempt 1:" in failure.text
    assert "attempt 2:" in failure.text
    assert "server time" in failure.text
    assert "dmpipe's clock" in failure.text


def test_succeeded_jobs_have_no_verdict_but_their_counters(mixed_run: MixedRun) -> None:
    case = cases(suite_of(mixed_run))["extract"]
    assert [child.tag for child in case] == ["system-out"]
    out = case.findtext("system-out") or ""
    assert "attempt 1:" in out
    assert "attempt 2:" in out
    assert "WORKBOOK_RECORDS = " in out


def test_times_are_the_elapsed_seconds(mixed_run: MixedRun) -> None:
    report = read_report(mixed_run.directory)
    suite = suite_of(mixed_run)
    for name, case in cases(suite).items():
        expected = elapsed_seconds(report.job(name)) or 0.0
        assert float(case.attrib["time"]) == pytest.approx(expected, abs=0.001)
    assert float(suite.attrib["time"]) == pytest.approx(report.duration_seconds, abs=0.001)
    assert float(cases(suite)["extract"].attrib["time"]) > 0


def test_properties_name_the_run(mixed_run: MixedRun) -> None:
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite_of(mixed_run).iter("property")}
    assert properties["mode"] == "client"
    assert properties["exit_code"] == "1"
    assert properties["server"].startswith("http://127.0.0.1:")


def test_markup_in_a_server_message_stays_well_formed(markup_run: MixedRun) -> None:
    (case,) = suite_of(markup_run).findall("testcase")
    failure = case.find("failure")
    assert failure is not None
    assert MARKUP_PATH in failure.attrib["message"]  # the parser gives the text back intact


def test_hostile_names_and_control_characters_stay_well_formed() -> None:
    hostile = "<script>alert(1)</script>&\"'"
    document = report_document(
        report_job(
            hostile,
            attempt(1, outcome="FAILED", error=f"bad \x00\x1b[31m {hostile}"),
            outcome="FAILED",
            reason=f"{hostile}\x07",
        )
    )
    root = ET.fromstring(to_junit(parse_report(document)).encode())  # noqa: S314 (our own)
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.attrib["name"] == hostile
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == f"{hostile}\ufffd"
    assert "\x00" not in (failure.text or "")
