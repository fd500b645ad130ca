"""Read a pipeline file as text: bounded in size, UTF-8 only (a BOM is fine)."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from runner.errors import FileProblem, PipelineFileError

MAX_BYTES = 5 * 1024 * 1024

# Other encodings announce themselves with a BOM; name them instead of
# reporting a confusing invalid byte.
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of the file at ``path``; PipelineFileError if unreadable, too big or not UTF-8."""
    filename = os.fspath(path)
    try:
        with Path(path).open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_BYTES:
                raise _error(filename, 1, 1, too_big_message(size))
            data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise _error(filename, 1, 1, f"cannot read the file: {error.strerror}") from error
    if len(data) > MAX_BYTES:  # a pipe or a file that grew while we read it
        raise _error(filename, 1, 1, too_big_message(len(data)))
    return decode(data, filename)


def too_big_message(size: int) -> str:
    """The message for a file of ``size`` bytes over the limit."""
    return (
        f"the file is {size / 1024 / 1024:.1f} MB; a pipeline file may be at most "
        f"{MAX_BYTES // 1024 // 1024} MB"
    )


def decode(data: bytes, filename: str) -> str:
    """``data`` as text (UTF-8, optional BOM); an invalid byte is reported at its line:col."""
    for bom, name in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise _error(filename, 1, 1, f"the file is {name}; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _invalid_byte(data, error, filename) from error


def _invalid_byte(data: bytes, error: UnicodeDecodeError, filename: str) -> PipelineFileError:
    before = data[: error.start]
    line_start = before.rfind(b"\n") + 1
    line = before.count(b"\n") + 1
    col = len(before[line_start:].decode("utf-8-sig", errors="replace")) + 1
    byte = data[error.start]
    return _error(
        filename, line, col, f"the file is not UTF-8 (byte 0x{byte:02x}); save it as UTF-8"
    )


def _error(filename: str, line: int, col: int, message: str) -> PipelineFileError:
    return PipelineFileError([FileProblem(filename, line, col, message)])
