"""`fedledger deploy`: deploy and wire every contract, print and optionally save the record."""

from __future__ import annotations

from pathlib import Path

import typer
from eth_utils import is_address, to_checksum_address

from fedledger.chain.backend import connect
from fedledger.chain.datatypes import DEFAULT_GOVERNANCE, production_governance
from fedledger.chain.deploy import ZERO_ADDRESS, Deployment, deploy_all
from fedledger.cli.common import parse_tokens
from fedledger.errors import ConfigError


def _address(text: str, *, what: str) -> str:
    if not is_address(text):
        raise ConfigError(f"{what}: {text!r} is not an Ethereum address")
    return str(to_checksum_address(text))


def parse_genesis(items: list[str]) -> dict[str, int]:
    """`ADDR=FLR` items to {address: token units}; repeated addresses add up."""
    out: dict[str, int] = {}
    for item in items:
        addr, sep, amount = item.partition("=")
        if not sep:
            raise ConfigError(f"--genesis: {item!r} is not ADDR=FLR")
        who = _address(addr.strip(), what="--genesis")
        out[who] = out.get(who, 0) + parse_tokens(amount, what=f"--genesis {who}")
    return out


def deploy(
    rpc: str | None = typer.Option(
        None, help="JSON-RPC URL (default: a fresh embedded eth-tester chain)."
    ),
    out: Path | None = typer.Option(None, help="Write the deployment record (JSON) here."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing record."),
    slash_recipient: str = typer.Option(
        "burn",
        "--slash-recipient",
        help="Treasury address that receives slashed stake, or 'burn' (the default).",
    ),
    genesis: list[str] = typer.Option(
        [],
        "--genesis",
        help="ADDR=FLR: mint FLR to ADDR at deployment (stake and voting power); repeatable.",
    ),
    guardian: str | None = typer.Option(
        None,
        "--guardian",
        help="Address that may cancel queued governance operations (default: the deployer).",
    ),
    governance: str = typer.Option(
        "devnet",
        "--governance",
        help="Governor settings: 'devnet' (1-block delay, 20-block vote, 60 s timelock) or "
        "'production' (1 day, 1 week, 2 days; docs/governance.md).",
    ),
) -> None:
    """Deploy everything; the first funded account is deployer, aggregator and registrar."""
    # Options are checked before deploying, so a refused command costs no transactions.
    if out is not None and out.exists() and not force:
        raise ConfigError(f"deployment record {out} exists; pass --force to overwrite it")
    recipient = (
        ZERO_ADDRESS
        if slash_recipient.strip().lower() == "burn"
        else _address(slash_recipient.strip(), what="--slash-recipient")
    )
    allocations = parse_genesis(genesis)
    guardian_address = None if guardian is None else _address(guardian, what="--guardian")
    if governance not in ("devnet", "production"):
        raise ConfigError(f"--governance: {governance!r} is not 'devnet' or 'production'")
    settings = (
        production_governance(sum(allocations.values()))
        if governance == "production"
        else DEFAULT_GOVERNANCE
    )
    backend = connect(rpc)
    accounts = backend.funded_accounts()
    if not accounts:
        raise ConfigError("the chain offers no funded account to deploy from")
    deployer = accounts[0]
    record: Deployment = deploy_all(
        backend,
        deployer=deployer,
        aggregator=deployer.address,
        guardian=guardian_address,
        governance=settings,
        slash_recipient=recipient,
        genesis=allocations or None,
    )
    typer.echo(record.to_bytes().decode())
    if out is not None:
        record.save(out, force=force)
        typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Attach `fedledger deploy` to the root app."""
    app.command("deploy")(deploy)
