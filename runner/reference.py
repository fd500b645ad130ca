"""Job references: how a user names an artifact (file id, uuid or path).

An int (or all-digit text) is a file id, a UUID is a uuid, anything else is a
path.  A path goes into a URL in one of two encodings (``PathEncoding``): ``plus``, the
reference's (spaces as ``+``, slashes kept, the rest percent-encoded, no leading slash),
or ``segment``, Datameer's own Ruby client's (the whole path, leading slash included,
as one percent-encoded segment).  Either way a path never reaches the server in a form
it could read as a file id or a uuid.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import quote

# The largest file id Datameer stores (a Java long).
MAX_FILE_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class PathEncoding(enum.StrEnum):
    """How a path is written in ``/api/job-execution/<path>/...``."""

    PLUS = "plus"  # Folder/Sales+report.wbk (the reference: "replace those spaces with +")
    SEGMENT = "segment"  # %2FFolder%2FSales%20report.wbk (one segment, as Datameer's client)


class RefKind(enum.Enum):
    """Which of the three ways of naming an artifact a reference uses."""

    FILE_ID = "file_id"
    UUID = "uuid"
    PATH = "path"


@dataclass(frozen=True)
class JobRef:
    """A reference to one Datameer artifact (import job, workbook, export job ...)."""

    kind: RefKind
    value: str

    @classmethod
    def parse(cls, text: str | int) -> JobRef:
        """Classify ``text``: digits → file id, UUID → uuid, anything else → path."""
        if isinstance(text, int) and not isinstance(text, bool):
            if text < 0:
                raise ValueError(f"a file id cannot be negative: {text}")
            if text > MAX_FILE_ID:
                raise ValueError("a file id has at most 19 digits")
            return cls(RefKind.FILE_ID, str(text))
        value = str(text).strip()
        if not value:
            raise ValueError("an empty job reference names nothing")
        if value.isascii() and value.isdigit():
            if len(value.lstrip("0")) > 19 or int(value) > MAX_FILE_ID:
                raise ValueError(f"a file id has at most 19 digits, got {len(value)}")
            return cls(RefKind.FILE_ID, str(int(value)))
        if _UUID.match(value):
            return cls(RefKind.UUID, value.lower())
        if not value.strip("/"):
            raise ValueError(f"the path {value!r} names no artifact")
        check_path(value)
        return cls(RefKind.PATH, value)

    def url_segment(self, encoding: PathEncoding = PathEncoding.PLUS) -> str:
        """The reference as it appears in ``/api/job-execution/<ref>/...``; ValueError for a
        path that an HTTP stack would rewrite (``.``/``..`` segments, control characters)."""
        if self.kind is not RefKind.PATH:
            return self.value
        check_path(self.value)
        return encode_path(self.value, encoding)

    def describe(self) -> str:
        """How messages, plans and diagrams name the artifact: ``file 48``, ``uuid f8d4…``,
        or its path."""
        if self.kind is RefKind.FILE_ID:
            return f"file {self.value}"
        if self.kind is RefKind.UUID:
            return f"uuid {self.value}"
        return self.value

    def __str__(self) -> str:
        return self.value


def encode_path(path: str, encoding: PathEncoding) -> str:
    """``path`` written for a URL in ``encoding``; never a form a server reads as an id."""
    if encoding is PathEncoding.SEGMENT:
        return quote("/" + path.lstrip("/"), safe="")
    # The leading slash of "/Folder/Workbook" would make an empty URL segment.
    bare = path.lstrip("/")
    encoded = "+".join(quote(part, safe="/") for part in bare.split(" "))
    if looks_like_id(bare):
        # "/123" sent as "123" is file 123: keep the slash, encoded, so it stays a path.
        return "%2F" + encoded
    return encoded


def looks_like_id(text: str) -> bool:
    """True for text a server takes for a file id (digits) or a uuid."""
    return (text.isascii() and text.isdigit()) or bool(_UUID.match(text))


def check_path(path: str) -> None:
    """ValueError unless ``path`` reaches the server as written: a ``.`` or ``..`` segment
    is collapsed by HTTP stacks and proxies (``/W/../../etc`` becomes ``/api/etc``), and a
    control character (CR, LF ...) has no place in an artifact's name."""
    if _CONTROL.search(path):
        raise ValueError(f"the path {path!r} holds a control character")
    if any(part in (".", "..") for part in path.split("/")):
        raise ValueError(f"the path {path!r} has a . or .. segment: write the path without it")
