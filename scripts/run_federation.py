#!/usr/bin/env python
"""One command, many processes: anvil, deploy, coordinator and N nodes for R rounds; JSON summary.

    .venv/bin/python scripts/run_federation.py --nodes 5 --rounds 2
    .venv/bin/python scripts/run_federation.py --nodes 5 --rounds 2 --drop 1:share_keys:2

Prints the summary (per-round accuracy, survivors, gas, independent verification, timings)
as JSON on stdout; exits 1 when a round fails verification. Everything it started is stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fedledger.errors import FedledgerError
from fedledger.sim.federation import FederationConfig, run_federation


def _drop(text: str) -> tuple[int, str, int]:
    try:
        who, stage, rnd = text.split(":")
        return int(who), stage, int(rnd)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--drop {text!r}: expected NODE:STAGE:ROUND") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--task", default=None, help="task import string (overrides dataset/model)")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--stage-timeout", type=float, default=120.0)
    ap.add_argument("--drop", type=_drop, action="append", default=[], help="NODE:STAGE:ROUND")
    ap.add_argument("--work-dir", type=Path, default=None, help="keep logs and state here")
    ap.add_argument(
        "--verify", choices=("full", "own", "off"), default="full", help="every node's --verify"
    )
    args = ap.parse_args(argv)
    config = FederationConfig(
        nodes=args.nodes,
        rounds=args.rounds,
        dataset=args.dataset,
        model=args.model,
        alpha=args.alpha,
        seed=args.seed,
        epochs=args.epochs,
        stage_timeout=args.stage_timeout,
        timeout=args.timeout,
        drops=tuple(args.drop),
        work_dir=args.work_dir,
        task=args.task,
        verify=args.verify,
    )
    try:
        summary = run_federation(config, log=lambda m: print(m, file=sys.stderr))
    except FedledgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0 if summary["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
