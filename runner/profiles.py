"""Server profiles: named connection settings kept out of pipeline files (like dbt's
``profiles.yml`` or kubectl contexts).

``~/.config/dmpipe/profiles.yaml`` (``$XDG_CONFIG_HOME/dmpipe/``; ``DMPIPE_PROFILES`` names
another file)::

    profiles:
      dev:
        url: https://datameer-dev.example.com:8443
        user: etl
        password_env: DATAMEER_DEV_PASSWORD   # or password_file: ~/.secrets/datameer-dev
      prod:
        url: https://datameer.example.com:8443
        user: etl
        ca_bundle: company-ca.pem             # relative to this file
        version: "7.4"                        # optional: instead of asking the server

A profile never holds a password itself: ``password_env`` names a variable,
``password_file`` a file, and without either ``DATAMEER_PASSWORD`` and ``~/.netrc`` apply
as usual. ``--profile NAME`` or ``DMPIPE_PROFILE`` choose one for a command; a pipeline's
``server: {profile: NAME}`` names its default one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import FileProblem, PipelineFileError, UsageError
from runner.model import ServerSettings

if TYPE_CHECKING:
    from runner.spec.document import Document

PROFILE_KEYS = (
    "url",
    "user",
    "password_env",
    "password_file",
    "ca_bundle",
    "verify_tls",
    "version",
    "path_encoding",
)


def profiles_file(env: Mapping[str, str]) -> Path | None:
    """Where the profiles are: ``DMPIPE_PROFILES``, else the XDG config folder; None when
    neither it nor a home folder is known."""
    if env.get("DMPIPE_PROFILES"):
        return Path(env["DMPIPE_PROFILES"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or (f"{env['HOME']}/.config" if env.get("HOME") else None)
    return Path(base) / "dmpipe" / "profiles.yaml" if base else None


@dataclass(frozen=True)
class Choice:
    """The profile a command uses, and who chose it."""

    name: str
    by: str  # "--profile", "DMPIPE_PROFILE" or "the pipeline file"


def chosen_profile(
    file_server: ServerSettings, flags: ServerSettings, env: Mapping[str, str]
) -> Choice | None:
    """``--profile``, else ``DMPIPE_PROFILE``, else the pipeline's ``server.profile``."""
    if flags.profile:
        return Choice(flags.profile, "--profile")
    if env.get("DMPIPE_PROFILE"):
        return Choice(env["DMPIPE_PROFILE"], "DMPIPE_PROFILE")
    if file_server.profile:
        return Choice(file_server.profile, "the pipeline file")
    return None


def server_settings(
    file_server: ServerSettings,
    flags: ServerSettings,
    env: Mapping[str, str],
    *,
    with_password: bool = True,
) -> ServerSettings:
    """The settings a command connects with, before ``DATAMEER_*`` and netrc fill the gaps.

    Flags win over everything. A profile chosen for this command (``--profile``,
    ``DMPIPE_PROFILE``) replaces the pipeline's ``server:`` block; a profile the pipeline
    names is the base that block's own keys override.
    """
    choice = chosen_profile(file_server, flags, env)
    if choice is None:
        return file_server.overridden_by(flags)
    profile = load_profile(choice.name, env, with_password=with_password)
    if choice.by == "the pipeline file":
        profile = profile.overridden_by(file_server)  # the block's own keys win
    return replace(profile.overridden_by(flags), profile=choice.name)


