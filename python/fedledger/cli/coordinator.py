"""`fedledger coordinator run`: the aggregator's HTTP service (uvicorn) over a RoundCoordinator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fedledger.cli.common import ENGINE_HELP, RAY_ADDRESS_HELP, WORKERS_HELP
from fedledger.errors import ConfigError
from fedledger.secagg.engine import make_engine

if TYPE_CHECKING:
    from fedledger.fl.task import Task
    from fedledger.protocol.model import ModelSpec

coordinator_app = typer.Typer(help="The aggregator's coordinator service.", no_args_is_help=True)


def _task_setup(
    task: str | None, model: str, dataset: str, seed: int, test_data: Path | None
) -> tuple[ModelSpec, bytes, Callable[[bytes], tuple[float, float]] | None]:
    """The published spec, the genesis model and the evaluator of the federation's task."""
    from fedledger.fl.builtin import BuiltinTask
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.task import TaskContext
    from fedledger.fl.task_bridge import initial_model, make_task_evaluator
    from fedledger.fl.task_loader import builtin_task_string, load_task
    from fedledger.protocol.model import ModelSpec

    ctx = TaskContext(seed=seed, test_data=test_data)
    if task is None:
        name = builtin_task_string(model, dataset)
        the_task: Task = BuiltinTask(model, dataset)
        data = load_dataset(dataset, seed=seed)
        spec = ModelSpec(model, dataset, data.n_features, data.n_classes, task=name)
    else:
        name, the_task = task, load_task(task)
        spec = ModelSpec(task, "", 0, 0, task=task)
    genesis = initial_model(the_task, ctx, name=name)
    return spec, genesis, make_task_evaluator(the_task, the_task.load_test_data(ctx), name=name)


@coordinator_app.command("run")
def run(
    rpc: str = typer.Option(..., help="JSON-RPC URL of the chain."),
    deployment: Path = typer.Option(..., help="Deployment record (fedledger deploy --out)."),
    state_dir: Path = typer.Option(..., help="Where rounds are journaled (resumed on restart)."),
    aggregator_key_file: Path | None = typer.Option(
        None, help="Aggregator key: keystore v3 file (or a 0x-hex line, devnets only)."
    ),
    password_file: Path | None = typer.Option(
        None, help="Keystore password file (else $FEDLEDGER_KEY_PASSWORD, else a prompt)."
    ),
    aggregator_index: int | None = typer.Option(
        None, help="Use account N of the devnet test mnemonic as aggregator (devnets only)."
    ),
    blob_dir: Path | None = typer.Option(
        None, help="Blob store folder (default: STATE_DIR/blobs)."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8600, help="TCP port."),
    rounds: int = typer.Option(
        0,
        help="Run this many more rounds, one after another (0: none); a round left open in "
        "STATE_DIR by an earlier run is resumed and counts as the first of them.",
    ),
    until_round: int = typer.Option(
        0,
        help="Instead of --rounds: run rounds until round id R is over; a restart with the "
        "same flag resumes the open round and stops at R (0: unused).",
    ),
    dataset: str = typer.Option(
        "digits", help="Dataset the model is trained on (test split evaluates)."
    ),
    model: str = typer.Option("mlp", help="Model architecture (logreg, mlp, cnn)."),
    task: str | None = typer.Option(
        None,
        help="Task import string package.module:attribute (overrides --dataset/--model); "
        "published with the genesis model.",
    ),
    test_data: Path | None = typer.Option(
        None, help="Held-out data file the task evaluates each new model on (e.g. test.npz)."
    ),
    seed: int = typer.Option(0, help="Seed of the initial model and the dataset split."),
    expected: int | None = typer.Option(
        None, help="Close the key stage once this many advertised (default: all registered)."
    ),
    stage_timeout: float | None = typer.Option(
        None,
        help="Close the key, share and unmask stages after this many seconds even if messages "
        "are missing (default: wait until the round's on-chain deadlines, less a margin).",
    ),
    tick_interval: float = typer.Option(0.2, help="Seconds between state-machine ticks."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    engine: str = typer.Option("inline", help=ENGINE_HELP),
    workers: int | None = typer.Option(None, help=WORKERS_HELP),
    ray_address: str | None = typer.Option(None, help=RAY_ADDRESS_HELP),
) -> None:
    """Serve the coordinator API and blob store; with --rounds, run that many rounds."""
    import uvicorn

    from fedledger.chain.backend import RpcChain
    from fedledger.chain.deploy import Deployment
    from fedledger.coordinator.api.app import create_app
    from fedledger.coordinator.round import RoundCoordinator
    from fedledger.coordinator.settings import ServiceSettings
    from fedledger.coordinator.spec import StageDurations
    from fedledger.store import FilesystemBlobStore

    aggregator = _aggregator(aggregator_key_file, aggregator_index, password_file)
    record = Deployment.load(deployment)
    backend = RpcChain(rpc)
    spec, genesis, evaluate_model = _task_setup(task, model, dataset, seed, test_data)
    store = FilesystemBlobStore(blob_dir or state_dir / "blobs")
    durations = StageDurations(
        advertise_keys=stage_timeout, share_keys=stage_timeout, unmask=stage_timeout
    )
    coordinator = RoundCoordinator(
        chain=backend,
        deployment=record,
        aggregator=aggregator,
        store=store,
        state_dir=state_dir,
        model_spec=spec,
        genesis_model=genesis,
        durations=durations,
        evaluate=evaluate_model,
        expected_participants=expected,
        engine=(regen := make_engine(engine, workers=workers, ray_address=ray_address)),
    )
    settings = ServiceSettings(host=host, port=port, tick_interval=tick_interval)
    if rounds and until_round:
        raise ConfigError("give --rounds (N more) or --until-round (up to round R), not both")
    app = create_app(
        coordinator, store=store, settings=settings, rounds=rounds, until_round=until_round
    )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    typer.echo(f"coordinator: http://{host}:{port} (RoundLog {coordinator.contract})", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        coordinator.close()
        regen.close()


def _aggregator(key_file: Path | None, index: int | None, password_file: Path | None) -> Any:
    """The aggregator account from --aggregator-key-file or --aggregator-index (exactly one)."""
    from fedledger.chain.accounts import mnemonic_accounts
    from fedledger.chain.keystore import load_account

    if (key_file is None) == (index is None):
        raise ConfigError("give exactly one of --aggregator-key-file or --aggregator-index")
    if key_file is not None:
        return load_account(key_file, password_file=password_file)
    return mnemonic_accounts(n=int(index or 0) + 1)[-1]


def register(app: typer.Typer) -> None:
    """Attach `fedledger coordinator` to the root app."""
    app.add_typer(coordinator_app, name="coordinator")
