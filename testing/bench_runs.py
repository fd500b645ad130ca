"""Running a script of bench/ at a small size, as its smoke test does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from testing.scenarios import ROOT


def run_bench(tmp_path: Path, script: str, *args: str, timeout: float = 100) -> tuple[Any, str]:
    """Run ``bench/SCRIPT ARGS --json-out FILE`` (temporary files below ``tmp_path``); assert
    it exited 0 and return the figures it wrote and what it printed."""
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json-out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text(encoding="utf-8")), result.stdout


def run_bench_refused(script: str, *args: str) -> str:
    """Run ``bench/SCRIPT ARGS``, assert it refused them (exit 2, as argparse does) and
    return what it said on stderr."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stderr
