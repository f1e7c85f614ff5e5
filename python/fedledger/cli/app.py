"""The `fedledger` command: a Typer root app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from fedledger.errors import FedledgerError

app = typer.Typer(
    name="fedledger",
    help="Blockchain-audited federated learning with verifiable secure aggregation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module defines `register(app)`; order is the order shown in --help.
COMMAND_MODULES = (
    "fedledger.cli.demo",
    "fedledger.cli.devnet",
    "fedledger.cli.deploy",
    "fedledger.cli.participants",
    "fedledger.cli.data",
    "fedledger.cli.coordinator",
    "fedledger.cli.node",
    "fedledger.cli.audit",
    "fedledger.cli.gov",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)

_err = Console(stderr=True, soft_wrap=True)


def main() -> None:
    """Console-script entry point: known errors become one red line and exit code 1."""
    try:
        # standalone_mode=False returns typer.Exit's code instead of exiting: pass it on.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except FedledgerError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except typer.Abort:
        _err.print("[red]aborted[/]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
