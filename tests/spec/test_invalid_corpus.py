"""Every file of tests/spec/invalid/ fails ``dmpipe validate`` with exactly the problems it lists.

A case is one file.  Its ``# expect: LINE:COL: message`` comment lines are the
whole expected output (in order, before the summary line); ``# env: NAME=VALUE``
sets an environment variable for the case and ``# args: ...`` adds command-line
arguments.  Cases that need bytes a text file cannot hold (too big, not UTF-8)
are generated below instead.
"""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import pytest

from runner.commands.main import main

CORPUS = Path(__file__).parent / "invalid"
CASES = sorted(CORPUS.glob("*.yaml"))


def header(path: Path, tag: str) -> list[str]:
    """The values of the ``# tag: value`` comment lines of ``path``."""
    prefix = f"# {tag}: "
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """Run ``dmpipe validate ARGS``; the exit code and the output lines before the summary."""
    code = main(["validate", *args])
    lines = capsys.readouterr().out.splitlines()
    return code, lines[:-1]


@pytest.fixture(autouse=True)
def no_test_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus reads DMPIPE_TEST_* variables: none is set unless a case says so."""
    for name in list(os.environ):
        if name.startswith("DMPIPE_TEST_"):
            monkeypatch.delenv(name)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_invalid_file(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = header(case, "expect")
    assert expected, f"{case.name} has no '# expect:' line"
    for assignment in header(case, "env"):
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, value)
    arguments = [word for line in header(case, "args") for word in line.split()]

    code, lines = validate(capsys, str(case), *arguments)

    assert code == 2
    assert lines == [f"{case}:{line}" for line in expected]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b"version: 1\nname: latin\njobs:\n  caf\xe9: {file_id: 1}\n",
            "4:6: the file is not UTF-8 (byte 0xe9); save it as UTF-8",
            id="latin-1-byte",
        ),
        pytest.param(
            "version: 1\nname: é\nx: ".encode() + b"\xff\n",
            "3:4: the file is not UTF-8 (byte 0xff); save it as UTF-8",
            id="invalid-byte-after-multibyte-text",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + "version: 1\n".encode("utf-16-le"),
            "1:1: the file is UTF-16; save it as UTF-8",
            id="utf-16",
        ),
        pytest.param(
            b"version: 1\nname: ctl\njobs:\n  load: {path: /a\x07b}\n",
            "4:18: invalid YAML: character U+0007 is not allowed",
            id="control-character",
        ),
        pytest.param(
            codecs.BOM_UTF8 + b"version: 1\nname: bom\njobs: []\n",
            "3:7: jobs: expected a mapping, got a list",
            id="bom-is-fine-and-positions-ignore-it",
        ),
    ],
)
def test_generated_invalid_bytes(
    data: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(data)

    code, lines = validate(capsys, str(path))

    assert code == 2
    assert lines == [f"{path}:{expected}"]


def test_a_20_mb_file_fails_before_being_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    line = b"# " + b"x" * 1021 + b"\n"
    path.write_bytes(b"version: 1\n" + line * (20 * 1024))

    code, lines = validate(capsys, str(path))

    assert code == 2
    assert lines == [f"{path}:1:1: the file is 20.0 MB; a pipeline file may be at most 5 MB"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("jobs: " + "[" * 10_000 + "]" * 10_000 + "\n", id="flow-lists"),
        pytest.param("jobs: " + "{a: " * 10_000 + "}" * 10_000 + "\n", id="flow-mappings"),
        pytest.param(
            "".join(f"{' ' * depth}k{depth}:\n" for depth in range(2_000)), id="block-mappings"
        ),
        pytest.param("".join(f"{' ' * depth}- \n" for depth in range(2_000)), id="block-lists"),
    ],
)
def test_deep_nesting_fails_clearly(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")

    code, lines = validate(capsys, str(path))

    assert code == 2
    assert len(lines) == 1
    assert lines[0].endswith(": the file nests deeper than 100 levels")


def test_an_alias_bomb_fails_without_expanding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Twelve levels of nine: 9**12 (282 billion) strings if it were expanded.
    lines = ["version: 1", "name: bomb", 'x-0: &l0 ["lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x-{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 13)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.process_time()

    code, output = validate(capsys, str(path))

    assert code == 2
    # x-5 alone stands for 400,000 values; the first *l5 of x-6 crosses the bound.
    assert output == [f"{path}:9:11: aliases expand to more than 500000 values (an alias bomb?)"]
    # CPU time, not wall time: expanding would take hours, refusing takes milliseconds.
    assert time.process_time() - started < 5
