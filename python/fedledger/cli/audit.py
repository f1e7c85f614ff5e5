"""`fedledger audit`: verify rounds from chain + blob store, and serve the auditor API/dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from fedledger.chain.backend import ChainBackend, RpcChain
from fedledger.chain.datatypes import Stage
from fedledger.chain.deploy import Deployment
from fedledger.cli.common import ENGINE_HELP, RAY_ADDRESS_HELP, WORKERS_HELP
from fedledger.errors import ConfigError

audit_app = typer.Typer(
    help="Audit rounds: trust only the chain and the hashes.", no_args_is_help=True
)


def _backend(rpc: str | None, deployment: Deployment) -> ChainBackend:
    url = rpc or deployment.rpc_url
    if not url:
        raise ConfigError("no --rpc given and the deployment record names no rpcUrl")
    return RpcChain(url)


def _short(value: object, limit: int = 400) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


@audit_app.command("verify")
def verify(
    deployment: Path = typer.Option(..., help="Deployment record written by `fedledger deploy`."),
    store: str = typer.Option(..., help="Blob store: a folder or the http(s) base URL."),
    rpc: str | None = typer.Option(None, help="JSON-RPC URL (default: the record's rpcUrl)."),
    round_id: int | None = typer.Option(None, "--round", min=1, help="Round to verify."),
    all_rounds: bool = typer.Option(False, "--all", help="Verify every finished round."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
    receipt_files: list[Path] = typer.Option(
        [],
        "--receipt",
        help="A receipt file a participant published (repeatable): checked by receipts_honoured.",
    ),
    engine: str = typer.Option("inline", help=ENGINE_HELP),
    workers: int | None = typer.Option(None, help=WORKERS_HELP),
    ray_address: str | None = typer.Option(None, help=RAY_ADDRESS_HELP),
) -> None:
    """Exit 0 when every check of every chosen round holds, 1 otherwise (failed checks printed)."""
    from fedledger.audit.blobs import open_blob_source
    from fedledger.audit.verify import verify_round_from_chain
    from fedledger.protocol.receipts import load_receipt
    from fedledger.secagg.engine import make_engine

    if (round_id is None) == (not all_rounds):
        raise ConfigError("give exactly one of --round R or --all")
    record = Deployment.load(deployment)
    backend = _backend(rpc, record)
    contracts = record.attach(backend)
    receipts = [
        load_receipt(p, chain_id=record.chain_id, contract=contracts.round_log.address)
        for p in receipt_files
    ]
    source = open_blob_source(store)
    if all_rounds:
        log = contracts.round_log
        rounds = [
            r
            for r in range(1, log.current_round() + 1)
            if log.get_round(r).stage in (Stage.FINALIZED, Stage.FAILED)
        ]
    else:
        assert round_id is not None
        rounds = [round_id]
    out = Console(highlight=False)
    regen = make_engine(engine, workers=workers, ray_address=ray_address)
    try:
        reports = [
            verify_round_from_chain(
                backend, record, source, r, contracts=contracts, receipts=receipts, engine=regen
            )
            for r in rounds
        ]
    finally:
        regen.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
    else:
        for rep in reports:
            verdict = "[green]OK[/]" if rep.ok else f"[red]FAILED[/] ({len(rep.failed)} check(s))"
            out.print(f"round {rep.round} ({rep.stage}): {verdict}, {len(rep.checks)} checks")
            for c in rep.checks:
                if not c.passed:
                    out.print(f"  [red]✗ {c.name}[/] ({c.source}): {c.detail}")
                    out.print(f"      expected: {_short(c.expected)}")
                    out.print(f"      found:    {_short(c.found)}")
        if not rounds:
            out.print("no finished rounds to verify")
    source.close()
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


@audit_app.command("serve")
def serve(
    deployment: Path = typer.Option(..., help="Deployment record written by `fedledger deploy`."),
    store: str = typer.Option(..., help="Blob store: a folder or the http(s) base URL."),
    rpc: str | None = typer.Option(None, help="JSON-RPC URL (default: the record's rpcUrl)."),
    db: Path = typer.Option(Path("audit.db"), help="SQLite index (created if missing; resumable)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8090, min=1, max=65535, help="TCP port."),
    confirmations: int = typer.Option(0, min=0, help="Index only blocks this far below the head."),
    poll: float = typer.Option(
        2.0, min=0.0, help="Seconds between index refreshes (0: only at start)."
    ),
    reports: str | None = typer.Option(
        None, help="Optional round -> report-blob-hash JSON (file or URL) for the accuracy plot."
    ),
) -> None:
    """Serve the read-only auditor API under /api and the dashboard at /."""
    import uvicorn

    from fedledger.audit.api import create_app
    from fedledger.audit.reports import load_report_index
    from fedledger.audit.service import AuditService

    record = Deployment.load(deployment)
    backend = _backend(rpc, record)
    index = load_report_index(reports) if reports else None
    service = AuditService(backend, record, store, db, confirmations=confirmations, reports=index)
    synced = service.refresh()
    typer.echo(f"indexed {synced['events']} events; serving http://{host}:{port}/", err=True)
    try:
        uvicorn.run(
            create_app(service, poll_seconds=poll), host=host, port=port, log_level="warning"
        )
    finally:
        service.close()


@audit_app.command("index")
def index(
    deployment: Path = typer.Option(..., help="Deployment record written by `fedledger deploy`."),
    rpc: str | None = typer.Option(None, help="JSON-RPC URL (default: the record's rpcUrl)."),
    db: Path = typer.Option(Path("audit.db"), help="SQLite index (created if missing; resumable)."),
    confirmations: int = typer.Option(0, min=0, help="Index only blocks this far below the head."),
) -> None:
    """Bring the SQLite index up to date once and print what was read."""
    from fedledger.audit.indexer import Indexer

    record = Deployment.load(deployment)
    ix = Indexer(_backend(rpc, record), record, db, confirmations=confirmations)
    try:
        result = ix.sync()
        typer.echo(json.dumps({**result, "lastBlock": ix.last_block}))
    finally:
        ix.close()


def register(app: typer.Typer) -> None:
    """Attach `fedledger audit` to the root app."""
    app.add_typer(audit_app, name="audit")
