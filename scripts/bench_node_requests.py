#!/usr/bin/env python
"""HTTP requests per node per round of a multi-process federation (status, messages; not blobs).

    .venv/bin/python scripts/bench_node_requests.py --nodes 5 --rounds 2

Runs scripts/run_federation.py's federation in a kept work dir and reads every node's final
JSON line (its `requests` counter of coordinator API calls); prints JSON. With --drop, note
that run_federation's rounds have 3600 s windows: a member that never commits holds finalize
until the commit deadline. The coordinator's `/healthz` `statusServed` counts status answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from fedledger.sim.federation import FederationConfig, run_federation


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--drop", default=None, help="NODE:STAGE:ROUND, e.g. 0:masked_input:2")
    args = ap.parse_args(argv)
    drops: tuple[tuple[int, str, int], ...] = ()
    if args.drop:
        who, stage, rnd = args.drop.split(":")
        drops = ((int(who), stage, int(rnd)),)
    work = Path(tempfile.mkdtemp(prefix="fedledger-requests-"))
    summary = run_federation(
        FederationConfig(nodes=args.nodes, rounds=args.rounds, work_dir=work, drops=drops),
        log=lambda m: print(m, file=sys.stderr),
    )
    logs = sorted((work / "logs").glob("node-*.log")) or sorted(work.rglob("node-*.log"))
    per_node = [json.loads(p.read_text().strip().splitlines()[-1])["requests"] for p in logs]
    seconds = summary["timings"].get("rounds", 0.0)
    out = {
        "nodes": args.nodes,
        "rounds": args.rounds,
        "requestsPerNode": per_node,
        "requestsPerNodePerRound": round(sum(per_node) / len(per_node) / args.rounds, 1),
        "roundSeconds": round(seconds / args.rounds, 2),
        "verified": summary["verified"],
    }
    print(json.dumps(out, indent=2))
    return 0 if summary["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
