#!/usr/bin/env python3
"""Accuracy of plain FedAvg, secure-aggregation FedAvg and centralised training, as JSON.

Each column is a "method" in METHODS: a function from the shared Setup to a result
dict with at least "accuracy". To add secure aggregation, register a method that calls
``fedledger.fl.fedavg.run_fedavg(..., aggregate=<secagg aggregator>)`` with the same
Setup; the per-round training seeds then match the plain run exactly.

Usage: .venv/bin/python scripts/bench_fedavg_accuracy.py --json [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from fedledger.fl.datasets import Dataset, load_dataset
from fedledger.fl.fedavg import run_centralised, run_plain_fedavg
from fedledger.fl.partition import Partition, dirichlet_partition, iid_partition
from fedledger.fl.train import TrainConfig


@dataclass(frozen=True)
class Setup:
    """Everything the methods share for one seed."""

    dataset: Dataset
    partition: Partition
    model: str
    rounds: int
    train_config: TrainConfig
    seed: int


def plain_fedavg(setup: Setup) -> dict[str, Any]:
    """Weighted FedAvg with exact float64 aggregation, every participant every round."""
    res = run_plain_fedavg(
        dataset=setup.dataset,
        partition=setup.partition,
        model_name=setup.model,
        rounds=setup.rounds,
        train_config=setup.train_config,
        seed=setup.seed,
    )
    return {
        "accuracy": res.final_accuracy,
        "loss": res.history[-1].loss,
        "per_round_accuracy": [m.accuracy for m in res.history],
    }


def centralised(setup: Setup) -> dict[str, Any]:
    """One model on the pooled training data for rounds x local-epochs epochs."""
    epochs = setup.rounds * setup.train_config.epochs
    res = run_centralised(
        dataset=setup.dataset,
        model_name=setup.model,
        epochs=epochs,
        train_config=setup.train_config,
        seed=setup.seed,
    )
    return {"accuracy": res.accuracy, "loss": res.loss, "epochs": epochs}


def secagg_fedavg(setup: Setup) -> dict[str, Any]:
    """The real pipeline: RoundCoordinator + Participants with SecAgg+ on an embedded chain.

    Same dataset, partition, initial model and per-(round, participant) training seeds as
    plain_fedavg; only the aggregation differs (quantize, mask, commit, unmask, decode).
    """
    import dataclasses

    from fedledger.chain import DEFAULT_ROUND_CONFIG
    from fedledger.sim.simulation import Simulation, SimulationConfig

    n = setup.partition.n_parties
    # Small federations need a smaller graph: k <= n-1, t <= k, and a roster of >= t+1.
    k = min(DEFAULT_ROUND_CONFIG.neighbours, n - 1)
    round_config = dataclasses.replace(
        DEFAULT_ROUND_CONFIG,
        neighbours=k,
        threshold=min(DEFAULT_ROUND_CONFIG.threshold, k),
        min_participants=min(DEFAULT_ROUND_CONFIG.min_participants, n),
    )
    config = SimulationConfig(
        participants=n,
        round_config=round_config,
        rounds=setup.rounds,
        dataset=setup.dataset.name,
        model=setup.model,
        seed=setup.seed,
        train=setup.train_config,
    )
    sim = Simulation(config, dataset=setup.dataset, partition=setup.partition)
    try:
        rows = sim.run()
    finally:
        sim.close()
    return {
        "accuracy": rows[-1].accuracy,
        "loss": rows[-1].loss,
        "per_round_accuracy": [r.accuracy for r in rows],
        "all_verified": all(r.verified for r in rows),
        "gas_per_round": [r.gas["total"] for r in rows],
    }


# Column name -> method. Order is the column order in the output.
METHODS: dict[str, Callable[[Setup], dict[str, Any]]] = {
    "plain_fedavg": plain_fedavg,
    "secagg_fedavg": secagg_fedavg,
    "centralised": centralised,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--participants", type=int, default=10)
    ap.add_argument("--partition", choices=("dirichlet", "iid"), default="dirichlet")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--min-size", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="local epochs/round")
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    ap.add_argument("--optimizer", default=TrainConfig.optimizer)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = ap.parse_args(argv)

    cfg = TrainConfig(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, optimizer=args.optimizer
    )
    runs: list[dict[str, Any]] = []
    for seed in args.seeds:
        ds = load_dataset(args.dataset, seed=seed)
        if args.partition == "dirichlet":
            part = dirichlet_partition(
                ds.train.y, args.participants, alpha=args.alpha, seed=seed, min_size=args.min_size
            )
        else:
            part = iid_partition(
                len(ds.train), args.participants, seed=seed, min_size=args.min_size
            )
        setup = Setup(ds, part, args.model, args.rounds, cfg, seed)
        row: dict[str, Any] = {"seed": seed, "partition_sizes": part.sizes(), "methods": {}}
        for name in args.methods:
            t0 = time.perf_counter()
            out = METHODS[name](setup)
            out["seconds"] = round(time.perf_counter() - t0, 3)
            row["methods"][name] = out
            if not args.json:
                print(f"seed {seed} {name}: accuracy {out['accuracy']:.4f}", file=sys.stderr)
        runs.append(row)

    mean_acc = {
        name: sum(r["methods"][name]["accuracy"] for r in runs) / len(runs) for name in args.methods
    }
    report: dict[str, Any] = {
        "benchmark": "fedavg_accuracy",
        "config": {
            "dataset": args.dataset,
            "model": args.model,
            "participants": args.participants,
            "partition": args.partition,
            "alpha": args.alpha if args.partition == "dirichlet" else None,
            "rounds": args.rounds,
            "seeds": args.seeds,
            "train": asdict(cfg),
            "centralised_epochs": args.rounds * cfg.epochs,
        },
        "mean_accuracy": mean_acc,
        "runs": runs,
    }
    if "centralised" in mean_acc:
        report["gap_points_vs_centralised"] = {
            name: round(100 * (mean_acc["centralised"] - acc), 3)
            for name, acc in mean_acc.items()
            if name != "centralised"
        }
    if "secagg_fedavg" in mean_acc and "plain_fedavg" in mean_acc:
        report["gap_points_secagg_vs_plain"] = round(
            100 * abs(mean_acc["secagg_fedavg"] - mean_acc["plain_fedavg"]), 3
        )
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
