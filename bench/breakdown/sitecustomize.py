"""CPU by part of a ``dmpipe run``, for ``bench_scale.py --breakdown``: loaded by the runner's
interpreter (this folder is put on its PYTHONPATH), it wraps a few of the runner's functions
and sums the CPU time of the calling thread (``time.thread_time``) spent inside each, so
the figures are CPU, not waiting, and carry no profiler's overhead (a few µs a call).
Parts nest: the run loop includes the events its thread emits.  At exit it writes them as
JSON to the file ``DMPIPE_BREAKDOWN_OUT`` names.  Any other Python process ignores it.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.machinery
import json
import os
import re
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# (module, class or "", function, the part's name)
PARTS = [
    ("runner.launch", "", "_load", "loading and validating the file"),
    ("runner.engine.scheduler", "Scheduler", "execute", "the run loop (main thread)"),
    ("runner.engine.observer", "Observer", "_apply", "  applying poll answers"),
    ("runner.engine.scheduler", "Scheduler", "_plan_looks", "  planning the next looks"),
    ("runner.engine.client_start", "ClientStart", "harvest", "  harvesting starts"),
    ("runner.engine.scheduler", "Scheduler", "_start_ready", "  starting ready jobs"),
    ("runner.engine.context", "RunContext", "emit", "events, every thread"),
    ("runner.engine.journal", "Journal", "__call__", "  the journal"),
    ("runner.datameer.client", "DatameerClient", "_request", "REST calls, every thread"),
    ("runner.report.writer", "", "write_report", "report.json"),
    ("runner.report.publish", "", "publish_reports", "HTML, Markdown, JUnit reports"),
]
_totals: dict[str, list[float]] = {}
# CPU seconds by kind of thread (its name without the pool's number), ended threads only.
_threads: dict[str, float] = {}
_threads_lock = threading.Lock()


def _kind(name: str) -> str:
    return re.sub(r"_\d+$", "", name)


def _thread_run(run: Callable[..., Any]) -> Callable[..., Any]:
    """``Thread.run`` that adds the thread's CPU time to its kind when it ends."""

    def counted(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            with _threads_lock:
                kind = _kind(self.name)
                _threads[kind] = _threads.get(kind, 0.0) + time.thread_time()

    return counted


def _live_threads() -> dict[str, float]:
    """CPU seconds of the threads still alive (the main thread, daemons), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    alive: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread is threading.current_thread():
            seconds = time.thread_time()
        else:
            try:
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        kind = _kind(thread.name)
        alive[kind] = alive.get(kind, 0.0) + seconds
    return alive


def _timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            total = _totals.setdefault(part, [0.0, 0])
            total[0] += time.thread_time() - started
            total[1] += 1

    return timed


def _wrap(module: Any) -> None:
    """Wrap the parts that ``module`` defines."""
    for module_name, class_name, function_name, part in PARTS:
        if module_name == module.__name__:
            owner = getattr(module, class_name) if class_name else module
            setattr(owner, function_name, _timed(part, getattr(owner, function_name)))


def _write() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "process_cpu_seconds": usage.ru_utime + usage.ru_stime,
        "voluntary_context_switches": usage.ru_nvcsw,
        "involuntary_context_switches": usage.ru_nivcsw,
        "parts": [
            {"part": part, "cpu_seconds": seconds, "calls": int(calls)}
            for _, _, _, part in PARTS
            for seconds, calls in [_totals.get(part, [0.0, 0])]
        ],
        "threads": _by_thread(),
    }
    Path(os.environ["DMPIPE_BREAKDOWN_OUT"]).write_text(json.dumps(figures), encoding="utf-8")


def _by_thread() -> dict[str, float]:
    with _threads_lock:
        threads = dict(_threads)
    for kind, seconds in _live_threads().items():
        threads[kind] = threads.get(kind, 0.0) + seconds
    return dict(sorted(threads.items(), key=lambda item: -item[1]))


class _WhenImported:
    """Wraps each part's module as it is imported (its loader runs it, then ``_wrap``)."""

    modules = frozenset(module for module, _, _, _ in PARTS)

    def find_spec(self, name: str, path: Any, target: object = None) -> Any:
        if name not in self.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def run_and_wrap(module: Any) -> None:
            run(module)
            _wrap(module)

        spec.loader.exec_module = run_and_wrap  # type: ignore[method-assign]
        return spec


if os.environ.get("DMPIPE_BREAKDOWN_OUT") and "run" in sys.argv:
    sys.meta_path.insert(0, _WhenImported())
    threading.Thread.run = _thread_run(threading.Thread.run)  # type: ignore[method-assign]
    atexit.register(_write)
