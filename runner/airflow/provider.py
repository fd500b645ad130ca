"""What Airflow learns about dmpipe's provider: the ``datameer`` connection type, the hook,
operators, trigger and extra link (the ``apache_airflow_provider`` entry point).

Importing this module needs no Airflow: Airflow's provider manager calls
``get_provider_info`` while it scans installed distributions.
"""

from __future__ import annotations

from typing import Any

import runner

_INTEGRATION = "Datameer"


def get_provider_info() -> dict[str, Any]:
    """The provider metadata Airflow validates against its ``provider_info`` schema."""
    return {
        "package-name": "dmpipe",
        "name": "Datameer (dmpipe)",
        "description": "Run Datameer jobs and dmpipe pipeline files from Airflow.",
        "versions": [runner.__version__],
        "integrations": [{"integration-name": _INTEGRATION, "tags": ["software"]}],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["runner.airflow.datameer_hook"]}
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "runner.airflow.job_operator",
                    "runner.airflow.sequence_operator",
                    "runner.airflow.pipeline_operator",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": ["runner.airflow.execution_trigger"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "datameer",
                "hook-class-name": "runner.airflow.datameer_hook.DatameerHook",
                "hook-name": "Datameer",
                "conn-fields": {
                    "ca_bundle": {
                        "label": "CA bundle",
                        "schema": {"type": ["string", "null"]},
                        "description": "A PEM file of the authorities that signed the server's "
                        "certificate (a private CA).",
                    },
                    "verify": {
                        "label": "Verify TLS",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "path_encoding": {
                        "label": "Path encoding",
                        "schema": {"type": ["string", "null"], "default": "plus"},
                        "description": "How artifact paths go into URLs: plus (spaces as +, "
                        "as the Datameer reference says).",
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": [],
                    "relabeling": {"schema": "Scheme (http or https)"},
                    "placeholders": {
                        "host": "datameer.example.com",
                        "port": "8443",
                        "schema": "https",
                    },
                },
            }
        ],
        "extra-links": ["runner.airflow.pipeline_operator.DatameerReportLink"],
    }
