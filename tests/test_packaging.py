"""What the distribution carries: the license it names, the schemas as real files, and an
sdist from which the tests run."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_license_file_is_the_license_pyproject_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text


@pytest.mark.slow
def test_the_sdist_runs_its_own_tests(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (archive,) = tmp_path.glob("dmpipe-*.tar.gz")
    with tarfile.open(archive) as sdist:
        sdist.extractall(tmp_path, filter="data")
    unpacked = tmp_path / archive.name.removesuffix(".tar.gz")
    for needed in ("LICENSE", "tests/conftest.py", "testing/scenarios.py", "examples"):
        assert (unpacked / needed).exists(), needed

    # The unpacked tree's own runner package, tests and helpers (pytest's pythonpath is ".").
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_layers.py",
            "tests/spec/test_loader.py",
            "tests/test_examples.py",
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_shipped_schemas_are_real_files_equal_to_the_repository_ones() -> None:
    shipped = ROOT / "runner" / "schemas"
    assert shipped.is_dir()
    assert not shipped.is_symlink()  # a symlink breaks Windows checkouts and some builds
    repository = {p.name: p.read_bytes() for p in (ROOT / "schemas").glob("*.json")}
    copies = {p.name: p.read_bytes() for p in shipped.glob("*.json")}
    assert set(copies) == set(repository), "copy schemas/*.json to runner/schemas/"
    for name, text in repository.items():
        assert copies[name] == text, f"runner/schemas/{name} differs from schemas/{name}"