def load_profile(
    name: str, env: Mapping[str, str], *, with_password: bool = True
) -> ServerSettings:
    """Profile ``name`` as server settings; PipelineFileError (file:line:col) for a broken
    profiles file, UsageError for a missing file or profile."""
    path = profiles_file(env)
    if path is None or not path.is_file():
        where = path or "~/.config/dmpipe/profiles.yaml"
        raise UsageError(
            f"profile {name!r}: there is no profiles file at {where}; create it, or name "
            "another with DMPIPE_PROFILES"
        )
    profiles = _read(path, name)
    if name not in profiles:
        from runner.spec.naming import did_you_mean

        known = ", ".join(sorted(profiles)) or "none"
        raise UsageError(
            f"no profile {name!r} in {path}{did_you_mean(name, profiles)} (known: {known})"
        )
    entry = profiles[name]
    password = _password(name, entry, path, env) if with_password else None
    ca_bundle = entry.get("ca_bundle")
    return ServerSettings(
        url=entry.get("url") or None,
        user=entry.get("user") or None,
        password=password,
        ca_bundle=str(path.parent / Path(ca_bundle).expanduser()) if ca_bundle else None,
        verify_tls=bool(entry.get("verify_tls", True)),
        profile=name,
        version=entry.get("version") or None,
        path_encoding=entry.get("path_encoding") or None,
    )


def _password(
    name: str, entry: Mapping[str, Any], path: Path, env: Mapping[str, str]
) -> str | None:
    variable = entry.get("password_env")
    if variable:
        if not env.get(variable):
            raise UsageError(
                f"profile {name!r} takes its password from {variable}, which is not set"
            )
        return env[variable]
    file = entry.get("password_file")
    if not file:
        return None
    secret = path.parent / Path(file).expanduser()
    try:
        text = secret.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(
            f"profile {name!r}: cannot read its password_file {secret}: {reason}"
        ) from None
    return text.removesuffix("\n").removesuffix("\r") or None


def _read(path: Path, wanted: str) -> dict[str, dict[str, Any]]:
    """The ``profiles:`` mapping of the file; the problems of the file as a whole and of
    profile ``wanted`` are reported all at once (another broken profile is not this
    command's business)."""
    from runner.spec.yaml_source import parse_document

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the profiles file {path}: {error}") from None
    parsed = parse_document(text, str(path))
    document = parsed.document
    problems = list(parsed.problems)
    top = document.value
    if not isinstance(top, dict) or not isinstance(top.get("profiles"), dict):
        problems.append(document.problem((), "expected a mapping with a 'profiles:' mapping"))
        raise PipelineFileError(problems)
    for key in top:
        if key != "profiles":
            problems.append(
                document.problem(
                    (key,), f"unknown key {key!r}: profiles go under 'profiles:'", at_key=True
                )
            )
    profiles: dict[str, dict[str, Any]] = {}
    for name, entry in top["profiles"].items():
        if str(name) == wanted:
            problems += _entry_problems(document, str(name), entry)
        if isinstance(entry, dict):
            profiles[str(name)] = entry
    if any(problem.severity == "error" for problem in problems):
        raise PipelineFileError(problems)
    return profiles


_WHERE_LOGINS_COME_FROM = (
    "a profile holds no password: use password_env or password_file (or ~/.netrc)"
)


def _entry_problems(document: Document, name: str, entry: Any) -> list[FileProblem]:
    where = ("profiles", name)
    if not isinstance(entry, dict):
        keys = ", ".join(PROFILE_KEYS)
        return [document.problem(where, f"profile {name!r}: expected a mapping of {keys}")]
    found: list[FileProblem] = []
    for key, value in entry.items():
        why = _key_problem(str(key), value)
        if why is not None:
            path = (*where, key)
            at_key = key == "password" or key not in PROFILE_KEYS
            found.append(document.problem(path, f"profile {name!r}: {why}", at_key=at_key))
    return found


def _key_problem(key: str, value: Any) -> str | None:
    from runner.spec.naming import did_you_mean

    if key == "password":
        return _WHERE_LOGINS_COME_FROM
    if key not in PROFILE_KEYS:
        return f"unknown key {key!r}{did_you_mean(key, PROFILE_KEYS)}"
    if key == "verify_tls":
        return None if isinstance(value, bool) else "verify_tls is true or false"
    if not isinstance(value, str):
        return f"{key} is a text"
    if key == "url" and not value.startswith(("http://", "https://")):
        return "url must look like https://host:port"
    if key == "path_encoding" and value not in ("plus", "segment"):
        return "path_encoding is plus or segment"
    return None
