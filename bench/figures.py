"""Summarising and printing benchmark figures: percentiles, aligned tables, the JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0..1) quantile, interpolated between the closest ranks; 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: Sequence[float]) -> dict[str, float]:
    """p50, p90 and max of ``values`` (and how many there were)."""
    return {
        "count": len(values),
        "p50": percentile(values, 0.5),
        "p90": percentile(values, 0.9),
        "max": max(values, default=0.0),
    }


LIST_RUNNING = "GET /rest/jobs/list-running"


def besides_ticks(requests: int, by_endpoint: Mapping[str, int], jobs: int) -> float:
    """Requests per job besides the ticks' list-running (issue 14's goal 2: at most 2)."""
    return (requests - by_endpoint.get(LIST_RUNNING, 0)) / max(1, jobs)


def print_table(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """``rows`` under ``header``, columns aligned (text left, numbers right), after ``title``."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    for line in [list(header), *cells]:
        first, *rest = zip(line, widths, strict=True)
        print("  ".join([first[0].ljust(first[1]), *(text.rjust(width) for text, width in rest)]))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def machine() -> dict[str, Any]:
    """Where the figures come from: CPUs, memory, Python."""
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(_memory_bytes() / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def write_json(path: Path, figures: dict[str, Any]) -> None:
    """Write ``figures`` (with a ``version`` key and the machine) atomically to ``path``."""
    document = {"version": 1, "machine": machine(), **figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(json.dumps(document, indent=2) + "\n")
    Path(temporary).replace(path)


def measure_and_show(
    benchmark: str,
    args: Any,
    measure: Callable[[Any, Path], dict[str, Any]],
    show: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """``measure(args, folder)`` in a temporary folder, its figures shown, and written as
    JSON where ``args.json_out`` says; returns them."""
    with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
        result = measure(args, Path(folder))
    show(result)
    if args.json_out:
        write_json(args.json_out, {"benchmark": benchmark, **result})
    return result
