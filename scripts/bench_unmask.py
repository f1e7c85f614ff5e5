"""Benchmark the streaming, parallel unmask step: server memory vs n, engines vs the limits.

For each n a fresh subprocess (so that its memory is its own) runs stages 1-5 of one round
of SecAggServer with a filesystem blob store, as the coordinator does: n clients with
`--length`-word vectors, k and t by Bell et al.'s rule (secagg.params.large_n_params)
unless given, `--dropout` of them dropping after sharing keys (their mask keys
are revealed, so pairwise masks are regenerated too). It reports

- server_peak_traced_mib: the peak of Python/numpy allocations (tracemalloc) from the first
  masked input to the end of close_unmask, clients' transient work included (one client at
  a time). Streaming keeps it independent of n; `held_vectors_mib` is what holding the
  survivors' vectors would take instead.
- max_rss_mib: the subprocess's peak RSS (clients, keys and shares of all n included).
- unmask seconds per engine (inline, process pool, Ray), each bit-identical to the inline
  aggregate (`identical`), next to the limits measured in the same run: the raw keystream
  of every regenerated stream (AES-CTR, one fold) and a plain numpy sum of n vectors.

Usage: .venv/bin/python scripts/bench_unmask.py --sizes 100,1000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np


def _one(n: int, length: int, k: int, t: int, dropout: float, engines: list[str]) -> dict:
    from eth_account import Account

    from fedledger.secagg import Commitment, RoundContext, SecAggClient, SecAggParams
    from fedledger.secagg.crypto.kdf import PRG_SELF_INFO
    from fedledger.secagg.crypto.prg import fold_streams
    from fedledger.secagg.engine import make_engine
    from fedledger.secagg.masking import recompute_aggregate
    from fedledger.secagg.params import large_n_params
    from fedledger.secagg.server import SecAggServer
    from fedledger.store.filesystem import FilesystemBlobStore

    if k <= 0:
        k, t = large_n_params(n)
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1)
    params = SecAggParams(neighbours=k, threshold=t, clip_range=1.0, quant_bits=16, max_weight=1)
    seed = os.urandom(32)
    tmp = tempfile.TemporaryDirectory(prefix="bench-unmask-")
    store = FilesystemBlobStore(Path(tmp.name), fsync=False)
    server = SecAggServer(
        ctx,
        params,
        seed=seed,
        vector_length=length,
        min_survivors=t,
        blobs=lambda digest: store.get(digest.hex()),
    )
    clients = [SecAggClient(ctx, params, Account.create(), vector_length=length) for _ in range(n)]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    rng = np.random.default_rng(0)
    drop = set(rng.choice(n, size=round(dropout * n), replace=False).tolist())

    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    for i, c in enumerate(clients):
        if i in drop:
            continue
        x = rng.integers(0, 1 << 16, size=length, dtype=np.uint32)
        x[0] = 1
        msg = c.masked_input(x, inbox[c.address])
        store.put(msg.vector)
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 1)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
        del x, msg
    request = server.close_masked_input()
    stage3 = time.perf_counter() - t0
    by_address = {c.address: c for c in clients}
    for u in request.survivors:
        server.add_unmask(by_address[u].unmask(request))
    t0 = time.perf_counter()
    result = server.close_unmask()
    close_unmask = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # Each engine on the same public material (the running sum and the reveal).
    reveal = result.reveal
    neighbours = {a: list(server._neigh[a]) for a in roster.addresses}
    material = dict(
        addresses=roster.addresses,
        mask_keys_public={b.participant: b.mask_key for b in roster.bundles},
        neighbours=neighbours,
        survivors=list(result.survivors),
        self_mask_seeds=reveal.self_mask_seeds,
        mask_keys=reveal.mask_keys,
        length=length,
        masked_sum=server._masked_sum,
    )
    streams = len(result.survivors) + sum(
        len([u for u in neighbours[v] if u in set(result.survivors)]) for v in reveal.mask_keys
    )
    timings: dict[str, Any] = {}
    for name in engines:
        engine = make_engine(name, workers=2)
        try:
            recompute_aggregate(ctx, engine=engine, **material)  # warm-up (pool/Ray start)
            t0 = time.perf_counter()
            agg = recompute_aggregate(ctx, engine=engine, **material)
            timings[name] = {
                "seconds": round(time.perf_counter() - t0, 4),
                "identical": bool(np.array_equal(agg, result.aggregate)),
                "workers": engine.workers,
            }
        finally:
            engine.close()

    # Limits: every regenerated stream's raw keystream in one fold; a plain sum of n vectors.
    acc = np.zeros(length, dtype=np.uint32)
    t0 = time.perf_counter()
    fold_streams(acc, [(os.urandom(32), PRG_SELF_INFO, 1) for _ in range(streams)])
    keystream = time.perf_counter() - t0
    v = np.ones(length, dtype=np.uint32)
    t0 = time.perf_counter()
    for _ in range(len(result.survivors)):
        np.add(acc, v, out=acc)
    numpy_sum = time.perf_counter() - t0
    tmp.cleanup()
    return {
        "n": n,
        "length": length,
        "k": server.graph.degree if server.graph else k,
        "t": t,
        "survivors": len(result.survivors),
        "dropped_with_revealed_key": len(reveal.mask_keys),
        "streams_regenerated": streams,
        "server_peak_traced_mib": round(peak / 2**20, 2),
        "held_vectors_mib": round(len(result.survivors) * length * 4 / 2**20, 2),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stage3_seconds": round(stage3, 3),
        "close_unmask_seconds": round(close_unmask, 4),
        "unmask_engines": timings,
        "limit_keystream_seconds": round(keystream, 4),
        "limit_numpy_sum_seconds": round(numpy_sum, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated n")
    parser.add_argument("--length", type=int, default=20_000, help="words per vector")
    parser.add_argument(
        "--neighbours", type=int, default=0, help="k (0: Bell et al.'s rule, large_n_params)"
    )
    parser.add_argument("--threshold", type=int, default=0, help="t (0: with k by the rule)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--engines", default="inline,process", help="inline,process,ray")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if args.one is not None:
        row = _one(args.one, args.length, args.neighbours, args.threshold, args.dropout, engines)
        print(json.dumps(row))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), *_passthrough(args)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"n={n} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if not args.json:
            print(rows[-1], flush=True)
    if args.json:
        print(json.dumps({"rows": rows}, indent=2))


def _passthrough(args: argparse.Namespace) -> list[str]:
    return [
        "--length",
        str(args.length),
        "--neighbours",
        str(args.neighbours),
        "--threshold",
        str(args.threshold),
        "--dropout",
        str(args.dropout),
        "--engines",
        args.engines,
    ]


if __name__ == "__main__":
    main()
