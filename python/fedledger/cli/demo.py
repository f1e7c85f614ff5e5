"""`fedledger demo`: simulated federated rounds with secure aggregation on a real chain."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fedledger.errors import ConfigError

__all__ = ["register", "run_demo"]

_STAGE_STEPS = {
    "advertise_keys": 1,
    "share_keys": 2,
    "masked_input": 3,
    "unmask": 4,
    "finalize": 5,
    "finalized": 6,
    "failed": 6,
}


# Stage a participant dropped at, as short table labels.
_STAGE_SHORT = {
    "advertise_keys": "keys",
    "share_keys": "shares",
    "masked_input": "masked",
    "unmask": "unmask",
}


def _parse_dropouts(specs: list[str]) -> dict[int, dict[int, str]]:
    """ROUND:PARTICIPANT:POINT items -> {round: {participant: point}}."""
    out: dict[int, dict[int, str]] = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise ConfigError(
                f"--dropout {spec!r}: expected ROUND:PARTICIPANT:POINT, e.g. 3:4:after_keys"
            )
        out.setdefault(int(parts[0]), {})[int(parts[1])] = parts[2]
    return out


def _default_dropouts(participants: int, rounds: int) -> dict[int, dict[int, str]]:
    """One participant drops out after sharing keys in round 3, when the default round
    parameters survive that: every survivor keeps `threshold` answering neighbours."""
    from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG as cfg

    neighbours = min(cfg.neighbours, participants - 1)
    if rounds < 3 or neighbours - 1 < cfg.threshold:
        return {}
    return {3: {participants - 1: "after_shares"}}


def run_demo(
    *,
    participants: int = 10,
    rounds: int = 5,
    dataset: str = "digits",
    model: str = "mlp",
    task: str | None = None,
    alpha: float = 0.5,
    seed: int = 0,
    dropouts: dict[int, dict[int, str]] | None = None,
    rpc: str | None = None,
    deployment_file: Path | None = None,
    state_dir: Path | None = None,
    console: Console | None = None,
    verify: str = "full",
) -> dict[str, Any]:
    """Run the demo and return its JSON document (config, per-round rows, totals)."""
    from fedledger.chain.backend import connect
    from fedledger.chain.deploy import Deployment
    from fedledger.sim.simulation import Simulation, SimulationConfig

    console = console or Console()
    if task is not None:
        from fedledger.fl.task_loader import load_task

        load_task(task)  # a bad task string fails here, before any contract is deployed
    if dropouts is None:
        dropouts = _default_dropouts(participants, rounds)
    config = SimulationConfig(
        participants=participants,
        rounds=rounds,
        dataset=dataset,
        model=model,
        alpha=alpha,
        seed=seed,
        dropouts=dropouts,
        task=task,
        node_verify=verify,
    )
    chain = connect(rpc)
    deployment = Deployment.load(deployment_file) if deployment_file is not None else None
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        on_event = _progress_reporter(progress, rounds)
        sim = Simulation(
            config,
            chain=chain,
            deployment=deployment,
            state_dir=state_dir,
            on_event=on_event,
        )
        try:
            results = sim.run()
            round_log = sim.deployment.addresses["RoundLog"]
            task_name = sim.task_name
        finally:
            sim.close()
    elapsed = time.perf_counter() - started

    rows = [r.to_json() for r in results]
    doc: dict[str, Any] = {
        "config": _config_doc(
            config, rpc=rpc, chain_id=chain.chain_id, round_log=round_log, task=task_name
        ),
        "rounds": rows,
        "seconds": round(elapsed, 3),
        "allVerified": all(r["verified"] for r in rows if r["outcome"] == "finalized"),
    }
    console.print(_table(rows))
    console.print(
        f"{len(rows)} rounds in {elapsed:.1f} s on chain {chain.chain_id}; RoundLog {round_log}"
    )
    return doc


def _progress_reporter(progress: Progress, rounds: int) -> Callable[[str, dict[str, Any]], None]:
    """The Simulation's on_event callback: set-up, then one progress bar per round."""
    setup_task = progress.add_task("set-up", total=3, info="deploying contracts")
    overall = progress.add_task("rounds", total=rounds, info="")
    round_task: dict[int, Any] = {}

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "setup":
            info = {"deploy": "deploying contracts", "accounts": "funding and registering"}
            progress.update(setup_task, advance=1, info=info.get(data["step"], data["step"]))
        elif kind == "enrol":
            progress.update(setup_task, info=f"registered {data['done']}/{data['total']}")
        elif kind == "round":
            r = data["round"]
            if r not in round_task:
                progress.update(setup_task, completed=3, info="done")
                round_task[r] = progress.add_task(f"round {r}", total=6, info="")
            step = _STAGE_STEPS.get(data["stage"], 0)
            progress.update(round_task[r], completed=step, info=data["stage"].replace("_", " "))
        elif kind == "done":
            r = data["round_id"]
            acc = data["accuracy"]
            shown = f"acc {acc:.3f}" if acc is not None else data["outcome"]
            progress.update(round_task[r], completed=6, info=shown)
            progress.update(overall, advance=1, info=f"{r}/{rounds}")

    return on_event


