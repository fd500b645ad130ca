"""The bytecode a benchmark's child processes run: their own cache, as an installed dmpipe
has its ``.pyc`` files (pip compiles them at install), or the environment as it is (here
``PYTHONDONTWRITEBYTECODE=1``: a source checkout compiles its changed modules at every
launch, 0.1-0.25 s)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def add_bytecode_option(parser: argparse.ArgumentParser, cached: str) -> None:
    """``--bytecode cached|environment``, cached by default; ``cached`` says how the cache
    is filled."""
    parser.add_argument(
        "--bytecode",
        choices=("cached", "environment"),
        default="cached",
        help=f"cached: {cached}; environment: as the environment has it "
        "(PYTHONDONTWRITEBYTECODE: compile each time)",
    )


def use_cache(env: dict[str, str], cache: Path) -> dict[str, str]:
    """``env`` with a bytecode cache of its own in ``cache``, written whatever the
    environment said (the caller fills it before measuring)."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def compile_in_place(package: Path, env: Mapping[str, str]) -> None:
    """Compile every module of ``package`` into its own ``__pycache__`` (what pip does at
    install), whatever the environment says about writing bytecode.  Unlike a cache of its
    own (``use_cache``), this leaves the interpreter reading the ``.pyc`` files the standard
    library and the venv's packages were installed with: a cache prefix hides those, and a
    run would compile urllib3, http.client and the email parser at every launch."""
    command = [sys.executable, "-m", "compileall", "-q", str(package)]
    subprocess.run(command, env=dict(env), check=True, stdout=subprocess.DEVNULL)
