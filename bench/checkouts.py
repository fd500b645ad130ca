"""Another dmpipe checkout for a benchmark to measure beside this one: a folder with
``runner/``, or a revision of this repository checked out for the while."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emulator_process import ROOT


@contextlib.contextmanager
def checkout(against: str) -> Iterator[Path | None]:
    """The dmpipe checkout ``against`` names: a folder with ``runner/``, or a revision of
    this repository checked out (detached) in a temporary git worktree, removed afterwards;
    None for neither."""
    folder = Path(against)
    if (folder / "runner" / "__init__.py").is_file():
        yield folder.resolve()
        return
    git = ["git", "-C", str(ROOT)]
    known = subprocess.run(
        [*git, "rev-parse", "--verify", "--quiet", f"{against}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if known.returncode != 0:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="dmpipe-against-") as parent:
        tree = Path(parent) / "checkout"
        add = [*git, "worktree", "add", "--quiet", "--detach", str(tree), known.stdout.strip()]
        subprocess.run(add, check=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