def _config_doc(
    config: Any, *, rpc: str | None, chain_id: int, round_log: str, task: str
) -> dict[str, Any]:
    """The demo document's "config" section (--dataset/--model only when no --task)."""
    return {
        "participants": config.participants,
        "rounds": config.rounds,
        "dataset": config.dataset if config.task is None else None,
        "model": config.model if config.task is None else None,
        "task": task,
        "partition": "dirichlet",
        "alpha": config.alpha,
        "seed": config.seed,
        "nodeVerify": config.node_verify,
        "dropouts": {str(k): {str(i): p for i, p in v.items()} for k, v in config.dropouts.items()},
        "chain": rpc or "embedded eth-tester",
        "chainId": chain_id,
        "roundLog": round_log,
    }


def _table(rows: list[dict[str, Any]]) -> Table:
    # Kept within 80 columns: rich falls back to 80 when stdout is not a terminal.
    table = Table(title="fedledger demo: one row per round", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (
        ("#", "right"),
        ("outcome", "left"),
        ("acc", "right"),
        ("surv", "right"),
        ("dropped at", "left"),
        ("gas", "right"),
        ("audit", "left"),
        ("time", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in rows:
        acc = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.1f}%"
        dropped = (
            "\n".join(
                f"{a[:6]}… {_STAGE_SHORT.get(stage, stage)}" for a, stage in r["dropped"].items()
            )
            or "-"
        )
        if r["verified"] is None:
            ver = "[yellow]n/a[/]" if r["outcome"] != "finalized" else "-"
        elif r["verified"]:
            ver = "[green]✓ pass[/]"
        else:
            ver = f"[red]✗ {', '.join(r['failed_checks'])}[/]"
        outcome = r["outcome"] if not r["reason"] else f"{r['outcome']}: {r['reason']}"
        table.add_row(
            str(r["round_id"]),
            outcome,
            acc,
            str(r["survivors"]),
            dropped,
            f"{r['gas']['total'] / 1e6:.2f}M",
            ver,
            f"{r['timings']['wall']:.1f}s",
        )
    return table


def register(app: typer.Typer) -> None:
    """Attach `fedledger demo` to the root app."""

    @app.command("demo")
    def demo(
        participants: Annotated[int, typer.Option(help="Number of simulated participants.")] = 10,
        rounds: Annotated[int, typer.Option(help="Number of rounds.")] = 5,
        dataset: Annotated[str, typer.Option(help="digits, breast_cancer or wine.")] = "digits",
        model: Annotated[str, typer.Option(help="logreg, mlp or cnn.")] = "mlp",
        task: Annotated[
            str | None,
            typer.Option(
                help="Task import string package.module:attribute (a fedledger Task, or a "
                "Flower NumPyClient / client_fn); overrides --dataset and --model."
            ),
        ] = None,
        alpha: Annotated[float, typer.Option(help="Dirichlet label-skew alpha.")] = 0.5,
        seed: Annotated[int, typer.Option(help="Seed of data split, partition and training.")] = 0,
        dropout: Annotated[
            list[str] | None,
            typer.Option(
                help="ROUND:PARTICIPANT:POINT (before_keys, after_keys, after_shares, "
                "after_commit, during_unmask); repeatable. "
                "Default: 3:<last>:after_shares (with >= 6 participants)."
            ),
        ] = None,
        rpc: Annotated[
            str | None, typer.Option(help="JSON-RPC URL of a devnet (default: embedded chain).")
        ] = None,
        deployment: Annotated[
            Path | None, typer.Option(help="Deployment record to use instead of deploying.")
        ] = None,
        state_dir: Annotated[
            Path | None, typer.Option(help="Coordinator state and blob store (default: temp).")
        ] = None,
        json_out: Annotated[
            Path | None, typer.Option(help="Also write the per-round results as JSON here.")
        ] = None,
        verify: Annotated[
            str,
            typer.Option(
                help="Each participant's --verify mode before training on a model: "
                "full, own or off."
            ),
        ] = "full",
    ) -> None:
        """Simulated federated rounds with secure aggregation, on-chain commitments and audit."""
        doc = run_demo(
            participants=participants,
            rounds=rounds,
            dataset=dataset,
            model=model,
            task=task,
            alpha=alpha,
            seed=seed,
            dropouts=_parse_dropouts(dropout) if dropout else None,
            rpc=rpc,
            deployment_file=deployment,
            state_dir=state_dir,
            verify=verify,
        )
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(doc, indent=2) + "\n")
