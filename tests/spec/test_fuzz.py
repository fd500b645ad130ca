"""The loader's only failure mode is DmpipeError, whatever YAML-ish text it is given."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import DmpipeError
from runner.model import Pipeline
from runner.spec import inspect_pipeline_text, load_pipeline_text
from tests.spec.strategies import NEAR_VALID, PIPELINES

pytestmark = pytest.mark.slow

FRAGMENTS = [
    "version: 1\n", "name: fuzz\n", "jobs:\n", "  load: {file_id: 1}\n", "  b:\n",
    "    file_id: 2\n", "    needs: [load]\n", "    needs: load\n", "    uuid: x\n",
    "    path: /A b\n", "    retry: {retries: 2, delay: 30s}\n", "    timeout: 1h\n",
    "    expect: {ROWS: '> 0'}\n", "defaults:\n", "  retry:\n", "    retries: ${N:-2}\n",
    "policies: {max_parallel: 0}\n", "mode: client\n", "variables: {a: 1}\n",
    "server:\n", "  url: ${URL}\n", "  password: p\n", "emulator: x.yaml\n", "---\n",
    "x-a: &a {b: 1}\n", "  <<: *a\n", "  c: *a\n", "*a\n", "&a\n", "- \n", "[", "]", "{",
    "}", ",", ":", "? ", "!!binary ", "!!int ", "!x ", "'", '"', "\t", "#", "|\n", ">\n",
    "${", "$$", "${X:?m}", "\ufeff", "\x00", "\x85", "\u2028", "\n", " ", "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n", "...\n",
]  # fmt: skip
YAMLISH = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH, st.dictionaries(st.sampled_from(["N", "URL", "X"]), st.text(max_size=5)))
def test_the_loader_raises_nothing_but_its_own_errors(text: str, env: dict[str, str]) -> None:
    result: Pipeline | DmpipeError
    try:
        result = load_pipeline_text(text, env=env, variables={"v": "1"})
    except DmpipeError as error:  # anything else fails the test
        result = error
    assert isinstance(result, Pipeline) or str(result)


@settings(max_examples=300, deadline=None)
@given(PIPELINES | NEAR_VALID)
def test_any_value_builds_a_pipeline_or_has_located_errors(value: dict[str, Any]) -> None:
    # JSON is YAML: the value goes through every stage, the build included.
    inspection = inspect_pipeline_text(json.dumps(value, indent=1), env={"URL": "http://x"})

    assert (inspection.pipeline is None) == bool(inspection.errors)
    assert all(problem.line >= 1 and problem.col >= 1 for problem in inspection.problems)
