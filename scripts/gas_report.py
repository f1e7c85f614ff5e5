"""Gas table of RoundLog's operations on the embedded chain (or --rpc), printed as JSON.

Per-member and per-survivor costs are fitted from two sizes (n1, n2):
slope = (gas(n2) - gas(n1)) / (n2 - n1), base = gas(n1) - slope * n1.
"""

from __future__ import annotations

import argparse
import json
import sys

from fedledger.chain import RoundConfig, connect, deploy_all, derive_accounts, fund
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG

COMMIT_LIMIT = 50_000
# Floor for one fresh storage slot plus a two-topic, 64-byte event (issue 2's yardstick).
FRESH_SLOT_FLOOR = 44_800


def measure(rpc: str | None, sizes: tuple[int, int]) -> dict[str, object]:
    """Run two rounds (sizes[0] and sizes[1] members, all survive) and collect gas."""
    backend = connect(rpc)
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    config = RoundConfig(**{**DEFAULT_ROUND_CONFIG.to_json(), "reward_cap": 10**30})
    contracts = deploy_all(
        backend, deployer=deployer, aggregator=aggregator.address, params=config
    ).attach(backend)
    # Disjoint member sets, so every survivor's reward slot is fresh in both rounds (worst case).
    people = derive_accounts(b"gas-report", sum(sizes))
    fund(backend, deployer, [p.address for p in people], 10**17)
    for p in people:
        contracts.registry.register(p.address, sender=deployer)
    log = contracts.round_log
    model = b"\x01" * 32
    rows: dict[int, dict[str, int]] = {}
    offset = 0
    for n in sizes:
        members, offset = people[offset : offset + n], offset + n
        opened = log.open_round(model, sender=aggregator)
        rid = int(opened.named("RoundOpened")[0].args["round"])
        roster = log.post_roster(rid, b"\x02" * 32, [m.address for m in members], sender=aggregator)
        commits = [
            log.commit(rid, bytes([i + 1]) * 32, b"\x03" * 32, sender=m).gas_used
            for i, m in enumerate(members)
        ]
        model = bytes([rid + 0x40]) * 32
        fin = log.finalize(
            rid, aggregate_hash=b"\x04" * 32, reveal_hash=b"\x05" * 32, new_model_hash=model,
            survivors=[m.address for m in members], sender=aggregator,
        )  # fmt: skip
        claim = log.claim_rewards(sender=members[0]).gas_used
        rows[n] = {
            "openRound": opened.gas_used,
            "postRoster": roster.gas_used,
            "commit_max": max(commits),
            "commit_min": min(commits),
            "finalize": fin.gas_used,
            "claimRewards": claim,
        }
    n1, n2 = sizes
    a, b = rows[n1], rows[n2]

    def fit(key: str) -> dict[str, float]:
        slope = (b[key] - a[key]) / (n2 - n1)
        return {"base": round(a[key] - slope * n1), "per_item": round(slope)}

    commit = max(a["commit_max"], b["commit_max"])
    return {
        "backend": "embedded eth-tester" if rpc is None else rpc,
        "sizes": list(sizes),
        "openRound": a["openRound"],
        "postRoster": fit("postRoster"),
        "commit": commit,
        "commit_limit": COMMIT_LIMIT,
        "commit_ok": commit <= COMMIT_LIMIT,
        "commit_vs_fresh_slot_floor": round(commit / FRESH_SLOT_FLOOR, 3),
        "finalize": fit("finalize"),
        "claimRewards": a["claimRewards"],
        "notes": "postRoster/finalize: base + per_item * n; finalize credits first-time survivors "
        "(fresh reward slot, the worst case)",
        "raw": {str(k): v for k, v in rows.items()},
    }


def main() -> int:
    """Print the gas report; exit 1 if commit exceeds its limit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: embedded eth-tester)")
    parser.add_argument(
        "--sizes", default="5,13", help="two roster sizes (>= max(min, t+1)), e.g. 5,13"
    )
    args = parser.parse_args()
    n1, n2 = (int(x) for x in args.sizes.split(","))
    report = measure(args.rpc, (n1, n2))
    print(json.dumps(report, indent=2))
    return 0 if report["commit_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
