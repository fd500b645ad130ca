"""The bytecode a benchmark's child processes run: their own cache, as an installed dmpipe
has its ``.pyc`` files (pip compiles them at install), or the environment as it is (here
``PYTHONDONTWRITEBYTECODE=1``: a source checkout compiles its changed modules at every
launch, 0.1-0.25 s)."""

from __future__ import annotations

import argparse
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
