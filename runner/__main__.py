"""``python -m runner`` runs the ``dmpipe`` command line."""

from __future__ import annotations

from runner.commands.main import console

if __name__ == "__main__":
    console()
