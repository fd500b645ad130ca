"""Job references: how a user names an artifact (file id, uuid or path).

An int (or all-digit text) is a file id, a UUID is a uuid, anything else is a
path.  In a URL a path has its spaces replaced by ``+`` as the Datameer
reference asks, and everything else percent-encoded (slashes kept).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import quote

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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
            return cls(RefKind.FILE_ID, str(text))
        value = str(text).strip()
        if not value:
            raise ValueError("an empty job reference names nothing")
        if value.isdigit():
            return cls(RefKind.FILE_ID, str(int(value)))
        if _UUID.match(value):
            return cls(RefKind.UUID, value.lower())
        if not value.strip("/"):
            raise ValueError(f"the path {value!r} names no artifact")
        return cls(RefKind.PATH, value)

    def url_segment(self) -> str:
        """The reference as it appears in ``/api/job-execution/<ref>/...``."""
        if self.kind is not RefKind.PATH:
            return self.value
        # The leading slash of "/Folder/Workbook" would make an empty URL segment.
        path = self.value.lstrip("/")
        return "+".join(quote(part, safe="/") for part in path.split(" "))

    def __str__(self) -> str:
        return self.value
