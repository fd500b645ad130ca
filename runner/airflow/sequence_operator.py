"""``DatameerSequenceOperator``: one sequential trigger, with workbook variables, watched
to the end of its execution plan.

Datameer starts the chain heads and their data-driven downstream jobs itself; the
operator runs the pipeline file in dmpipe's sequential mode (``runner.engine.sequential``):
it resolves the artifacts, sends the sequential trigger once, checks the execution plan
against the file's jobs (drift is reported), and watches every execution of the plan.
A retry resumes the run (live executions are re-attached; the chain is triggered again
only from a failed job); a kill or timeout stops every execution of the plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.airflow.pipeline_operator import DatameerPipelineOperator


class DatameerSequenceOperator(DatameerPipelineOperator):
    """Run a pipeline file's data-driven chain through Datameer's sequential trigger.

    :param pipeline: the pipeline file: its jobs are the chain (file ids, uuids or paths).
    :param variables: the workbook variables the trigger carries (templated; they add to,
        and override, the file's ``variables``).
    :param mode: ``sequential`` (the default: refuse a server without the sequential
        trigger) or ``auto`` (fall back to client mode there, without the variables).

    Other parameters as ``DatameerPipelineOperator``.
    """

    ui_color = "#f6e7c1"

    def __init__(
        self,
        *,
        pipeline: str | os.PathLike[str],
        variables: Mapping[str, str] | None = None,
        mode: str = "sequential",
        **kwargs: Any,
    ) -> None:
        if mode not in ("sequential", "auto"):
            raise ValueError(f"mode {mode!r}: a sequence runs in sequential (or auto) mode")
        super().__init__(pipeline=pipeline, variables=variables, mode=mode, **kwargs)
