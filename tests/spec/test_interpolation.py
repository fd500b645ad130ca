"""``${VAR}`` interpolation, the docker-compose way, as a function of text and environment."""

from __future__ import annotations

import pytest

from runner.spec.interpolation import (
    InterpolationError,
    MalformedInterpolationError,
    interpolate,
)

ENV = {"HOST": "datameer.example.com", "EMPTY": "", "PORT": "8443", "DOLLAR": "a$b"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain text", "plain text", id="no-dollar"),
        pytest.param("${HOST}", "datameer.example.com", id="braced"),
        pytest.param("https://${HOST}:${PORT}/", "https://datameer.example.com:8443/", id="two"),
        pytest.param("${EMPTY}", "", id="set-but-empty"),
        pytest.param("${MISSING:-fallback}", "fallback", id="colon-dash-unset"),
        pytest.param("${EMPTY:-fallback}", "fallback", id="colon-dash-empty"),
        pytest.param("${HOST:-fallback}", "datameer.example.com", id="colon-dash-set"),
        pytest.param("${MISSING-fallback}", "fallback", id="dash-unset"),
        pytest.param("${EMPTY-fallback}", "", id="dash-keeps-empty"),
        pytest.param("${MISSING:-}", "", id="empty-default"),
        pytest.param("${MISSING:-${HOST}}", "datameer.example.com", id="nested-default"),
        pytest.param("${MISSING:-${ALSO_MISSING:-deep}}", "deep", id="doubly-nested"),
        pytest.param("${MISSING:-a}b}", "ab}", id="brace-after-expression"),
        pytest.param("${HOST:+on}", "on", id="colon-plus-set"),
        pytest.param("${EMPTY:+on}", "", id="colon-plus-empty"),
        pytest.param("${EMPTY+on}", "on", id="plus-empty-is-set"),
        pytest.param("${MISSING+on}", "", id="plus-unset"),
        pytest.param("${HOST:?needed}", "datameer.example.com", id="required-set"),
        pytest.param("$$", "$", id="escaped-dollar"),
        pytest.param("$${HOST}", "${HOST}", id="escaped-expression"),
        pytest.param("price: 5$", "price: 5$", id="trailing-dollar"),
        pytest.param("$5 and $ alone", "$5 and $ alone", id="dollar-before-non-name"),
        pytest.param("${DOLLAR}", "a$b", id="values-are-not-interpolated-again"),
        pytest.param("${MISSING:-a:b-c}", "a:b-c", id="default-with-operators"),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, ENV).text == expected


@pytest.mark.parametrize(
    ("text", "substituted", "bare"),
    [
        pytest.param("plain", False, (), id="plain"),
        pytest.param("$$HOST", False, (), id="escaped-is-not-bare"),
        pytest.param("${HOST}", True, (), id="expression"),
        pytest.param("$HOST and $PORT", False, ("HOST", "PORT"), id="bare-names"),
        pytest.param("${HOST}/$PATH", True, ("PATH",), id="both"),
    ],
)
def test_interpolate_reports_expressions_and_bare_names(
    text: str, substituted: bool, bare: tuple[str, ...]
) -> None:
    result = interpolate(text, ENV)
    assert (result.substituted, result.bare_names) == (substituted, bare)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "${MISSING}",
            "environment variable MISSING is not set; set it, or give a default: "
            "${MISSING:-default}",
            id="unset",
        ),
        pytest.param(
            "${MISSING:?tell me}", "environment variable MISSING is not set: tell me", id="colon-q"
        ),
        pytest.param(
            "${EMPTY:?tell me}", "environment variable EMPTY is empty: tell me", id="empty"
        ),
        pytest.param("${MISSING?}", "environment variable MISSING is not set", id="q-no-message"),
        pytest.param(
            "${MISSING:-${ALSO}}",
            "environment variable ALSO is not set; set it, or give a default: ${ALSO:-default}",
            id="unset-inside-default",
        ),
    ],
)
def test_unset_variables_are_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, ENV)
    assert str(caught.value) == message
    assert not isinstance(caught.value, MalformedInterpolationError)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("${HOST", id="unclosed"),
        pytest.param("${", id="bare-opening"),
        pytest.param("${}", id="empty-name"),
        pytest.param("${1HOST}", id="digit-first"),
        pytest.param("${HOST:=x}", id="assignment-operator"),
        pytest.param("${HO ST}", id="space"),
        pytest.param("${MISSING:-${HOST}", id="unclosed-outer"),
    ],
)
def test_malformed_expressions_are_errors(text: str) -> None:
    with pytest.raises(MalformedInterpolationError):
        interpolate(text, ENV)
