"""Hostile pipeline and scenario files fail clearly and at once in every command that reads
them (tests/spec pins the exact messages of ``validate``).

"At once" is held by the timeout mark, never by the wall clock: expanding the alias bomb or
recursing 10,000 levels would take hours or crash, refusing them takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.commands.main import main
from testing.environment import server_env


def alias_bomb(levels: int = 12) -> str:
    """Twelve levels of nine aliases: 9**12 (282 billion) values if expanded."""
    lines = ['x-0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x-{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def pipeline_bomb() -> bytes:
    return ("version: 1\nname: bomb\n" + alias_bomb()).encode()


def pipeline_20_mb() -> bytes:
    return b"version: 1\nname: huge\njobs:\n" + (b"# " + b"x" * 1021 + b"\n") * (20 * 1024)


def pipeline_deep() -> bytes:
    return ("version: 1\nname: deep\njobs: " + "[" * 10_000 + "]" * 10_000 + "\n").encode()


PIPELINES = [
    pytest.param(pipeline_bomb, "aliases expand to more than", id="alias-bomb"),
    pytest.param(pipeline_20_mb, "a pipeline file may be at most 5 MB", id="20-MB"),
    pytest.param(pipeline_deep, "the file nests deeper than 100 levels", id="10000-deep"),
]
COMMANDS = [
    pytest.param(lambda path: ["run", str(path)], id="run"),
    pytest.param(lambda path: ["run", str(path), "--emulator"], id="run-emulator"),
    pytest.param(lambda path: ["plan", str(path), "--json"], id="plan"),
    pytest.param(lambda path: ["graph", str(path)], id="graph"),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("content", "message"), PIPELINES)
@pytest.mark.timeout(10)
def test_a_hostile_pipeline_file_fails_clearly(
    content: Callable[[], bytes],
    message: str,
    command: Callable[[Path], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_env(monkeypatch, "http://127.0.0.1:1")
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content())

    code = main(command(path))

    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{path}:" in err
    assert message in err
    assert len(err) < 1000
    assert not (tmp_path / "dmpipe-runs").exists()


SCENARIOS = [
    pytest.param(
        "description:\n"
        + "".join(f"  - &c{n} [{', '.join([f'*c{n - 1}'] * 9)}]\n" for n in range(1, 10))
        + "users: {admin: {password: admin, can: *c9}}\n",
        "aliases expand to more than 500000 values (an alias bomb?)",
        id="alias-bomb",
    ),
    pytest.param("artifacts: &a [{file_id: 1}, *a]\n", "1:30: unknown alias '*a'", id="cycle"),
    pytest.param(
        "artifacts: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "the file nests deeper than 100 levels",
        id="10000-deep",
    ),
]


@pytest.mark.parametrize(("text", "message"), SCENARIOS)
@pytest.mark.parametrize("how", ["emulator-command", "pipeline-reference"])
@pytest.mark.timeout(10)
def test_a_hostile_scenario_file_fails_clearly(
    text: str,
    message: str,
    how: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = tmp_path / "scenario.yaml"
    # The first anchor the bomb's aliases point at.
    scenario.write_text(text.replace("*c0", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"), encoding="utf-8")
    if how == "emulator-command":
        args = ["emulator", "--port", "0", "--scenario", str(scenario)]
    else:
        pipeline = tmp_path / "pipeline.yaml"
        pipeline.write_text(
            "version: 1\nname: p\nemulator: scenario.yaml\njobs: {a: {file_id: 1}}\n"
        )
        args = ["run", str(pipeline), "--emulator", "--report-dir", str(tmp_path / "r")]

    code = main(args)

    err = capsys.readouterr().err
    assert code == 2, err[:500]
    assert f"{scenario}" in err
    assert message in err
    assert len(err) < 1000
