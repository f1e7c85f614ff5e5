#!/usr/bin/env python
"""Memory over many rounds: RSS of the coordinator process and of each node process, per round.

    .venv/bin/python scripts/bench_memory.py --nodes 5 --rounds 20

Runs a real multi-process federation (`sim.federation.run_federation`: anvil, the
coordinator service, N node processes) while a sampler thread reads /proc twice a second.
It finds the coordinator's port on its command line and asks /v1/round which round is
running, so every sample belongs to a round. Per process kind it reports the RSS at the
end of each round, the first/last/max and the least-squares slope over rounds 2..R (round
1 includes imports and first-use allocations), in KiB per round; the slope is the figure
that says whether memory is bounded. JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from fedledger.errors import FedledgerError
from fedledger.sim.federation import FederationConfig, run_federation
from load_federation import descendants, kind_of, memory_of


class RoundSampler(threading.Thread):
    """RSS of the coordinator and of every node, keyed by the round that was running."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        # kind -> round -> last RSS seen in that round (bytes)
        self.per_round: dict[str, dict[int, int]] = {}
        self.peak: dict[str, int] = {}
        self._url: str | None = None

    def _round(self, cmd: str) -> int | None:
        if self._url is None:
            found = re.search(r"--port (\d+)", cmd)
            if found is None:
                return None
            self._url = f"http://127.0.0.1:{found.group(1)}/v1/round"
        try:
            return int(httpx.get(self._url, timeout=2.0).json()["round"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(self.interval):
            procs = []
            for pid in descendants(me):
                got = memory_of(pid)
                if got is not None:
                    procs.append((pid, got))
            coord = [(pid, m) for pid, m in procs if kind_of(m[2]) == "coordinator"]
            if not coord:
                continue
            round_id = self._round(coord[0][1][2])
            if round_id is None or round_id == 0:
                continue
            nodes = sorted((pid, m) for pid, m in procs if kind_of(m[2]) == "node")
            for kind, rss in [("coordinator", coord[0][1][0])] + [
                (f"node-{i}", m[0]) for i, (_, m) in enumerate(nodes)
            ]:
                self.per_round.setdefault(kind, {})[round_id] = rss
                self.peak[kind] = max(self.peak.get(kind, 0), rss)


def _slope(points: dict[int, int]) -> float | None:
    """Least-squares slope of RSS over rounds 2..R, in KiB per round."""
    xs = [r for r in sorted(points) if r >= 2]
    if len(xs) < 2:
        return None
    ys = [points[r] / 1024 for r in xs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def _summary(points: dict[int, int], peak: int) -> dict[str, Any]:
    mib = 1024 * 1024
    rounds = sorted(points)
    slope = _slope(points)
    return {
        "rounds": len(rounds),
        "firstMiB": round(points[rounds[0]] / mib, 1),
        "lastMiB": round(points[rounds[-1]] / mib, 1),
        "maxMiB": round(peak / mib, 1),
        "slopeKiBPerRound": None if slope is None else round(slope, 1),
        "perRoundMiB": {str(r): round(points[r] / mib, 1) for r in rounds},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--dataset", default="digits")
    args = ap.parse_args(argv)
    config = FederationConfig(
        nodes=args.nodes,
        rounds=args.rounds,
        dataset=args.dataset,
        model=args.model,
        epochs=1,
        timeout=3600.0,
    )
    sampler = RoundSampler()
    sampler.start()
    try:
        summary = run_federation(config, log=lambda m: print(m, file=sys.stderr, flush=True))
    except FedledgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        sampler.stop.set()
        sampler.join()
    outcomes = [r["outcome"] for r in summary["rounds"]]
    per_kind = {k: _summary(v, sampler.peak[k]) for k, v in sorted(sampler.per_round.items())}
    nodes = [v for k, v in per_kind.items() if k.startswith("node-")]
    out = {
        "benchmark": "bench_memory",
        "nodes": args.nodes,
        "rounds": args.rounds,
        "model": args.model,
        "finalized": outcomes.count("finalized"),
        "verified": summary["verified"],
        "coordinator": per_kind.get("coordinator"),
        "node0": per_kind.get("node-0"),
        "nodesMaxSlopeKiBPerRound": max(
            (n["slopeKiBPerRound"] for n in nodes if n["slopeKiBPerRound"] is not None),
            default=None,
        ),
        "nodesMaxMiB": max((n["maxMiB"] for n in nodes), default=None),
        "wallSeconds": summary["timings"]["total"],
    }
    print(json.dumps(out, indent=2))
    return 0 if out["finalized"] == args.rounds and out["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
