"""One URL redaction for reports, plans, resume identities and redirect messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.datameer.credentials import redact_url
from runner.engine.identity import normal_server
from runner.engine.outcome import JobState
from runner.plan.outline import build_plan
from runner.report.writer import RunSummary, build_report
from testing.engine_runs import job, pipeline

AT = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://u:p@[::1]:8080/x", "http://[::1]:8080/x", id="ipv6"),
        pytest.param("http://[::1]:8080/x", "http://[::1]:8080/x", id="ipv6-no-userinfo"),
        pytest.param("http://u:p@dm:99999/x", "http://dm:99999/x", id="port-too-large"),
        pytest.param("http://u:p@dm:port/x", "http://dm:port/x", id="port-not-a-number"),
        pytest.param("https://dm.example.com:8443/", "https://dm.example.com:8443/", id="none"),
        pytest.param("https://etl@dm.example.com/", "https://dm.example.com/", id="user-only"),
        pytest.param("https://etl:@dm/", "https://dm/", id="empty-password"),
        pytest.param("https://etl:p@s:s@dm:8443/a", "https://dm:8443/a", id="password-@-and-:"),
        pytest.param("https://dm/api?x=1#top", "https://dm/api?x=1#top", id="rest-kept"),
        pytest.param("https://DM.example.com/", "https://DM.example.com/", id="case-kept"),
        pytest.param("http://u:p@[::1", "(not a valid URL)", id="unbalanced-bracket"),
        pytest.param("http://u:p@[dm]/", "(not a valid URL)", id="bracketed-non-ip"),
        pytest.param("dm.example.com", "dm.example.com", id="no-scheme"),
        pytest.param("", "", id="empty"),
        pytest.param(None, None, id="none-given"),
    ],
)
def test_redact_url(url: str | None, expected: str | None) -> None:
    assert redact_url(url) == expected


SECRET = st.text(alphabet="PQRSTUVW@:!$%&'()*+,;=", min_size=4)


@given(user=SECRET, password=SECRET)
def test_no_password_survives(user: str, password: str) -> None:
    shown = redact_url(f"https://{user}:{password}@dm.example.com:8443/api")
    assert shown == "https://dm.example.com:8443/api"


@given(st.text(max_size=40))
def test_never_raises(text: str) -> None:
    assert isinstance(redact_url(text), str)


def test_the_report_records_an_ipv6_server_without_credentials() -> None:
    chosen = pipeline(job("load", 1))
    summary = RunSummary(0, False, False, "client", "test", AT, AT)
    states = {"load": JobState("load")}
    report = build_report(chosen, states, summary, server_url="http://u:p@[::1]:99999/dm/")
    assert report["server"]["url"] == "http://[::1]:99999/dm/"


def test_resume_compares_servers_without_credentials() -> None:
    assert normal_server("https://a:b@[::1]:8443/dm/") == normal_server("https://[::1]:8443/dm")


def test_the_plan_shows_the_server_without_credentials() -> None:
    chosen = pipeline(job("load", 1))
    plan = build_plan(chosen, default_url="https://etl:s3cr@t@[::1]:8443/")
    assert plan.server_url == "https://[::1]:8443/"
