"""`fedledger sim`: simulated rounds on the in-process engine or on Ray (local or a cluster)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from fedledger.errors import ConfigError

__all__ = ["register", "run_sim", "sim_round_config"]


def sim_round_config(n: int, *, large_n: bool = True) -> Any:
    """Round parameters for `n` members: the devnet defaults, and from LARGE_N members on,
    k and t by Bell et al.'s rule (secagg.params.large_n_params, docs/protocol.md 3.0)."""
    from fedledger.secagg.params import LARGE_N, large_n_params
    from fedledger.sim.devnet_setup import round_config_for

    config = round_config_for(n)
    if large_n and n >= LARGE_N:
        k, t = large_n_params(n)
        config = config.replace(neighbours=k, threshold=t, min_participants=t)
    return config


def _dropouts(n: int, rounds: int, rate: float, seed: int) -> dict[int, dict[int, str]]:
    """`rate` of the members drop after sharing keys in every round (seeded choice)."""
    if not 0 <= rate < 1:
        raise ConfigError(f"--dropout-rate must be in [0, 1), got {rate}")
    rng = random.Random(seed)
    count = round(rate * n)
    return {
        r: dict.fromkeys(rng.sample(range(n), count), "after_shares") for r in range(1, 1 + rounds)
    }


def run_sim(
    *,
    participants: int,
    rounds: int = 1,
    dataset: str = "digits",
    model: str = "logreg",
    seed: int = 0,
    dropout_rate: float = 0.0,
    engine: str = "local",
    ray_address: str | None = None,
    hosts: int | None = None,
    regen_engine: str = "inline",
    rpc: str | None = None,
    large_n: bool = True,
    state_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the rounds and return {config, rounds: [SimulationRound JSON], seconds}."""
    from fedledger.fl.train import TrainConfig
    from fedledger.sim.engines import run_round
    from fedledger.sim.simulation import SimulationConfig

    config = SimulationConfig(
        participants=participants,
        rounds=rounds,
        dataset=dataset,
        model=model,
        partition="iid",
        min_size=1,
        seed=seed,
        train=TrainConfig(epochs=1),
        round_config=sim_round_config(participants, large_n=large_n),
        dropouts=_dropouts(participants, rounds, dropout_rate, seed),
    )
    started = time.perf_counter()
    rows = run_round(
        config,
        engine=engine,
        ray_address=ray_address,
        rpc_url=rpc,
        hosts=hosts,
        regen_engine=regen_engine,
        state_dir=state_dir,
    )
    rc = config.round_config
    return {
        "config": {
            "participants": participants,
            "rounds": rounds,
            "dataset": dataset,
            "model": model,
            "engine": "ray" if ray_address else engine,
            "regenEngine": regen_engine,
            "neighbours": rc.neighbours,
            "threshold": rc.threshold,
            "dropoutRate": dropout_rate,
        },
        "rounds": [r.to_json() for r in rows],
        "seconds": round(time.perf_counter() - started, 3),
    }


def register(app: typer.Typer) -> None:
    """Attach `fedledger sim` to the root app."""

    @app.command("sim")
    def sim(
        participants: Annotated[int, typer.Option(help="Number of simulated participants.")] = 10,
        rounds: Annotated[int, typer.Option(help="Number of rounds.")] = 1,
        dataset: Annotated[str, typer.Option(help="digits, breast_cancer or wine.")] = "digits",
        model: Annotated[str, typer.Option(help="logreg, mlp or cnn.")] = "logreg",
        seed: Annotated[int, typer.Option(help="Seed of data, training and dropouts.")] = 0,
        dropout_rate: Annotated[
            float, typer.Option(help="Fraction of members that drop after sharing keys.")
        ] = 0.0,
        engine: Annotated[
            str, typer.Option(help="local (in-process) or ray (participants in Ray actors).")
        ] = "local",
        ray_address: Annotated[
            str | None,
            typer.Option(help="Ray cluster to connect to (implies --engine ray); else local."),
        ] = None,
        hosts: Annotated[
            int | None,
            typer.Option(help="CPUs of a local Ray / participant host actors (default: all)."),
        ] = None,
        regen_engine: Annotated[
            str,
            typer.Option(help="Where the coordinator regenerates masks: inline, process, ray."),
        ] = "inline",
        rpc: Annotated[
            str | None,
            typer.Option(
                help="JSON-RPC URL of a devnet (default: embedded chain; with Ray, a "
                "throw-away anvil on 127.0.0.1)."
            ),
        ] = None,
        large_n: Annotated[
            bool,
            typer.Option(help="k and t by Bell et al.'s rule from 100 members on (protocol 3.0)."),
        ] = True,
        state_dir: Annotated[
            Path | None, typer.Option(help="Coordinator state and blob store (default: temp).")
        ] = None,
        json_out: Annotated[
            Path | None, typer.Option(help="Also write the results as JSON here.")
        ] = None,
    ) -> None:
        """Simulated rounds, verified from chain + blobs, on the local or the Ray engine."""
        doc = run_sim(
            participants=participants,
            rounds=rounds,
            dataset=dataset,
            model=model,
            seed=seed,
            dropout_rate=dropout_rate,
            engine=engine,
            ray_address=ray_address,
            hosts=hosts,
            regen_engine=regen_engine,
            rpc=rpc,
            large_n=large_n,
            state_dir=state_dir,
        )
        text = json.dumps(doc, indent=2)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(text + "\n")
        typer.echo(text)
