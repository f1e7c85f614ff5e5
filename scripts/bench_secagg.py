"""Benchmark secagg against physical limits measured in the same run (prints JSON with --json).

Limits: raw AES-256-CTR keystream for the same bytes (client masking); keystream plus a
plain numpy sum of the same vectors (server unmask+sum); sha256 of the same blobs plus
sum plus keystream (verification). Figures are the best of several repeats, because
the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedledger.secagg import RoundContext, SecAggParams, build_graph, simulate_round, verify_round
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.keys import KeyPair
from fedledger.secagg.masking import apply_masks, pair_sign, pairwise_seed, recompute_aggregate

CTX = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1)


def best(fn: Callable[[], Any], repeats: int) -> float:
    """Minimum wall time of fn() over `repeats` runs, in milliseconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def keystream(streams: int, nbytes: int) -> Callable[[], None]:
    """Raw AES-256-CTR keystream for `streams` keys of `nbytes` each (the PRG's floor)."""
    zeros = memoryview(bytes(nbytes))
    out = bytearray(nbytes + 16)
    keys = [os.urandom(32) for _ in range(streams)]

    def run() -> None:
        for key in keys:
            Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update_into(zeros, out)

    return run


def fake_addresses(n: int) -> list[str]:
    return sorted("0x" + os.urandom(20).hex() for _ in range(n))


def bench_client(d: int, k: int, repeats: int) -> dict[str, Any]:
    length = d + 1
    x = np.random.default_rng(0).integers(0, 2**16, length, dtype=np.uint32)
    me, peers = "0x" + "11" * 20, fake_addresses(k)
    mine = KeyPair.generate()
    theirs = [KeyPair.generate() for _ in range(k)]

    def agree() -> list[tuple[bytes, int]]:
        return [
            (pairwise_seed(CTX, mine.private, p.public, me, v), pair_sign(me, v))
            for p, v in zip(theirs, peers, strict=True)
        ]

    pairs = agree()
    b = os.urandom(32)
    mask_ms = best(lambda: apply_masks(x, b, pairs), repeats)
    limit_ms = best(keystream(k + 1, 4 * length), repeats)
    return {
        "d": d,
        "k": k,
        "mask_ms": round(mask_ms, 3),
        "limit_keystream_ms": round(limit_ms, 3),
        "ratio": round(mask_ms / limit_ms, 2),
        "key_agreement_ms": round(best(agree, repeats), 3),
    }


