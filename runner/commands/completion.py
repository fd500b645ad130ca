"""``dmpipe completion SHELL``: tab completion for bash, zsh and fish.

Completion runs ``dmpipe`` itself (argcomplete's protocol: the shell sets ``_ARGCOMPLETE``
and reads the candidates back), so it knows every command and option, the job names of
the pipeline file already on the line, and the run directories in ``dmpipe-runs/``.
argcomplete is imported only while completing; ``dmpipe`` starts as fast as ever.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SHELLS = ("bash", "zsh", "fish")

INSTALL = {
    "bash": 'eval "$(dmpipe completion bash)"     # in ~/.bashrc',
    "zsh": 'eval "$(dmpipe completion zsh)"      # in ~/.zshrc, after compinit',
    "fish": "dmpipe completion fish | source     # in ~/.config/fish/config.fish",
}


def register(subparsers: Any) -> None:
    """Add ``dmpipe completion`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "completion",
        help="print the shell script for tab completion (bash, zsh, fish)",
        description="Print the tab-completion script for SHELL. Load it from your shell's "
        "start-up file:\n  " + "\n  ".join(INSTALL.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help=", ".join(SHELLS))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the script for ``args.shell``."""
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["dmpipe"], shell=args.shell))
    return 0


def complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """Answer the shell and exit when ``dmpipe`` runs for completion; else do nothing."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    argcomplete.autocomplete(parser)


Completer = Callable[..., Iterable[str]]


def complete_with(action: argparse.Action, completer: Completer) -> None:
    """Let ``completer`` offer the values of ``action`` (argcomplete reads ``.completer``)."""
    setattr(action, "completer", completer)  # noqa: B010 (argparse.Action declares no such field)


def job_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """The jobs of the pipeline FILE on the line, with ``+`` kept for ``+job`` selections."""
    file = getattr(parsed_args, "file", None)
    names = _jobs_of(Path(file)) if file else []
    lead = "+" if prefix.startswith("+") else ""
    return [lead + name for name in names if (lead + name).startswith(prefix)]


def _jobs_of(path: Path) -> list[str]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # completion never complains; `dmpipe validate` does
    jobs = document.get("jobs") if isinstance(document, dict) else None
    return sorted(str(name) for name in jobs) if isinstance(jobs, dict) else []


def resume_dirs(prefix: str, **_: Any) -> list[str]:
    """What ``--resume`` takes: a name in ``dmpipe-runs/`` (``latest`` too), or a path."""
    from runner.rundir import RUNS_FOLDER

    names: list[str] = []
    if RUNS_FOLDER.is_dir():
        names = sorted(entry.name for entry in RUNS_FOLDER.iterdir() if entry.is_dir())
    return [name for name in names if name.startswith(prefix)] + folders(prefix)


def folders(prefix: str, **_: Any) -> list[str]:
    """The folders whose path starts with ``prefix`` (run directories, ``dmpipe-runs/``)."""
    found: list[str] = []
    typed = Path(prefix or ".")
    folder = typed if prefix.endswith("/") else typed.parent
    if folder.is_dir():
        found += sorted(
            str(entry) + "/"
            for entry in folder.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
    return [name for name in found if name.startswith(prefix)]
