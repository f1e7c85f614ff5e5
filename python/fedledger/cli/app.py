"""The `fedledger` command: a Typer root app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

try:  # newer Typer vendors click
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # older Typer (fedledger[flower]: flwr 1.42 pins typer < 0.21) uses click
    from click.exceptions import ClickException as _ClickException  # type: ignore[assignment,unused-ignore]

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
    "fedledger.cli.sim",
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
    """Console-script entry point: usage errors as Typer prints them (exit 2), known errors as one
    red line (exit 1)."""
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
    except _ClickException as exc:  # bad option, bad value, missing argument: exit 2
        _show_click_error(exc)
        sys.exit(exc.exit_code)


def _show_click_error(exc: _ClickException) -> None:
    """What Typer itself prints in standalone mode: usage, a hint and the error in a panel."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # its message is the help text
        return
    from typer import rich_utils

    rich_utils.rich_format_error(exc)
