"""``DatameerHook``: a configured ``DatameerClient`` from an Airflow ``datameer`` connection.

Credentials come only from Airflow's connections (the metadata database, a secrets
backend, or an ``AIRFLOW_CONN_<ID>`` environment variable), never from the DAG file.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from runner.airflow.connection import ConnectionFields, server_settings
from runner.datameer.client import DatameerClient
from runner.errors import DmpipeError
from runner.model import ServerSettings

DEFAULT_CONN_ID = "datameer_default"


class DatameerHook(BaseHook):
    """Talks to the Datameer server an Airflow connection names.

    ``get_conn()`` returns a ``runner.DatameerClient`` (one method per REST endpoint);
    close it when done, or use it as a context manager.
    """

    conn_name_attr = "datameer_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "datameer"
    hook_name = "Datameer"

    def __init__(self, datameer_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.datameer_conn_id = datameer_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How the connection form shows the fields (the schema field is the URL scheme)."""
        return {
            "hidden-fields": [],
            "relabeling": {"schema": "Scheme (http or https)"},
            "placeholders": {"host": "datameer.example.com", "port": "8443", "schema": "https"},
        }

    def settings(self) -> ServerSettings:
        """The server settings of the connection (the password stays out of any repr)."""
        return settings_of(self.get_connection(self.datameer_conn_id))

    @classmethod
    async def asettings(cls, conn_id: str) -> ServerSettings:
        """``settings()`` from async code (a trigger), without blocking the event loop."""
        return settings_of(await cls.aget_connection(conn_id))

    def get_conn(self) -> DatameerClient:
        """A client for the connection's server."""
        return DatameerClient.from_settings(self.settings())

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: one read (the list of running jobs) with the credentials."""
        try:
            with self.get_conn() as client:
                running = client.list_running()
        except DmpipeError as error:
            return False, str(error)
        return True, f"connected: {len(running)} job(s) running on the server"


def settings_of(connection: Any) -> ServerSettings:
    """``ServerSettings`` of an Airflow ``Connection`` object."""
    port = connection.port
    return server_settings(
        ConnectionFields(
            conn_id=str(connection.conn_id),
            host=connection.host,
            port=int(port) if port else None,
            schema=connection.schema,
            login=connection.login,
            password=connection.password,
            extra=connection.extra_dejson or {},
        )
    )
