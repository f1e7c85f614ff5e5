#!/usr/bin/env python
"""Scale: one simulated round per size n (logreg on digits, 10% dropout), gas, time and RSS; JSON.

    .venv/bin/python scripts/bench_scale.py --json                 # n = 10, 100, 1000, 10000
    .venv/bin/python scripts/bench_scale.py --json --max-n 1000    # skip the larger sizes
    .venv/bin/python scripts/bench_scale.py --engine ray --one 1000  # one size on Ray

Every n runs in a fresh child process. Engines: `inprocess` holds the coordinator *and*
every participant in that process, so its `coordinator_peak_rss_mib` (the process's peak
resident set) is an upper bound on the coordinator's own; `ray` (sim.ray_sim) runs the
participants in a few host actors and the coordinator in an actor of its own, and the row
reports that actor's peak RSS: the coordinator's memory alone. By default sizes below
`--ray-from` (10,000) run in-process and the larger ones on Ray; `--engine` forces one
engine for every size. Ray rounds always run on a throw-away anvil (127.0.0.1), as do
in-process sizes from `--anvil-from` up; smaller ones run on the embedded eth-tester chain.
Ray and anvil are stopped after each size.

Gas is read from the coordinator's transaction receipts by call name (`_CALLS` maps the
bench's keys to the contract's function names, so a renamed call is one line here);
`commit_mean`/`commit_max` come from the participants' commit receipts; `claim` is the gas
of one survivor's `claim` of the round (one Merkle entry, O(1) whatever n).
A key whose call does not exist on this contract is null.

Above about 700 members digits has too few training examples for disjoint shards; each
member then gets two examples drawn cyclically from a permutation (shards overlap).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (10, 100, 1_000, 10_000)
ENGINES = ("inprocess", "ray")
DROPOUT = 0.10
_CALLS: dict[str, tuple[str, ...]] = {
    "openRound": ("openRound",),
    "roster": ("postRoster", "postRosterRoot"),
    "finalize": ("finalize",),
}
"""Bench gas key -> the coordinator's call names that fill it (first present wins)."""
ROW_KEYS = (
    "n",
    "gas",
    "round_seconds",
    "seconds_per_member",
    "coordinator_peak_rss_mib",
    "verify_seconds",
    "engine",
)
GAS_KEYS = ("openRound", "roster", "finalize", "commit_mean", "commit_max", "claim")


def _partition(n: int, n_train: int, seed: int) -> Any:
    """Disjoint shards when digits has enough examples, else two cyclic examples each."""
    from fedledger.fl.partition import Partition, iid_partition

    if n * 2 <= n_train:
        return iid_partition(n_train, n, seed=seed, min_size=1)
    perm = np.random.default_rng(seed).permutation(n_train)
    parts = tuple(
        np.sort(perm[[(2 * i) % n_train, (2 * i + 1) % n_train]]).astype(np.int64) for i in range(n)
    )
    return Partition(parts=parts, scheme="cyclic-pairs", seed=seed)


def _claim_gas(sim: Any, round_id: int, survivors: list[str]) -> int | None:
    """Gas of one survivor's claim of round `round_id` (its Merkle entry from the roster blob)."""
    from fedledger.errors import ChainError
    from fedledger.secagg.messages import Roster

    log = sim.contracts.round_log
    by_address = {a.address: a for a in sim.accounts}
    tree = Roster.from_bytes(sim.store.get(log.get_round(round_id).roster_hash.hex())).tree()
    for address in survivors:
        account = by_address.get(address)
        if account is None:
            continue
        try:
            return int(log.claim([tree.member(round_id, address)], sender=account).gas_used)
        except ChainError:
            return None
    return None


