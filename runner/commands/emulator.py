"""``dmpipe emulator``: one subcommand per Datameer REST endpoint (placeholder)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``dmpipe job`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator", help="call one API endpoint"
    )
    parser.set_defaults(func=lambda args: 0)
