"""`fedledger devnet start|stop|status`: the local anvil devnet with persistent state."""

from __future__ import annotations

from pathlib import Path

import typer

from fedledger.chain.devnet import default_state_dir, devnet_start, devnet_status, devnet_stop

devnet_app = typer.Typer(
    help="Local anvil devnet on 127.0.0.1 (chain id 31337, test mnemonic, state kept).",
    no_args_is_help=True,
)

_STATE_HELP = (
    "Directory holding the pid file, log and state.json (default: $FEDLEDGER_DEVNET_DIR, else "
    "$XDG_DATA_HOME/fedledger/devnet, else ~/.local/share/fedledger/devnet)."
)


@devnet_app.command("start")
def start(
    port: int = typer.Option(8545, help="TCP port on 127.0.0.1."),
    state_dir: Path | None = typer.Option(None, help=_STATE_HELP),
    block_time: int = typer.Option(
        1, min=0, help="Also mine an empty block every N s so deadlines pass (0: automine only)."
    ),
) -> None:
    """Start anvil (loads the saved state if there is one) and wait until it answers."""
    status = devnet_start(port=port, state_dir=state_dir, block_time=block_time)
    typer.echo(
        f"devnet running: {status.url} (chain id {status.chain_id}, block {status.block_number}, "
        f"pid {status.pid}, state {status.state_file})"
    )


@devnet_app.command("stop")
def stop(state_dir: Path | None = typer.Option(None, help=_STATE_HELP)) -> None:
    """Stop anvil; it writes its state on the way out."""
    where = state_dir or default_state_dir()
    typer.echo(
        "devnet stopped" if devnet_stop(state_dir=state_dir) else f"devnet not running ({where})"
    )


@devnet_app.command("status")
def status(state_dir: Path | None = typer.Option(None, help=_STATE_HELP)) -> None:
    """Print whether the devnet runs, its URL, chain id and block number."""
    s = devnet_status(state_dir=state_dir)
    if not s.running:
        typer.echo(f"devnet not running ({state_dir or default_state_dir()})")
        # SystemExit, not typer.Exit: cli.app.main runs click with standalone_mode=False,
        # which turns typer.Exit into a return value and loses the code.
        raise SystemExit(1)
    typer.echo(
        f"devnet running: {s.url} (chain id {s.chain_id}, block {s.block_number}, pid {s.pid})"
    )


def register(app: typer.Typer) -> None:
    """Attach `fedledger devnet` to the root app."""
    app.add_typer(devnet_app, name="devnet")
