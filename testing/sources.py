"""The package's own source code, parsed once per test process for the tests that read it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


def syntax_tree(path: Path) -> ast.Module:
    """The syntax tree of the Python file ``path``: shared, so never to be changed."""
    return _parsed(path.resolve())


@functools.cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))