def bench_server(n: int, d: int, drop: float, k: int, repeats: int) -> dict[str, Any]:
    length = d + 1
    rng = np.random.default_rng(n)
    addresses = fake_addresses(n)
    keys = {a: KeyPair.generate() for a in addresses}
    graph = build_graph(n, k, os.urandom(32))
    neighbours = {a: [addresses[j] for j in graph.neighbours(i)] for i, a in enumerate(addresses)}
    n_drop = round(drop * n)
    dropped = set(addresses[:: max(1, n // n_drop)][:n_drop]) if n_drop else set()
    survivors = [a for a in addresses if a not in dropped]
    vectors = {a: rng.integers(0, 2**32, length, dtype=np.uint32) for a in survivors}
    seeds = {a: os.urandom(32) for a in survivors}
    mask_keys = {v: keys[v].private for v in dropped if set(neighbours[v]) & set(survivors)}
    pairs = sum(len(set(neighbours[v]) & set(survivors)) for v in mask_keys)

    def unmask() -> np.ndarray:
        return recompute_aggregate(
            CTX,
            addresses=addresses,
            mask_keys_public={a: kp.public for a, kp in keys.items()},
            neighbours=neighbours,
            survivors=survivors,
            vectors=vectors,
            self_mask_seeds=seeds,
            mask_keys=mask_keys,
            length=length,
        )

    stream = keystream(len(survivors) + pairs, 4 * length)

    def limit() -> None:
        acc = np.zeros(length, dtype=np.uint32)
        for v in vectors.values():
            np.add(acc, v, out=acc)
        stream()

    def agree_only() -> None:
        for v, sk in mask_keys.items():
            for u in neighbours[v]:
                if u in vectors:
                    pairwise_seed(CTX, sk, keys[u].public, v, u)

    measured = best(unmask, repeats)
    floor = best(limit, repeats)
    agreement = best(agree_only, repeats)
    return {
        "n": n,
        "d": d,
        "k": k,
        "dropout": drop,
        "survivors": len(survivors),
        "dangling_pairs": pairs,
        "unmask_sum_ms": round(measured, 3),
        "limit_keystream_plus_sum_ms": round(floor, 3),
        "ratio": round(measured / floor, 2),
        "pair_key_agreement_ms": round(agreement, 3),
        "ratio_without_key_agreement": round((measured - agreement) / floor, 2),
    }


def bench_verify(n: int, d: int, repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    params = SecAggParams(neighbours=8, threshold=4, clip_range=1.0, quant_bits=16, max_weight=1000)
    updates = [(rng.uniform(-1, 1, d).astype(np.float32), 100) for _ in range(n)]
    drop = {"masked_input": {0}}
    transcript = simulate_round(updates, params=params, dropout=drop).transcript
    assert verify_round(transcript).ok
    blobs = [*transcript.masked_vectors.values(), transcript.aggregate]
    blobs += [transcript.old_model, transcript.new_model, transcript.roster, transcript.reveal]
    vectors = [
        np.frombuffer(b, dtype=np.uint32, offset=128) for b in transcript.masked_vectors.values()
    ]
    survivors = len(transcript.survivors)
    streams = keystream(survivors + 8, 4 * (d + 1))  # self masks + the dropped one's pairs

    def limit() -> None:
        for b in blobs:
            hashlib.sha256(b).digest()
        acc = np.zeros(d + 1, dtype=np.uint32)
        for v in vectors:
            np.add(acc, v, out=acc)
        streams()

    measured = best(lambda: verify_round(transcript), repeats)
    floor = best(limit, repeats)
    return {
        "n": n,
        "d": d,
        "verify_ms": round(measured, 3),
        "limit_sha256_sum_keystream_ms": round(floor, 3),
        "ratio": round(measured / floor, 2),
        "note": "verify also recovers n EIP-712 signatures and rebuilds the model (safetensors)",
    }


def bench_shamir(k: int, t: int, repeats: int) -> dict[str, Any]:
    secret = os.urandom(32)
    xs = list(range(1, k + 1))
    ys = shamir.share(secret, xs, t)
    points = list(zip(xs, ys, strict=True))[k - t :]
    return {
        "k": k,
        "t": t,
        "share_ms": round(best(lambda: shamir.share(secret, xs, t), repeats * 10), 4),
        "combine_ms": round(best(lambda: shamir.combine(points), repeats * 10), 4),
        "target_ms": 5.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    ds = [100_000] if args.quick else [100_000, 1_000_000]
    server_d = {n: 100_000 if args.quick else 1_000_000 for n in (10, 100)}
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "prg": "AES-256-CTR (cryptography/OpenSSL)",
        "client_masking": [bench_client(d, k, repeats) for d in ds for k in (8, 16, 32)],
        "server_unmask_sum": [
            bench_server(n, server_d[n], drop, 16, repeats)
            for n in (10, 100)
            for drop in (0.0, 0.1, 0.3)
        ],
        "verification": bench_verify(
            10, 100_000 if args.quick else 1_000_000, max(2, repeats // 2)
        ),
        "shamir": [bench_shamir(32, t, repeats) for t in (16, 32)],
        "targets": {"masking_ratio_max": 2.0, "unmask_sum_ratio_max": 2.0, "shamir_ms_max": 5.0},
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for section in ("client_masking", "server_unmask_sum", "shamir"):
            print(section)
            for row in out[section]:
                print("  ", row)
        print("verification", out["verification"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
