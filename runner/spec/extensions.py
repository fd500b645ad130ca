"""Datameer artifact extensions: a real path ends in one (``/Data/ImportJobs/URLS.imp``).

Datameer's file browser names every artifact with its kind's extension; a path without one
is probably a display name, which the server would not find.  ``validate`` warns (the
server decides), naming the extension the folder or name suggests.
"""

from __future__ import annotations

import re

# Extension → the kind of artifact, for the job-bearing kinds Datameer documents.
KNOWN = {
    ".imp": "import job",
    ".wbk": "workbook",
    ".exp": "export job",
    ".upl": "file upload",
    ".lnk": "data link",
}
# Words in a folder or name that point at a kind; a workbook when nothing does.
_HINTS = (
    (re.compile(r"import", re.IGNORECASE), ".imp"),
    (re.compile(r"export", re.IGNORECASE), ".exp"),
    (re.compile(r"upload", re.IGNORECASE), ".upl"),
    (re.compile(r"link", re.IGNORECASE), ".lnk"),
)


def has_known_extension(path: str) -> bool:
    """True when ``path`` ends in one of the artifact extensions (any case)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return any(name.lower().endswith(extension) for extension in KNOWN)


def likely_extension(path: str) -> str:
    """The extension ``path`` most probably lacks, from the words of its folders and name."""
    for words, extension in _HINTS:
        if words.search(path):
            return extension
    return ".wbk"


def missing_extension_message(key: str, path: str) -> str | None:
    """A warning for a path without an artifact extension, None when it has one."""
    if has_known_extension(path):
        return None
    extension = likely_extension(path)
    known = ", ".join(KNOWN)
    return (
        f"{key} {path!r} has no Datameer extension ({known}); a real artifact's path ends "
        f"in one: probably '{path.rstrip('/')}{extension}' ({KNOWN[extension]})"
    )
