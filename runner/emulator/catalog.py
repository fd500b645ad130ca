"""Finding artifacts: by file id, uuid, path (as a URL carries it), configuration or data id,
and deciding whether a user may see them.

A reference in ``/api/job-execution/<ref>/...`` arrives in any of the ways
clients write it: ``Analytics/Sales+categorization`` (the reference's ``+``),
``Sales%20categorization``, one ``%2F``-encoded segment, literal slashes, with or
without the leading slash; a literal ``+`` in a name arrives as ``%2B``.  With
``paths: strict`` only one form is accepted (``strict_form``), written here on its own
so that a change to how the client encodes paths is caught, not mirrored.
"""

from __future__ import annotations

import re
from dataclasses import replace
from fnmatch import fnmatchcase
from urllib.parse import quote, unquote

from runner.emulator.scenario import Artifact, Scenario, User

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def decode_ref(raw: str) -> tuple[str, str | int]:
    """``("file_id", 48)``, ``("uuid", "f8d4...")`` or ``("path", "/Analytics/Sales x")``."""
    # "+" means a space; a real "+" was sent as %2B, so replace before unquoting.
    text = unquote(raw.replace("+", " "))
    if text.isdigit():
        return "file_id", int(text)
    if _UUID.match(text):
        return "uuid", text.lower()
    return "path", "/" + text.lstrip("/")


class Catalog:
    """Indexes over the scenario's artifacts and users; only passwords ever change."""

    def __init__(self, scenario: Scenario) -> None:
        artifacts = scenario.artifacts
        self._by_file = {a.file_id: a for a in artifacts}
        self._by_uuid = {a.uuid: a for a in artifacts}
        self._by_path = {a.path: a for a in artifacts}
        self._by_configuration = {a.configuration_id: a for a in artifacts}
        self._by_data = {a.data_id: a for a in artifacts if a.data_id is not None}
        self._users = {u.name: u for u in scenario.users}

    def user(self, name: str) -> User | None:
        """The user called ``name``, if any."""
        return self._users.get(name)

    def set_password(self, name: str, password: str) -> None:
        """Give user ``name`` a new password (KeyError for an unknown user)."""
        self._users[name] = replace(self._users[name], password=password)

    def by_ref(self, raw: str, strict: str | None = None) -> Artifact | None:
        """The artifact a URL reference names, if any; with ``strict`` (an encoding) a
        path counts only when written exactly in that encoding's form."""
        kind, value = decode_ref(raw)
        if strict is not None and kind == "path":
            found = self._by_path.get(str(value))
            return found if found is not None and raw == strict_form(found.path, strict) else None
        if kind == "file_id":
            return self._by_file.get(int(value))
        if kind == "uuid":
            return self._by_uuid.get(str(value))
        return self._by_path.get(str(value))

    def by_file_id(self, file_id: int) -> Artifact | None:
        """The artifact with this file id."""
        return self._by_file.get(file_id)

    def by_configuration(self, configuration_id: int) -> Artifact | None:
        """The artifact whose job configuration has this id."""
        return self._by_configuration.get(configuration_id)

    def by_data(self, data_id: int) -> Artifact | None:
        """The artifact whose output data has this id."""
        return self._by_data.get(data_id)


def strict_form(path: str, encoding: str) -> str:
    """The one way a strict server accepts ``path`` in a URL.

    ``segment``: the whole path, leading slash included, percent-encoded as one segment.
    ``plus``: without the leading slash, slashes literal, spaces as ``+``, everything else
    percent-encoded (a ``+`` as ``%2B``); when what remains would read as a file id or a
    uuid, the leading slash stays, as ``%2F``.
    """
    if encoding == "segment":
        return quote(path, safe="")
    bare = path[1:]
    written = quote(bare, safe="/ ").replace(" ", "+")
    if bare.isdigit() or _UUID.match(bare):
        return "%2F" + written
    return written


def may_use(user: User, artifact: Artifact) -> bool:
    """Whether ``user`` may see and run ``artifact`` (``can``: ids, uuids, path globs)."""
    if user.can is None:
        return True
    return any(_grants(grant, artifact) for grant in user.can)


def _grants(grant: int | str, artifact: Artifact) -> bool:
    if isinstance(grant, int):
        return grant == artifact.file_id
    if grant.isdigit():
        return int(grant) == artifact.file_id
    if _UUID.match(grant):
        return grant.lower() == artifact.uuid
    return fnmatchcase(artifact.path, grant)
