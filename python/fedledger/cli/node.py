"""`fedledger node run`: one participant process (train, secagg over HTTP, commit on chain)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

node_app = typer.Typer(help="A participant node.", no_args_is_help=True)


@node_app.command("run")
def run(
    coordinator: str = typer.Option(..., help="Coordinator base URL, e.g. http://127.0.0.1:8600."),
    rpc: str = typer.Option(..., help="JSON-RPC URL of the chain."),
    deployment: Path = typer.Option(..., help="Deployment record (must match the coordinator's)."),
    partition: Path | None = typer.Option(
        None, help="This participant's data file (.npz partition for built-in tasks)."
    ),
    task: str | None = typer.Option(
        None, help="Task import string package.module:attribute (default: the published task)."
    ),
    participant_index: int | None = typer.Option(
        None, help="This participant's index, for tasks that split their data themselves."
    ),
    participants: int | None = typer.Option(
        None, help="Participant count, for tasks that split their data themselves."
    ),
    key_file: Path | None = typer.Option(
        None, help="Participant key: keystore v3 file (or a 0x-hex line, devnets only)."
    ),
    password_file: Path | None = typer.Option(
        None, help="Keystore password file (else $FEDLEDGER_KEY_PASSWORD, else a prompt)."
    ),
    key_index: int | None = typer.Option(None, help="Devnet participant key N (public test seed)."),
    rounds: int = typer.Option(1, help="Take part in this many rounds, then exit."),
    epochs: int = typer.Option(1, help="Local training epochs per round."),
    lr: float = typer.Option(0.05, help="Local learning rate."),
    batch_size: int = typer.Option(32, help="Local batch size."),
    seed: int = typer.Option(0, help="Base seed of local training."),
    poll_interval: float = typer.Option(
        0.2, help="Seconds between status polls when long-polling is not possible."
    ),
    deadline_margin: float = typer.Option(
        60.0, help="Give up on a round this many seconds after its on-chain unmask deadline."
    ),
    retries: int = typer.Option(10, help="Retries of transient HTTP failures (~35 s in all)."),
    drop_at: str | None = typer.Option(
        None,
        help="Fault test: go silent at this stage "
        "(advertise_keys|share_keys|masked_input|unmask|after_commit).",
    ),
    drop_round: int | None = typer.Option(None, help="Fault test: the round id to drop in."),
    quiet: bool = typer.Option(False, "--quiet", help="Only print the final JSON summary."),
    receipts: Path | None = typer.Option(
        None, help="Save the aggregator's signed receipts here (evidence for `audit verify`)."
    ),
    verify: str = typer.Option(
        "full",
        help="Before training on a round's model, verify the rounds it came from: full (every "
        "audit check), own (own commitment included, model = old + published aggregate), "
        "off (model hash only).",
    ),
) -> None:
    """Check partition, key, chain and coordinator, then take part in ROUNDS rounds."""
    from pydantic import ValidationError

    from fedledger.errors import ConfigError
    from fedledger.node.runner import run_node
    from fedledger.node.settings import NodeSettings

    try:
        settings = NodeSettings(
            coordinator=coordinator,
            rpc=rpc,
            deployment=deployment,
            partition=partition,
            task=task,
            participant_index=participant_index,
            participants=participants,
            key_file=key_file,
            password_file=password_file,
            key_index=key_index,
            rounds=rounds,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            poll_interval=poll_interval,
            deadline_margin=deadline_margin,
            retries=retries,
            drop_at=drop_at,
            drop_round=drop_round,
            receipts=receipts,
            verify=verify,  # type: ignore[arg-type]  # pydantic names a bad value
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "option"
        raise ConfigError(f"--{where.replace('_', '-')}: {first.get('msg')}") from None
    log = None if quiet else (lambda msg: typer.echo(msg, err=True))
    result = run_node(settings, log=log)
    typer.echo(json.dumps(result.to_json(), separators=(",", ":")))


def register(app: typer.Typer) -> None:
    """Attach `fedledger node` to the root app."""
    app.add_typer(node_app, name="node")
