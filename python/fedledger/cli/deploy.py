"""`fedledger deploy`: deploy and wire every contract, print and optionally save the record."""

from __future__ import annotations

from pathlib import Path

import typer

from fedledger.chain.backend import connect
from fedledger.chain.deploy import Deployment, deploy_all
from fedledger.errors import ConfigError


def deploy(
    rpc: str | None = typer.Option(
        None, help="JSON-RPC URL (default: a fresh embedded eth-tester chain)."
    ),
    out: Path | None = typer.Option(None, help="Write the deployment record (JSON) here."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing record."),
) -> None:
    """Deploy everything; the first funded account is deployer, aggregator and registrar."""
    if out is not None and out.exists() and not force:
        # Checked before deploying, so a refused overwrite costs no transactions.
        raise ConfigError(f"deployment record {out} exists; pass --force to overwrite it")
    backend = connect(rpc)
    accounts = backend.funded_accounts()
    if not accounts:
        raise ConfigError("the chain offers no funded account to deploy from")
    deployer = accounts[0]
    record: Deployment = deploy_all(backend, deployer=deployer, aggregator=deployer.address)
    typer.echo(record.to_bytes().decode())
    if out is not None:
        record.save(out, force=force)
        typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Attach `fedledger deploy` to the root app."""
    app.command("deploy")(deploy)
