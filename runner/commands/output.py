"""Output whose reader may go away: ``dmpipe run ... | head -2``, a closed terminal.

A run must not stop, nor lose its report, because nobody reads its progress any
more.  ``pipe_safe_output()`` puts ``sys.stdout`` and ``sys.stderr`` behind
``PipeSafeStream``: once a write fails because the reader is gone (EPIPE, or EIO
from a hung-up terminal), the stream goes quiet for good — its descriptor now
points at ``/dev/null``, so not even Python's flush at exit complains — and every
later write (log records, the live table, the closing line) is dropped silently.
SIGPIPE stays ignored, so such a write raises instead of killing the process.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO, cast

# errno values that mean "nobody reads this stream any more".
_READER_GONE = frozenset({errno.EPIPE, errno.EIO, errno.ECONNRESET})


class PipeSafeStream:
    """A text stream that drops its output once its reader has gone."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except OSError as error:
                self._unless_reader_gone(error)
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except OSError as error:
                self._unless_reader_gone(error)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _unless_reader_gone(self, error: OSError) -> None:
        if error.errno not in _READER_GONE:
            raise error
        self.reader_gone = True
        _point_at_devnull(self._stream)


def _point_at_devnull(stream: TextIO) -> None:
    """Send whatever is still buffered, and anything written later, to /dev/null."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, descriptor)
        finally:
            os.close(devnull)


@contextlib.contextmanager
def pipe_safe_output() -> Iterator[None]:
    """Within the block, ``sys.stdout``/``sys.stderr`` survive a reader that went away."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    saved = sys.stdout, sys.stderr
    if sys.stdout is not None:
        sys.stdout = cast(TextIO, PipeSafeStream(sys.stdout))
    if sys.stderr is not None:
        sys.stderr = cast(TextIO, PipeSafeStream(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
