"""Which execution mode a run uses, and why, in words (DESIGN.md "Execution modes")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.errors import UsageError
from runner.model import Mode, Pipeline

if TYPE_CHECKING:
    # Only the annotation: importing runner.graph would load networkx.
    from runner.graph.selection import Selection

# The sequential trigger (the only call that carries workbook variables) came with 7.5.2.
SEQUENTIAL_SINCE = (7, 5, 2)


@dataclass(frozen=True)
class ModeChoice:
    """The mode the engine drives the run in, the reason, and what the user should know.

    ``mode`` is CLIENT or SEQUENTIAL, or AUTO when the run should start in
    sequential mode and fall back to client mode if the server turns out to lack
    the sequential trigger (the server version was unknown when choosing).
    """

    mode: Mode
    reason: str
    warnings: tuple[str, ...] = ()

    @property
    def runs_as(self) -> Mode:
        """CLIENT or SEQUENTIAL: how the run starts (AUTO starts sequential)."""
        return Mode.SEQUENTIAL if self.mode is Mode.AUTO else self.mode


def choose_mode(
    pipeline: Pipeline,
    server_version: str | None = None,
    selection: Selection | None = None,
    *,
    override: Mode | None = None,
) -> ModeChoice:
    """Choose the mode for ``pipeline`` (already restricted to the selected jobs).

    ``override`` is ``--mode``; ``server_version`` is None when the server was
    not asked (``dmpipe plan``); ``selection`` only adds warnings.
    """
    written = override or pipeline.mode
    if written is Mode.AUTO:
        choice = _auto(pipeline, server_version)
    else:
        source = "set with --mode" if override else "set in the pipeline file"
        choice = ModeChoice(
            written, source, _as_written_warnings(written, pipeline, server_version)
        )
    if choice.runs_as is Mode.SEQUENTIAL and selection and selection.chain_left_out:
        return _cut_chain(choice, pipeline, selection)
    return choice


def _cut_chain(choice: ModeChoice, pipeline: Pipeline, selection: Selection) -> ModeChoice:
    """A selection that cuts the data-driven chain: the sequential trigger would run the
    jobs it leaves out all the same, so sequential mode refuses and auto picks client."""
    heads = ", ".join(selection.chain_cut_at)
    left = ", ".join(selection.chain_left_out)
    why = f"Datameer runs everything downstream of {heads}, which the selection leaves out ({left})"
    if choice.mode is Mode.SEQUENTIAL:
        raise UsageError(
            f"--select/--exclude in sequential mode: {why}; use --mode client to run a subset"
        )
    warnings = (f"the workbook variables ({_names(pipeline)}) will NOT be applied in client mode",)
    return ModeChoice(
        Mode.CLIENT,
        f"auto: the selection cuts the data-driven chain ({why}); "
        "client mode runs just the selection",
        warnings if pipeline.variables else (),
    )


def has_sequential_trigger(server_version: str) -> bool:
    """True when a server of this version (``7.5.2``, ``7.4`` ...) offers the sequential trigger.

    A version that cannot be read is given the benefit of the doubt.
    """
    parts = []
    for part in server_version.strip().split("."):
        # "7.5.2-SNAPSHOT": only the leading digits of a part count.
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return not parts or tuple(parts) >= SEQUENTIAL_SINCE


def _auto(pipeline: Pipeline, server_version: str | None) -> ModeChoice:
    if not pipeline.variables:
        return ModeChoice(
            Mode.CLIENT,
            "auto: the pipeline sets no workbook variables, so dmpipe drives each job itself",
        )
    because = (
        "auto: the pipeline sets workbook variables, which only the sequential trigger carries"
    )
    if server_version is None:
        return ModeChoice(
            Mode.AUTO,
            f"{because}; assuming the server is 7.5.2 or newer "
            "(the run falls back to client mode if it is not)",
        )
    if has_sequential_trigger(server_version):
        return ModeChoice(Mode.SEQUENTIAL, f"{because}, and the server ({server_version}) has it")
    return ModeChoice(
        Mode.CLIENT,
        f"auto: the server ({server_version}) has no sequential trigger (it needs 7.5.2)",
        (f"the workbook variables ({_names(pipeline)}) will NOT be applied in client mode",),
    )


def _as_written_warnings(
    mode: Mode, pipeline: Pipeline, server_version: str | None
) -> tuple[str, ...]:
    if mode is Mode.CLIENT and pipeline.variables:
        return (f"the workbook variables ({_names(pipeline)}) are NOT applied in client mode",)
    if mode is Mode.SEQUENTIAL and server_version and not has_sequential_trigger(server_version):
        return (f"the server ({server_version}) has no sequential trigger (it needs 7.5.2)",)
    return ()


def _names(pipeline: Pipeline) -> str:
    return ", ".join(pipeline.variables)
