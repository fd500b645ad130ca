from __future__ import annotations

import pytest

from runner.plan.masking import MASK, is_secret_name, masked_variables


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        pytest.param("password", True, id="password"),
        pytest.param("db_password", True, id="snake"),
        pytest.param("dbPassword", True, id="camel"),
        pytest.param("DBPASSWD", True, id="passwd-inside"),
        pytest.param("api_key", True, id="key-word"),
        pytest.param("accessKey", True, id="camel-key"),
        pytest.param("AWS_SECRET_ACCESS_KEY", True, id="aws"),
        pytest.param("github-token", True, id="token"),
        pytest.param("gcp_credentials", True, id="credentials"),
        pytest.param("basic_auth", True, id="auth"),
        pytest.param("run_date", False, id="date"),
        pytest.param("monkey", False, id="monkey"),
        pytest.param("keyword", False, id="keyword"),
        pytest.param("region", False, id="region"),
    ],
)
def test_is_secret_name(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_masked_variables_by_name_and_by_password_value() -> None:
    variables = {"token": "t", "conn": "hunter2", "day": "1", "empty": ""}
    assert masked_variables(variables, ["hunter2", None, ""]) == {
        "token": MASK,
        "conn": MASK,
        "day": "1",
        "empty": "",
    }
