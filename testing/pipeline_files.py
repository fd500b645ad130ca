"""Pipeline files written by tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def write_pipeline(
    path: Path,
    jobs: Iterable[tuple[str, int, tuple[str, ...], int]],
    *,
    policies: str = "{poll_interval: 0.02s, max_poll_interval: 0.1s, on_failure: continue}",
    extra: str = "",
) -> Path:
    """A pipeline file of ``(name, file_id, needs, retries)`` jobs, with fast retries."""
    lines = [
        "version: 1",
        f"name: {path.stem}",
        "mode: client",
        f"policies: {policies}",
        "defaults: {retry: {retries: 0, delay: 0.05s, backoff: 1, jitter: false}}",
        "jobs:",
    ]
    for name, file_id, needs, retries in jobs:
        after = f", needs: [{', '.join(needs)}]" if needs else ""
        retry = f", retry: {{retries: {retries}}}" if retries else ""
        lines.append(f"  {name}: {{file_id: {file_id}{after}{retry}}}")
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path
