"""Benchmark the streaming, parallel unmask step: server memory vs n, engines vs the limits.

For each n, a producer subprocess runs one round of n SecAggClients (k and t by Bell et al.'s
rule, secagg.params.large_n_params, unless given; `--length`-word vectors; `--dropout` of
the members drop after sharing keys, so their pairwise masks are regenerated too), writes
the masked vectors to a filesystem blob store and every message to a pickle. A second, fresh
subprocess is the measured server: it replays the round into a SecAggServer as the
coordinator's journal does, reading each masked vector from the store, and reports

- stage3to5_traced_growth_mib (None with --untraced): the peak growth of Python/numpy
  allocations (tracemalloc) from the first masked input to the end of close_unmask.
  Streaming keeps it independent of n; `held_vectors_mib` is what holding the survivors'
  vectors would take instead.
- server_max_rss_mib: the server process's peak RSS: it includes the round's messages (key
  bundles, n*k encrypted shares, unmask responses), which still grow with n*k.
- unmask seconds per engine (inline, process pool, Ray), each bit-identical to the server's
  aggregate (`identical`), next to limits measured in the same run: the raw keystream of
  every regenerated stream (AES-CTR, one fold) and a plain numpy sum of n vectors.

Usage: .venv/bin/python scripts/bench_unmask.py --sizes 100,1000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np


def _setup(n: int, length: int, k: int, t: int) -> tuple[Any, Any, int, int]:
    from fedledger.secagg import RoundContext, SecAggParams
    from fedledger.secagg.params import large_n_params

    if k <= 0:
        k, t = large_n_params(n)
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1)
    params = SecAggParams(neighbours=k, threshold=t, clip_range=1.0, quant_bits=16, max_weight=1)
    return ctx, params, k, t


def _make(n: int, length: int, k: int, t: int, dropout: float, work: Path) -> None:
    """Producer: n clients run stages 1-4; blobs go to work/blobs, every message to a pickle."""
    from eth_account import Account

    from fedledger.secagg import Commitment, SecAggClient
    from fedledger.secagg.server import SecAggServer
    from fedledger.store.filesystem import FilesystemBlobStore

    ctx, params, k, t = _setup(n, length, k, t)
    seed = os.urandom(32)
    store = FilesystemBlobStore(work / "blobs", fsync=False)
    server = SecAggServer(
        ctx,
        params,
        seed=seed,
        vector_length=length,
        min_survivors=t,
        blobs=lambda digest: store.get(digest.hex()),
    )
    clients = [SecAggClient(ctx, params, Account.create(), vector_length=length) for _ in range(n)]
    bundles = [c.advertise_keys() for c in clients]
    for b in bundles:
        server.add_bundle(b)
    roster = server.close_advertise_keys()
    shares = [c.share_keys(roster, seed) for c in clients]
    for m in shares:
        server.add_shares(m)
    inbox = server.close_share_keys()
    rng = np.random.default_rng(0)
    drop = set(rng.choice(n, size=round(dropout * n), replace=False).tolist())
    masked = []
    for i, c in enumerate(clients):
        if i in drop:
            continue
        x = rng.integers(0, 1 << 16, size=length, dtype=np.uint32)
        x[0] = 1
        msg = c.masked_input(x, inbox[c.address])
        store.put(msg.vector)
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 1)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
        masked.append((c.address, commitment, msg.dropouts))
    request = server.close_masked_input()
    by_address = {c.address: c for c in clients}
    responses = [by_address[u].unmask(request) for u in request.survivors]
    with (work / "messages.pickle").open("wb") as fh:
        pickle.dump((seed, bundles, shares, masked, responses), fh)


def _serve(
    n: int, length: int, k: int, t: int, engines: list[str], work: Path, *, trace: bool = True
) -> dict:
    """Measured: a fresh SecAggServer replays the round as the coordinator does (vectors read
    from the blob store one at a time) in a process of its own."""
    from fedledger.secagg.crypto.kdf import PRG_SELF_INFO
    from fedledger.secagg.crypto.prg import fold_streams
    from fedledger.secagg.engine import make_engine
    from fedledger.secagg.masking import recompute_aggregate
    from fedledger.secagg.server import SecAggServer
    from fedledger.store.filesystem import FilesystemBlobStore

    ctx, params, k, t = _setup(n, length, k, t)
    with (work / "messages.pickle").open("rb") as fh:
        seed, bundles, shares, masked, responses = pickle.load(fh)
    store = FilesystemBlobStore(work / "blobs", fsync=False)
    server = SecAggServer(
        ctx,
        params,
        seed=seed,
        vector_length=length,
        min_survivors=t,
        blobs=lambda digest: store.get(digest.hex()),
    )
    for b in bundles:
        server.add_bundle(b)
    roster = server.close_advertise_keys()
    for m in shares:
        server.add_shares(m)
    server.close_share_keys()
    del bundles, shares

    if trace:  # tracing every allocation slows big-integer (Shamir) work several times over
        tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    for sender, commitment, dropouts in masked:
        blob = store.get(commitment.masked_hash.hex())  # as the journal's "masked" entry does
        server.add_masked_input(sender, blob, commitment, dropouts=dropouts)
        del blob
    server.close_masked_input()
    stage3 = time.perf_counter() - t0
    for r in responses:
        server.add_unmask(r)
    t0 = time.perf_counter()
    result = server.close_unmask()
    close_unmask = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Each engine on the same public material (the running sum and the reveal).
    reveal = result.reveal
    neighbours = {a: list(server._neigh[a]) for a in roster.addresses}
    surv = set(result.survivors)
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
    streams = len(surv) + sum(
        len([u for u in neighbours[v] if u in surv]) for v in reveal.mask_keys
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
    for _ in range(len(surv)):
        np.add(acc, v, out=acc)
    numpy_sum = time.perf_counter() - t0
    return {
        "n": n,
        "length": length,
        "k": server.graph.degree if server.graph else k,
        "t": t,
        "survivors": len(surv),
        "dropped_with_revealed_key": len(reveal.mask_keys),
        "streams_regenerated": streams,
        "stage3to5_traced_growth_mib": round((peak - base) / 2**20, 2) if trace else None,
        "held_vectors_mib": round(len(surv) * length * 4 / 2**20, 2),
        "server_max_rss_mib": round(rss, 1),
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
    parser.add_argument(
        "--untraced",
        action="store_true",
        help="no tracemalloc: stage times as a real server pays them (no traced growth)",
    )
    parser.add_argument("--make", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    k, t = args.neighbours, args.threshold
    if args.make is not None:
        _make(args.make, args.length, k, t, args.dropout, args.work)
        return
    if args.serve is not None:
        row = _serve(args.serve, args.length, k, t, engines, args.work, trace=not args.untraced)
        print(json.dumps(row))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-unmask-") as tmp:
            for phase in ("--make", "--serve"):
                argv = [sys.executable, __file__, phase, str(n), "--work", tmp]
                out = subprocess.run([*argv, *_passthrough(args)], capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"n={n} {phase} failed ({out.returncode}):\n{out.stderr[-3000:]}")
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
        *(["--untraced"] if args.untraced else []),
    ]


if __name__ == "__main__":
    main()
