#!/usr/bin/env python
"""Seconds a node spends verifying the previous round before training, per --verify mode; JSON.

    .venv/bin/python scripts/bench_node_verify.py --json
    .venv/bin/python scripts/bench_node_verify.py --json --participants 5 --rounds 3
    .venv/bin/python scripts/bench_node_verify.py --json --anvil --participants 5 --rounds 3

The demo set-up (digits, MLP, Dirichlet split, default round parameters) run once per mode,
every participant verifying the round its model came from (node.model_verify). Per mode: mean
seconds per node per round of verification and of local training (rounds 2+; round 1 trains
the genesis model and verifies nothing). In-process (default, eth-tester) also the round's
wall time: the simulation runs the nodes one after the other, so it holds every node's
verification. With --anvil: `fedledger node run` processes against a coordinator process on
an anvil devnet (run_federation), each node reading the chain over JSON-RPC and the blobs
over the coordinator's HTTP store, as deployed. Set against the physical limit measured in
this run: sha256 of one round's masked vectors (what a full verifier must at least hash) and
a plain numpy sum of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np


def _limits(n: int, length: int) -> dict[str, float]:
    vecs = np.random.default_rng(0).integers(0, 2**32, size=(n, length), dtype=np.uint32)
    t0 = time.perf_counter()
    for v in vecs:
        hashlib.sha256(v.tobytes()).digest()
    t_hash = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs.sum(axis=0, dtype=np.uint32)
    return {"sha256S": round(t_hash, 6), "numpySumS": round(time.perf_counter() - t0, 6)}


def bench_mode(mode: str, *, participants: int, rounds: int, seed: int) -> dict[str, Any]:
    """Run the federation with every node in `mode`; per-node seconds per round."""
    from fedledger.sim.simulation import Simulation, SimulationConfig

    config = SimulationConfig(
        participants=participants, rounds=rounds, seed=seed, node_verify=mode, verify=False
    )
    sim = Simulation(config)
    try:
        results = sim.run()
        verify, train, refused = [], [], 0
        wall = [r.timings["wall"] for r in results[1:]]
        for r in results[1:]:
            for p in sim.participants:
                rec = p.rounds.get(r.round_id)
                if rec is None:
                    continue
                verify.append(rec.timings["verify"])
                train.append(rec.timings["training"])
                refused += rec.model_check.startswith("refused")
        from fedledger.fl.serialization import model_size

        vector_length = model_size(sim.genesis) + 1
        return {
            "mode": mode,
            "outcomes": [r.outcome for r in results],
            "verifySecondsPerNodeRound": round(mean(verify), 4) if verify else 0.0,
            "trainSecondsPerNodeRound": round(mean(train), 4) if train else 0.0,
            "verifyOverTrain": round(mean(verify) / mean(train), 3) if train else None,
            "roundWallSeconds": round(mean(wall), 3) if wall else 0.0,
            "refusals": refused,
            "vectorLength": vector_length,
        }
    finally:
        sim.close()


def bench_anvil(mode: str, *, participants: int, rounds: int, seed: int) -> dict[str, Any]:
    """The same with node processes on anvil; per-node seconds per round from their summaries."""
    from fedledger.sim.federation import FederationConfig, run_federation

    work = Path(tempfile.mkdtemp(prefix="fedledger-verify-bench-"))
    summary = run_federation(
        FederationConfig(
            nodes=participants, rounds=rounds, seed=seed, work_dir=work, verify=mode, timeout=1800
        )
    )
    verify, train, refused = [], [], 0
    for log in sorted(work.rglob("node-*.log")):
        doc = json.loads(log.read_text().strip().splitlines()[-1])
        for rid, rec in doc["rounds"].items():
            if int(rid) < 2:
                continue
            verify.append(float(rec["timings"].get("verify", 0.0)))
            train.append(float(rec["timings"]["training"]))
            refused += str(rec.get("model_check", "")).startswith("refused")
    return {
        "mode": mode,
        "outcomes": [r["outcome"] for r in summary["rounds"]],
        "verifySecondsPerNodeRound": round(mean(verify), 4) if verify else 0.0,
        "trainSecondsPerNodeRound": round(mean(train), 4) if train else 0.0,
        "verifyOverTrain": round(mean(verify) / mean(train), 3) if train else None,
        "refusals": refused,
        "audited": summary["verified"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="off,own,full")
    ap.add_argument("--json", action="store_true", help="print only the JSON document")
    ap.add_argument("--anvil", action="store_true", help="node processes on an anvil devnet")
    args = ap.parse_args(argv)
    entries = []
    for mode in args.modes.split(","):
        bench = bench_anvil if args.anvil else bench_mode
        entry = bench(mode, participants=args.participants, rounds=args.rounds, seed=args.seed)
        if not args.json:
            print(f"{mode}: {entry}", file=sys.stderr)
        entries.append(entry)
    length = entries[0].get("vectorLength", 4811) if entries else 1  # digits MLP: 4810 + 1
    doc = {
        "setup": {
            "engine": "node processes on anvil" if args.anvil else "in-process, eth-tester",
            "dataset": "digits",
            "model": "mlp",
            "participants": args.participants,
            "rounds": args.rounds,
            "measuredRounds": max(0, args.rounds - 1),
        },
        "modes": entries,
        "limit": _limits(args.participants, length),
    }
    print(json.dumps(doc, indent=2))
    return 0 if all(e["refusals"] == 0 for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
