"""``runner.commands.output``: writes to a pipe whose reader is gone are dropped, not raised."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from typing import TextIO, cast

import pytest

from runner.commands.output import PipeSafeStream, pipe_safe_output


@pytest.fixture
def orphaned_pipe() -> Iterator[TextIO]:
    """The writing end of a pipe whose reading end is already closed."""
    reader, writer = os.pipe()
    os.close(reader)
    stream = os.fdopen(writer, "w", buffering=1)
    yield stream
    stream.close()


def test_a_write_to_a_gone_reader_is_dropped(orphaned_pipe: TextIO) -> None:
    with pytest.raises(BrokenPipeError):
        orphaned_pipe.write("raw stream\n")
    safe = PipeSafeStream(orphaned_pipe)
    assert safe.write("line\n") == 5
    assert safe.reader_gone
    safe.write("more\n")
    safe.flush()
    orphaned_pipe.flush()  # the descriptor now leads to /dev/null: nothing left to fail


def test_other_errors_still_raise() -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    safe = PipeSafeStream(cast(TextIO, Full()))
    with pytest.raises(OSError, match="No space"):
        safe.write("x")
    assert not safe.reader_gone


def test_pipe_safe_output_wraps_and_restores_the_standard_streams() -> None:
    before = sys.stdout, sys.stderr
    with pipe_safe_output():
        assert isinstance(sys.stdout, PipeSafeStream)
        assert isinstance(sys.stderr, PipeSafeStream)
        print("through the wrapper")
    assert (sys.stdout, sys.stderr) == before
