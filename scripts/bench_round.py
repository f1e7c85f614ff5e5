#!/usr/bin/env python
"""Round latency: N node processes on anvil and N in-process participants (simulation); JSON.

    .venv/bin/python scripts/bench_round.py --json            # anvil N=10,50; simulation N=100,1000
    .venv/bin/python scripts/bench_round.py --json --quick    # anvil N=10; simulation N=100

Each entry breaks the round down into training, secagg, chain and store time (summed over
participants, plus the coordinator's own for the simulation) and is set against the physical
limit measured in this run: a plain numpy sum of N vectors of the same length, and sha256 of
the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from typing import Any

import numpy as np


def _limits(n: int, length: int) -> dict[str, float]:
    vecs = np.random.default_rng(0).integers(0, 2**32, size=(n, length), dtype=np.uint32)
    t0 = time.perf_counter()
    vecs.sum(axis=0, dtype=np.uint32)
    t_sum = time.perf_counter() - t0
    t0 = time.perf_counter()
    for v in vecs:
        hashlib.sha256(v.tobytes()).digest()
    return {"numpySumS": round(t_sum, 6), "sha256S": round(time.perf_counter() - t0, 6)}


def _vector_length(dataset: str, model: str) -> int:
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.models import build_model, module_to_bytes
    from fedledger.fl.serialization import model_size

    data = load_dataset(dataset)
    module = build_model(model, n_features=data.n_features, n_classes=data.n_classes, seed=0)
    return model_size(module_to_bytes(module)) + 1


def bench_anvil(n: int, *, dataset: str, model: str) -> dict[str, Any]:
    from fedledger.sim.federation import FederationConfig, run_federation

    summary = run_federation(
        FederationConfig(nodes=n, rounds=1, dataset=dataset, model=model, timeout=1200)
    )
    r = summary["rounds"][0]
    times = r.get("times", {})
    latency = (times["done"] - times["opened"]) if {"done", "opened"} <= set(times) else None
    return {
        "mode": "anvil-processes",
        "participants": n,
        "outcome": r["outcome"],
        "verified": r["verification"]["ok"],
        "roundLatencyS": None if latency is None else round(latency, 3),
        "wallIncludingProcessStartS": summary["timings"]["rounds"],
        "participantTimeSumS": summary["nodeTimeTotals"],
        "gas": r["gas"],
        "commitGasMean": summary["commitGasMean"],
        "limits": _limits(n, _vector_length(dataset, model)),
    }


def bench_simulation(n: int, *, dataset: str, model: str) -> dict[str, Any]:
    from fedledger.fl.train import TrainConfig
    from fedledger.sim.devnet_setup import round_config_for
    from fedledger.sim.simulation import Simulation, SimulationConfig

    config = SimulationConfig(
        participants=n,
        rounds=1,
        dataset=dataset,
        model=model,
        min_size=1 if n > 100 else 10,
        train=TrainConfig(epochs=1),
        round_config=round_config_for(n),
        verify=True,
    )
    t0 = time.perf_counter()
    sim = Simulation(config)
    setup = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        r = sim.run_round()
        wall = time.perf_counter() - t0
    finally:
        sim.close()  # the journal file and the temporary state dir (blobs of every participant)
    return {
        "mode": "simulation-eth-tester",
        "participants": n,
        "outcome": r.outcome,
        "verified": r.verified,
        "roundLatencyS": round(wall, 3),
        "setupS": round(setup, 3),
        "breakdownS": {k: round(float(v), 3) for k, v in r.timings.items()},
        "gas": r.gas,
        "limits": _limits(n, _vector_length(dataset, model)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--quick", action="store_true", help="anvil N=10, simulation N=100")
    ap.add_argument("--anvil", type=int, nargs="*", default=None, help="node counts on anvil")
    ap.add_argument("--sim", type=int, nargs="*", default=None, help="simulated counts")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp")
    args = ap.parse_args(argv)
    anvil_ns = args.anvil if args.anvil is not None else ([10] if args.quick else [10, 50])
    sim_ns = args.sim if args.sim is not None else ([100] if args.quick else [100, 1000])
    results = []
    for n in anvil_ns:
        results.append(bench_anvil(n, dataset=args.dataset, model=args.model))
        if not args.json:
            print(results[-1], file=sys.stderr)
    for n in sim_ns:
        results.append(bench_simulation(n, dataset=args.dataset, model=args.model))
        if not args.json:
            print(results[-1], file=sys.stderr)
    print(json.dumps({"benchmark": "round_latency", "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
