"""`fedledger audit`: not built yet (its issue fills this module in)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this command group to the root app (nothing yet)."""
    del app
