"""Execution reports: read ``report.json`` back and render it for people and CI systems.

``load`` reads and validates a saved report into the typed records of ``model``;
``junit``, ``markdown`` and ``html`` turn those records into files; ``publish``
writes them next to ``report.json`` at the end of a run; ``display``, ``live``,
``logs`` and ``terminal`` are what a run and ``dmpipe report show`` print.

Two clocks appear in a report and are never mixed: dmpipe's own (aware UTC times:
trigger sent, final status seen) and Datameer's (naive server-local start and stop).
"""

JUNIT_NAME = "junit.xml"
MARKDOWN_NAME = "summary.md"
HTML_NAME = "report.html"
