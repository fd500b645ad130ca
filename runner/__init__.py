"""dmpipe: run Datameer job pipelines declared in YAML.

The package is a library first: ``runner.datameer.client.DatameerClient`` speaks the
Datameer REST API, ``runner.emulator`` serves a Datameer double for tests and
offline runs, and ``runner.commands.main`` is the thin ``dmpipe`` command line on top.
"""

from __future__ import annotations

__version__ = "0.1.0"
