"""Tab completion: the script ``dmpipe completion SHELL`` prints, driven through a real bash
the way a terminal does, and the completers it calls back."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.commands.completion import folders, job_names, resume_dirs
from runner.commands.main import main

PIPELINE = """\
version: 1
name: shop
jobs:
  load_orders: {file_id: 1}
  load_customers: {file_id: 2}
  report: {file_id: 3, needs: [load_orders, load_customers]}
"""

# Completes a command line in bash as readline would, printing the candidates one per line.
BASH_DRIVER = """\
source <(dmpipe completion bash)
line="$1"
COMP_LINE="$line"; COMP_POINT=${#line}
read -ra COMP_WORDS <<< "$line"; [[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
_python_argcomplete dmpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "shop.yaml").write_text(PIPELINE, encoding="utf-8")
    for run in ("shop-20261130T010203.000-0001", "latest"):
        (tmp_path / "dmpipe-runs" / run).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def complete(line: str, cwd: Path) -> list[str]:
    if shutil.which("bash") is None or shutil.which("dmpipe") is None:
        pytest.skip("needs bash and the dmpipe executable")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_ARGCOMPLETE"))}
    result = subprocess.run(
        ["bash", "-c", BASH_DRIVER, "driver", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [word.strip() for word in result.stdout.splitlines() if word.strip()]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("dmpipe ru", ["run"], id="command"),
        pytest.param("dmpipe run --sel", ["--select"], id="option"),
        pytest.param(
            "dmpipe run shop.yaml --select load_", ["load_customers", "load_orders"], id="jobs"
        ),
        pytest.param("dmpipe plan shop.yaml -s +r", ["+report"], id="upstream-selector"),
        pytest.param("dmpipe graph shop.yaml --exclude rep", ["report"], id="exclude"),
        pytest.param("dmpipe run --resume la", ["latest"], id="resume-name"),
        pytest.param(
            "dmpipe report show dmpipe-runs/s",
            ["dmpipe-runs/shop-20261130T010203.000-0001/"],
            id="report-dir",
        ),
        pytest.param("dmpipe completion f", ["fish"], id="shell"),
    ],
)
def test_bash_completes(line: str, expected: list[str], workdir: Path) -> None:
    assert complete(line, workdir) == expected


@pytest.mark.slow
def test_fish_completes_job_names(workdir: Path) -> None:
    if shutil.which("fish") is None or shutil.which("dmpipe") is None:
        pytest.skip("needs fish and the dmpipe executable")
    script = 'dmpipe completion fish | source; complete -C "dmpipe run shop.yaml --select load_"'
    result = subprocess.run(
        ["fish", "-c", script], cwd=workdir, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["load_customers", "load_orders"]


def test_completion_prints_a_script_for_each_shell(capsys: pytest.CaptureFixture[str]) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert main(["completion", shell]) == 0
        assert "dmpipe" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shell", "check"),
    [
        pytest.param("bash", ["bash", "-n"], id="bash"),
        pytest.param("zsh", ["zsh", "-n"], id="zsh"),
        pytest.param("fish", ["fish", "--no-execute"], id="fish"),
    ],
)
def test_the_script_parses_in_its_shell(
    shell: str, check: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which(check[0]) is None:
        pytest.skip(f"{check[0]} is not installed")
    assert main(["completion", shell]) == 0
    script = tmp_path / f"dmpipe.{shell}"
    script.write_text(capsys.readouterr().out, encoding="utf-8")
    subprocess.run([*check, str(script)], check=True, timeout=60)


def test_job_names_of_an_unreadable_file_are_none(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("jobs: [unclosed", encoding="utf-8")
    for file in (broken, tmp_path / "missing.yaml"):
        assert job_names("", argparse.Namespace(file=file)) == []
    assert job_names("", argparse.Namespace(file=None)) == []


def test_resume_dirs_offer_run_names_then_folders(workdir: Path) -> None:
    assert resume_dirs("") == [
        "latest",
        "shop-20261130T010203.000-0001",
        "dmpipe-runs/",
    ]
    assert folders("dmpipe-runs/l") == ["dmpipe-runs/latest/"]
