#!/usr/bin/env python3
"""Accuracy against epsilon for record-level DP-SGD (silos) and distributed DP (members), as JSON.

(a) `silos`: 10 silos, each trains with DP-SGD (Opacus; Poisson rate q, clip C) every round;
    epsilon is each silo's record-level epsilon after all rounds (RDP composition, the
    participant's own accountant). (b) `distributed`: n members (digits, logreg), each trains
    plainly and encodes its update with the real dpMode 2 encoding (secagg/encoding.py: clip,
    rotate, round, exact discrete Gaussian) so the sum of the n encodings carries noise
    multiplier z; the sum mod 2^32 (what SecAgg's unmasked sum is) is decoded as the
    coordinator and auditor decode it, and applied as weighted FedAvg. epsilon is the
    participant-level epsilon after all rounds. Each noise multiplier is the smallest that
    meets the target epsilon at delta (bisection on dp-accounting's RDP accountant).
    `epsilon: null` is the same run without DP.

Usage: .venv/bin/python scripts/bench_dp.py --json [--rounds 10] [--members 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import dp_accounting
import numpy as np
from dp_accounting.rdp import RdpAccountant

from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, DP_DISTRIBUTED
from fedledger.fl.datasets import Dataset, load_dataset
from fedledger.fl.dp_accountant import with_privacy
from fedledger.fl.dp_sgd import DpSgdParams, train_local_dp
from fedledger.fl.fedavg import PlainAggregate, fedavg_aggregate
from fedledger.fl.models import build_model, load_model_bytes, module_to_bytes
from fedledger.fl.partition import iid_partition, participant_data
from fedledger.fl.serialization import apply_aggregate
from fedledger.fl.train import LocalUpdate, TrainConfig, derive_seed, evaluate, train_local
from fedledger.secagg.encoding import decode_aggregate, encode_input
from fedledger.secagg.params import RoundContext

EPSILONS: tuple[float | None, ...] = (1.0, 2.0, 4.0, 8.0, None)
DELTA = 1e-5
BENCH_CONTRACT = "0x" + "00" * 19 + "01"  # the rotation seed binds a RoundLog address


def _epsilon(event: dp_accounting.DpEvent) -> float:
    acc = RdpAccountant()
    acc.compose(event)
    return float(acc.get_epsilon(DELTA))


def _progress(rows: list[dict[str, Any]], row: dict[str, Any]) -> None:
    """Keep `row` and print it to stderr at once: a long run shows its rows as they finish."""
    rows.append(row)
    print(json.dumps(row), file=sys.stderr, flush=True)


def noise_for(target: float, event_of: Callable[[float], dp_accounting.DpEvent]) -> float:
    """Smallest noise multiplier z (to 0.1 %) with epsilon(event_of(z)) <= target."""
    lo, hi = 0.1, 1.0
    while _epsilon(event_of(hi)) > target:
        lo, hi = hi, hi * 2
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if _epsilon(event_of(mid)) <= target else (mid, hi)
    return hi


def silos(ds: Dataset, *, rounds: int, seed: int) -> list[dict[str, Any]]:
    """10 silos, DP-SGD at each epsilon, plus the non-DP run with the same batch size."""
    n_silos, q, clip, lr = 10, 0.2, 1.0, 0.5
    part = iid_partition(len(ds.train), n_silos, seed=seed, min_size=5)
    shards = [participant_data(ds, part, u) for u in range(n_silos)]
    steps = round(1 / q)  # one expected epoch per round
    rows = []
    for eps in EPSILONS:
        module = build_model("logreg", n_features=ds.n_features, n_classes=ds.n_classes, seed=seed)
        model = module_to_bytes(module)
        z = None
        if eps is not None:
            z = noise_for(
                eps,
                lambda m: dp_accounting.SelfComposedDpEvent(
                    dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(m)),
                    rounds * steps,
                ),
            )
        for r in range(rounds):
            updates: list[LocalUpdate] = []
            for u, s in enumerate(shards):
                train_seed = derive_seed(seed, r, u)
                if z is None:
                    batch = max(1, round(q * len(s)))
                    cfg = TrainConfig(epochs=1, lr=lr, momentum=0.0, batch_size=batch)
                    updates.append(
                        train_local(module, model, s.X, s.y, config=cfg, seed=train_seed)
                    )
                else:
                    updates.append(
                        train_local_dp(
                            module,
                            model,
                            s.X,
                            s.y,
                            dp=DpSgdParams(z, clip, q, steps),
                            config=TrainConfig(lr=lr, momentum=0.0),
                            seed=train_seed,
                            noise_seed=train_seed + 1,
                        )
                    )
            model = apply_aggregate(model, fedavg_aggregate(r, updates))
        load_model_bytes(module, model)
        acc, _ = evaluate(module, ds.test.X, ds.test.y)
        _progress(
            rows,
            {
                "setting": "silos",
                "dataset": ds.name,
                "participants": n_silos,
                "epsilon": eps,
                "delta": DELTA if eps is not None else None,
                "accuracy": round(acc, 4),
                "noise_multiplier": round(z, 4) if z is not None else None,
            },
        )
    return rows


def distributed(ds: Dataset, *, members: int, rounds: int, seed: int) -> list[dict[str, Any]]:
    """`members` clients, one update each per round, through the real dpMode 2 encoding.

    Each member's update goes through `secagg.encoding.encode_input` under a RoundConfig with
    dpMode 2 (what a node does before masking: clip, weight, rotate, round, exact discrete
    Gaussian from its own ChaCha20 stream); the inputs are summed mod 2^32 (what SecAgg's
    unmasked sum is) and `decode_aggregate` decodes them as the coordinator and the auditor do.
    Masking itself is left out: it cancels exactly and costs time, not accuracy.
    """
    # Clip at about the median update norm (2.9 for this lr on digits), as DP-FedAvg advises:
    # a much smaller clip costs accuracy even without noise.
    clip, lr = 3.0, 0.5
    part = iid_partition(len(ds.train), members, seed=seed, min_size=1)
    shards = [participant_data(ds, part, u) for u in range(members)]
    max_weight = max(len(s.y) for s in shards)
    base = DEFAULT_ROUND_CONFIG.replace(
        min_participants=members, threshold=min(members, 4), max_weight=max_weight
    )
    rows = []
    for eps in EPSILONS:
        module = build_model("logreg", n_features=ds.n_features, n_classes=ds.n_classes, seed=seed)
        model = module_to_bytes(module)
        z = None
        if eps is not None:
            z = noise_for(
                eps,
                lambda m: dp_accounting.SelfComposedDpEvent(
                    dp_accounting.GaussianDpEvent(m), rounds
                ),
            )
            z = math.ceil(z * 1_000) / 1_000  # the chain's precision, rounded to more noise
        cfg = TrainConfig(epochs=1, lr=lr, momentum=0.0, batch_size=8)
        for r in range(rounds):
            updates = [
                train_local(module, model, s.X, s.y, config=cfg, seed=derive_seed(seed, r, u))
                for u, s in enumerate(shards)
            ]
            weights = [min(u.weight, max_weight) for u in updates]
            if z is None:
                total = np.sum(
                    [w * u.delta.astype(np.float64) for w, u in zip(weights, updates, strict=True)],
                    0,
                )
                decoded: Any = PlainAggregate(sum(weights), total)
            else:
                config = with_privacy(
                    base,
                    mode=DP_DISTRIBUTED,
                    noise_multiplier=z,
                    clip_norm=clip,
                    delta=DELTA,
                    epsilon_budget=1_000.0,
                )
                params = config.secagg_params()
                ctx = RoundContext(1, BENCH_CONTRACT, r + 1)
                summed = np.zeros(updates[0].delta.size + 1, dtype=np.uint32)
                for w, u in zip(weights, updates, strict=True):
                    summed += encode_input(u.delta, w, params, ctx=ctx, participants=members)
                decoded = decode_aggregate(
                    summed,
                    members,
                    params,
                    total_weight=sum(weights),
                    ctx=ctx,
                    participants=members,
                )
            model = apply_aggregate(model, decoded)
            print(f"distributed eps={eps} round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        load_model_bytes(module, model)
        acc, _ = evaluate(module, ds.test.X, ds.test.y)
        _progress(
            rows,
            {
                "setting": "distributed",
                "dataset": ds.name,
                "participants": members,
                "epsilon": eps,
                "delta": DELTA if eps is not None else None,
                "accuracy": round(acc, 4),
                "noise_multiplier": z,
                "encoding": "dpMode 2 (secagg.encoding)" if z is not None else None,
            },
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--members", type=int, default=1000, help="distributed-DP members")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--settings",
        choices=("all", "silos", "distributed"),
        default="all",
        help="which rows to run (each row is also printed to stderr as soon as it is done)",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if args.settings in ("all", "silos"):
        for name in ("breast_cancer", "digits"):
            rows += silos(load_dataset(name, seed=args.seed), rounds=args.rounds, seed=args.seed)
    if args.settings in ("all", "distributed"):
        digits = load_dataset("digits", seed=args.seed)
        rows += distributed(digits, members=args.members, rounds=args.rounds, seed=args.seed)
    out = {
        "rows": rows,
        "rounds": args.rounds,
        "seed": args.seed,
        "model": "logreg",
        "seconds": round(time.perf_counter() - t0, 1),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
