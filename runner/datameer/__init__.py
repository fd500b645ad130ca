"""The Datameer REST layer: the HTTP client, its typed records and what it decodes.

Nothing here knows about pipelines; the engine and the planner drive a server through
``JobApi``, which ``DatameerClient`` satisfies.
"""
