"""An Airflow ``datameer`` connection as dmpipe's server settings (no Airflow import here).

host/port/schema make the base URL (schema is the scheme, ``https`` unless told;
a host that carries its own ``http://`` or ``https://`` keeps it), login and password
are the credentials, and the extra holds ``ca_bundle``, ``verify`` and ``path_encoding``.
The password only ever travels inside ``ServerSettings``, whose repr hides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import UsageError
from runner.model import ServerSettings
from runner.reference import PathEncoding

# The one path encoding the client speaks: spaces as "+", the rest percent-encoded with
# slashes kept (runner.reference.JobRef.url_segment); the emulator accepts it too.
_SCHEMES = ("http", "https")
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


@dataclass(frozen=True)
class ConnectionFields:
    """The fields of an Airflow connection that a Datameer connection uses."""

    conn_id: str
    host: str | None = None
    port: int | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict)


def base_url(fields: ConnectionFields) -> str:
    """``https://host:port`` from the connection; UsageError when it names no server."""
    host = (fields.host or "").strip().rstrip("/")
    if not host:
        raise UsageError(
            f"the Airflow connection {fields.conn_id!r} has no host: set it to the Datameer "
            "server (for example datameer.example.com, scheme https, port 8443)"
        )
    scheme = (fields.schema or "").strip().lower() or "https"
    if "://" in host:
        scheme, host = host.split("://", 1)
    if scheme not in _SCHEMES:
        raise UsageError(
            f"the Airflow connection {fields.conn_id!r} has the scheme {scheme!r}: "
            "use http or https (the connection's schema field)"
        )
    port = f":{fields.port}" if fields.port and ":" not in host.split("/", 1)[0] else ""
    if "/" in host:
        name, path = host.split("/", 1)
        return f"{scheme}://{name}{port}/{path}"
    return f"{scheme}://{host}{port}"


def server_settings(fields: ConnectionFields) -> ServerSettings:
    """The connection as the settings ``DatameerClient.from_settings`` and ``run_file`` take."""
    extra = dict(fields.extra)
    unknown = sorted(set(extra) - {"ca_bundle", "verify", "path_encoding"})
    if unknown:
        raise UsageError(
            f"the Airflow connection {fields.conn_id!r} has unknown extra field(s) "
            f"{', '.join(unknown)}: a datameer connection knows ca_bundle, verify, path_encoding"
        )
    encoding = str(extra.get("path_encoding") or "").strip().lower() or None
    known = [e.value for e in PathEncoding]
    if encoding is not None and encoding not in known:
        raise UsageError(
            f"the Airflow connection {fields.conn_id!r} asks for path_encoding {encoding!r}: "
            f"write {' or '.join(known)}, or leave it out to detect it on the first call"
        )
    ca_bundle = extra.get("ca_bundle") or None
    return ServerSettings(
        url=base_url(fields),
        user=fields.login or None,
        password=fields.password if fields.login else None,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        verify_tls=_flag(fields.conn_id, "verify", extra.get("verify", True)),
        path_encoding=encoding,
    )


def _flag(conn_id: str, name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(
        f"the Airflow connection {conn_id!r} has {name}={value!r} in its extra: write true or false"
    )
