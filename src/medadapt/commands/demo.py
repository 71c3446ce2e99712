"""`medadapt demo-data` (and later `medadapt demo`): the embedded default."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the demo commands to the root app."""
