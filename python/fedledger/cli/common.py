"""Options and helpers shared by the command groups that talk to a deployed federation."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fedledger.errors import ConfigError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from fedledger.chain import ChainBackend, Contracts, Deployment

__all__ = [
    "ENGINE_HELP",
    "RAY_ADDRESS_HELP",
    "TOKEN_DECIMALS",
    "WORKERS_HELP",
    "DeploymentOpt",
    "KeyFileOpt",
    "KeyOpt",
    "RpcOpt",
    "attach",
    "echo_json",
    "format_tokens",
    "parse_tokens",
    "sender_account",
]

# --engine/--workers/--ray-address of the commands that unmask or verify (secagg.engine).
ENGINE_HELP = "Where mask regeneration runs: inline, process (a local pool) or ray."
WORKERS_HELP = "Processes of --engine process / CPUs of a local Ray (default: all)."
RAY_ADDRESS_HELP = "Ray cluster for mask regeneration (implies --engine ray)."

TOKEN_DECIMALS = 18

RpcOpt = typer.Option(..., "--rpc", help="JSON-RPC URL of the chain.")
DeploymentOpt = typer.Option(..., "--deployment", help="Deployment record (JSON).")
KeyOpt = typer.Option(
    None,
    "--key",
    envvar="FEDLEDGER_KEY",
    help="0x-hex private key of the sender (or $FEDLEDGER_KEY); in clear: devnets only.",
)
KeyFileOpt = typer.Option(
    None,
    "--key-file",
    help="Sender key: keystore v3 file (password from $FEDLEDGER_KEY_PASSWORD or a prompt), "
    "or a 0x-hex line (devnets only).",
)


def parse_tokens(text: str, *, what: str) -> int:
    """FLR amount ("12.5") to token units (18 decimals), exactly; names `what` when invalid."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ConfigError(f"{what}: {text!r} is not a number of FLR") from None
    # Decimal's default 28 significant digits would round amounts above ~10^10 FLR.
    with localcontext() as ctx:
        ctx.prec = 100
        units = value * (10**TOKEN_DECIMALS)
    if not value.is_finite() or value < 0 or units != units.to_integral_value():
        raise ConfigError(f"{what}: {text!r} must be >= 0 with at most 18 decimals")
    return int(units)


def format_tokens(units: int) -> str:
    """Token units as an exact FLR decimal string ("12.5"): the inverse of `parse_tokens`.

    A string, because JSON readers without big integers would round 18-decimal amounts.
    """
    whole, frac = divmod(units, 10**TOKEN_DECIMALS)
    return f"{whole}.{frac:0{TOKEN_DECIMALS}d}".rstrip("0").rstrip(".")


def sender_account(key: str | None, key_file: Path | None) -> LocalAccount:
    """The signing account from exactly one of --key / $FEDLEDGER_KEY and --key-file."""
    from eth_account import Account

    from fedledger.node.runner import read_key_file

    if (key is None) == (key_file is None):
        raise ConfigError("key: give exactly one of --key (or $FEDLEDGER_KEY) and --key-file")
    if key_file is not None:
        return read_key_file(key_file)
    try:
        return Account.from_key(key)
    except Exception:
        raise ConfigError("key: not a valid 32-byte hex private key") from None


def attach(rpc: str, deployment: Path) -> tuple[ChainBackend, Deployment, Contracts]:
    """Connect to `rpc` and bind the contracts of the deployment record (checked on-chain)."""
    from fedledger.chain import Deployment, connect

    record = Deployment.load(deployment)
    backend = connect(rpc)
    return backend, record, record.attach(backend)


def echo_json(doc: dict[str, Any]) -> None:
    """Print a JSON document (stable key order) on stdout."""
    typer.echo(json.dumps(doc, indent=2, sort_keys=True))
