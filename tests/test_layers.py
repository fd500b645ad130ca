"""The package's layers (docs/architecture.md): each imports only the layers below it, and no
two modules share a file name."""

from __future__ import annotations

import ast
import functools
from collections import Counter
from pathlib import Path

import pytest

from testing.sources import syntax_tree

PACKAGE = Path(__file__).resolve().parent.parent / "runner"

BASE = {
    "runner.errors",
    "runner.model",
    "runner.reference",
    "runner.clock",
    "runner.github",
    "runner.lazy",
}

# Each layer and what it may import besides itself and the base layer.
MAY_IMPORT: dict[str, set[str]] = {
    "runner.datameer": set(),
    "runner.spec": set(),
    "runner.graph": set(),
    "runner.plan": {"runner.datameer", "runner.spec", "runner.graph"},
    # The engine writes report.json through the report layer's writer, and nothing else of it;
    # it words measured durations as everything else does (spec.durations.format_elapsed).
    "runner.engine": {"runner.datameer", "runner.report.writer", "runner.spec.durations"},
    # "runner": the package itself, for __version__.
    "runner.report": {
        "runner.engine",
        "runner.datameer",
        "runner.graph",
        "runner.spec",
        "runner.rundir",
        "runner",
    },
    "runner.emulator": {"runner.datameer", "runner.spec", "runner.graph"},
    # A run directory knows a journal's run_started record by its event kind.
    "runner.rundir": {"runner.engine.events"},
    "runner.profiles": {"runner.spec"},
    # The Airflow provider (the optional `airflow` extra) sits on top of the library.
    "runner.airflow": {
        "runner",
        "runner.launch",
        "runner.datameer",
        "runner.engine",
        "runner.spec",
        "runner.plan",
        "runner.report",
    },
}


def _layer(module: str) -> str:
    """``runner.engine.scheduler`` → ``runner.engine``; a top-level module is its own layer."""
    return ".".join(module.split(".")[:2])


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _import_nodes(path: Path) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of ``path``, at any depth (found once for all the tests here)."""
    tree = syntax_tree(path)
    return tuple(node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom))


def _imports(path: Path) -> set[str]:
    """The runner modules ``path`` imports (``from runner.x import y`` counts as runner.x.y
    when y is a module, else as runner.x)."""
    found: set[str] = set()
    for node in _import_nodes(path):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("runner"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runner"):
            module = str(node.module)
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py")
                found.add(candidate if is_module.exists() else module)
    return found


def _allowed(importer: str, imported: str) -> bool:
    layer = _layer(importer)
    if imported in BASE or _layer(imported) == layer:
        return True
    return any(
        imported == allowed or (allowed != "runner" and imported.startswith(allowed + "."))
        for allowed in MAY_IMPORT.get(layer, set())
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


LAYERED = [p for p in MODULES if _layer(_module_name(p)) in MAY_IMPORT or _module_name(p) in BASE]


@pytest.mark.parametrize("path", LAYERED, ids=[_module_name(p) for p in LAYERED])
def test_a_layer_imports_only_the_layers_below_it(path: Path) -> None:
    importer = _module_name(path)
    if importer in BASE:
        wrong = {m for m in _imports(path) if m not in BASE}
    else:
        wrong = {m for m in _imports(path) if not _allowed(importer, m)}
    assert not wrong, f"{importer} imports {sorted(wrong)}"


def test_no_two_modules_share_a_file_name() -> None:
    names = Counter(p.name for p in MODULES if p.name != "__init__.py")
    assert [name for name, count in names.items() if count > 1] == []


def _imports_airflow(path: Path) -> set[str]:
    """The Airflow modules and the provider modules ``path`` imports."""
    found: set[str] = set()
    for node in _import_nodes(path):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
        found.update(
            name
            for name in names
            if name.split(".")[0] == "airflow" or name.startswith("runner.airflow")
        )
    return found


CORE = [p for p in MODULES if not _module_name(p).startswith("runner.airflow")]


@pytest.mark.parametrize("path", CORE, ids=[_module_name(p) for p in CORE])
def test_the_core_never_imports_airflow(path: Path) -> None:
    assert _imports_airflow(path) == set(), f"{_module_name(path)} imports Airflow"
