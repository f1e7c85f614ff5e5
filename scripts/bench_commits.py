#!/usr/bin/env python
"""Commit throughput: N commits one receipt at a time vs pipelined (chain.pipeline); JSON.

    .venv/bin/python scripts/bench_commits.py --json                # N = 200, eth-tester + anvil
    .venv/bin/python scripts/bench_commits.py --json --n 1000 --chain anvil

One round with 2N members: the first N commit sequentially (sign, estimate, send, wait for
the receipt), the other N through a TxPipeline (estimate once, window of in-flight
transactions, receipts afterwards). The physical limit measured in the same run is the time
to sign N transactions locally (no chain at all).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def run(n: int, *, rpc_url: str | None, window: int) -> dict[str, Any]:
    from fedledger.chain.accounts import derive_accounts
    from fedledger.chain.backend import connect
    from fedledger.chain.deploy import deploy_all
    from fedledger.chain.pipeline import TxPipeline
    from fedledger.chain.tx import fund
    from fedledger.sim.devnet_setup import round_config_for

    chain = connect(rpc_url)
    deployer, aggregator = chain.funded_accounts()[:2]
    contracts = deploy_all(
        chain, deployer=deployer, aggregator=aggregator.address, params=round_config_for(2 * n)
    ).attach(chain)
    members = derive_accounts(f"bench-commits-{time.time()}".encode(), 2 * n)
    setup = TxPipeline(chain, window=window, estimate_once=True)
    if rpc_url is None:
        fund(chain, deployer, [m.address for m in members], 10**17)
    else:
        for m in members:
            setup.submit(deployer, to=m.address, data=b"", value=10**17, gas=21_000)
    for m in members:
        contracts.registry.send_pipelined(setup, "register", m.address, sender=deployer)
    setup.flush()
    rl = contracts.round_log
    rid = int(rl.open_round(b"\x01" * 32, sender=aggregator).named("RoundOpened")[0].args["round"])
    rl.post_roster(rid, b"\x02" * 32, [m.address for m in members], sender=aggregator)

    def args(i: int) -> tuple[bytes, bytes]:
        return i.to_bytes(32, "big"), (i + 1).to_bytes(32, "big")

    t0 = time.perf_counter()
    for i, m in enumerate(members[:n]):
        rl.commit(rid, *args(i), weight=1, sender=m)
    sequential = time.perf_counter() - t0
    pipeline = TxPipeline(chain, window=window, estimate_once=True)
    t0 = time.perf_counter()
    pending = [
        rl.submit_commit(pipeline, rid, *args(n + i), weight=1, sender=m)
        for i, m in enumerate(members[n:])
    ]
    pipeline.flush()
    gas = [p.result().gas_used for p in pending]
    pipelined = time.perf_counter() - t0
    t0 = time.perf_counter()
    for m in members[:n]:
        m.sign_transaction(
            {"to": m.address, "value": 0, "gas": 21_000, "nonce": 0, "chainId": 1,
             "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "type": 2}
        )  # fmt: skip
    signing = time.perf_counter() - t0
    assert rl.get_round(rid).committed_count == 2 * n
    return {
        "chain": "anvil" if rpc_url else "eth-tester",
        "n": n,
        "window": window,
        "sequential_seconds": round(sequential, 3),
        "pipelined_seconds": round(pipelined, 3),
        "speedup": round(sequential / pipelined, 2),
        "sign_only_seconds": round(signing, 3),
        "commit_gas_mean": round(sum(gas) / len(gas)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print only JSON")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--chain", choices=["both", "eth-tester", "anvil"], default="both")
    args = ap.parse_args(argv)
    rows = []
    if args.chain in ("both", "eth-tester"):
        rows.append(run(args.n, rpc_url=None, window=args.window))
    if args.chain in ("both", "anvil"):
        from fedledger.chain.devnet import free_port, spawn_anvil

        port = free_port()
        proc = spawn_anvil(port, "--gas-limit", "300000000")
        try:
            rows.append(run(args.n, rpc_url=f"http://127.0.0.1:{port}", window=args.window))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(json.dumps({"benchmark": "commits", "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