def _exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so a stopped run still stops its Ray and anvil (finally)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def run_one(
    n: int, *, chain_url: str | None, engine: str, seed: int = 0, hosts: int | None = None
) -> dict[str, Any]:
    """One round of `n` simulated members; the row of the table."""
    from fedledger.chain.backend import connect
    from fedledger.cli.sim import sim_round_config
    from fedledger.fl.datasets import load_dataset
    from fedledger.fl.train import TrainConfig
    from fedledger.sim.simulation import Simulation, SimulationConfig

    if engine not in ENGINES:
        raise SystemExit(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "ray" and not chain_url:
        raise SystemExit("the ray engine needs a JSON-RPC chain (--rpc-url of an anvil)")
    dataset = load_dataset("digits", seed=seed)
    dropped = {i: "after_shares" for i in range(0, n, round(1 / DROPOUT))}
    config = SimulationConfig(
        participants=n,
        rounds=1,
        dataset="digits",
        model="logreg",
        partition="iid",
        min_size=1,
        seed=seed,
        train=TrainConfig(epochs=1),
        round_config=sim_round_config(n),  # Bell et al.'s k and t from 100 members on
        dropouts={1: dropped},
        verify=True,
    )
    t0 = time.perf_counter()
    partition = _partition(n, len(dataset.train), seed)
    sim: Any
    if engine == "ray":
        from fedledger.chain.backend import RpcChain
        from fedledger.sim.ray_sim import RaySimulation

        assert chain_url is not None
        sim = RaySimulation(
            config, chain=RpcChain(chain_url), dataset=dataset, partition=partition, hosts=hosts
        )
        _exit_on_sigterm()  # again: ray.init put its own handler in, which skips our cleanup
    else:
        sim = Simulation(config, chain=connect(chain_url), dataset=dataset, partition=partition)
    setup = time.perf_counter() - t0
    try:
        r = sim.run_round()
        commit_gas = [
            rec.commit_gas
            for p in sim.participants
            if (rec := p.rounds.get(r.round_id)) is not None and rec.commit_gas is not None
        ]
        report = sim.coordinator.report(r.round_id)
        survivors = list(report.survivors) if report is not None else []
        claim = _claim_gas(sim, r.round_id, survivors) if r.outcome == "finalized" else None
        # Ray: the coordinator actor's own peak; in-process: this process (an upper bound).
        peak_mib = (
            sim.coordinator_peak_rss_mib()
            if engine == "ray"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
    finally:
        sim.close()
    gas: dict[str, int | float | None] = {
        key: next((int(r.gas[c]) for c in calls if r.gas.get(c)), None)
        for key, calls in _CALLS.items()
    }
    gas["commit_mean"] = round(sum(commit_gas) / len(commit_gas)) if commit_gas else None
    gas["commit_max"] = max(commit_gas) if commit_gas else None
    gas["claim"] = claim
    round_s = float(r.timings["wall"])
    return {
        "n": n,
        "gas": gas,
        "round_seconds": round(round_s, 3),
        "seconds_per_member": round(round_s / n, 5),
        "coordinator_peak_rss_mib": round(peak_mib, 1),
        "verify_seconds": round(float(r.timings["verify"]), 3),
        "engine": engine,
        "chain": "anvil" if chain_url else "eth-tester",
        "outcome": r.outcome,
        "verified": r.verified,
        "survivors": r.survivors,
        "setup_seconds": round(setup, 3),
        "breakdown": r.timings,
    }


def _run_child(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"{' '.join(cmd[2:])} failed (exit {out.returncode}):\n{tail}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


ANVIL_BLOCK_TIME = 1
"""Seconds between blocks on the Ray rounds' anvil (interval mining). With automine, one
sender's back-to-back pipelined sends could strand transactions in anvil's queued pool (seen
enrolling 5,000 members: nonces from 642 on queued, the account at nonce 642, never
mined); interval mining takes every pending transaction into the next block."""


@contextlib.contextmanager
def _anvil(*, block_time: float | None = None) -> Iterator[str]:
    """A throw-away anvil on 127.0.0.1 (its URL), stopped on exit; automine unless `block_time`."""
    from fedledger.chain.devnet import free_port, spawn_anvil

    port = free_port()
    # Blocks as large as a round needs: every commit of the round can land in a few blocks;
    # and dev accounts rich enough to fund 10,000 members with 1 ether each (anvil's default
    # 10,000 ether runs out there, and the deployer's later transactions never land); only
    # the latest 64 states in memory (no reader needs older ones; anvil still reached ~3.3 GiB
    # at 10,000 members, against ~4 GiB without this: most of it is not state history).
    extra = ["--gas-limit", "300000000", "--balance", "1000000", "--prune-history", "64"]
    if block_time is not None:
        extra += ["--block-time", str(block_time)]
    proc = spawn_anvil(port, *extra)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _child(n: int, *, anvil: bool, engine: str, hosts: int | None) -> dict[str, Any]:
    """Run one size in a fresh interpreter (its own peak RSS), on a throw-away anvil if asked."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(n), "--engine", engine]
    if hosts is not None:
        cmd += ["--hosts", str(hosts)]
    if not anvil and engine != "ray":
        return _run_child(cmd)
    with _anvil(block_time=ANVIL_BLOCK_TIME if engine == "ray" else None) as url:
        return _run_child([*cmd, "--rpc-url", url])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print only the JSON table")
    ap.add_argument("--max-n", type=int, default=max(SIZES), help="largest n to run")
    ap.add_argument(
        "--anvil-from", type=int, default=10_000, help="n from which the round runs on anvil"
    )
    ap.add_argument(
        "--engine",
        default=None,
        choices=ENGINES,
        help="engine for every size (default: inprocess below --ray-from, ray from it on)",
    )
    ap.add_argument("--ray-from", type=int, default=10_000, help="n from which Ray is the engine")
    ap.add_argument(
        "--hosts", type=int, default=None, help="Ray participant host actors (default: CPUs)"
    )
    ap.add_argument("--one", type=int, default=None, help="run only this n; print its row")
    ap.add_argument("--rpc-url", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        _exit_on_sigterm()
        engine = args.engine or ("ray" if args.one >= args.ray_from else "inprocess")
        with contextlib.ExitStack() as stack:
            url = args.rpc_url
            if url is None and engine == "ray":
                url = stack.enter_context(_anvil(block_time=ANVIL_BLOCK_TIME))
            row = run_one(args.one, chain_url=url, engine=engine, hosts=args.hosts)
        print(json.dumps(row))
        return 0
    rows = []
    for n in (s for s in SIZES if s <= args.max_n):
        engine = args.engine or ("ray" if n >= args.ray_from else "inprocess")
        rows.append(_child(n, anvil=n >= args.anvil_from, engine=engine, hosts=args.hosts))
        if not args.json:
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "scale", "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
