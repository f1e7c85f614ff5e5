"""Gas table of RoundLog's operations on the embedded chain (or --rpc), printed as JSON.

Per-member and per-survivor costs are fitted from two sizes (n1, n2):
slope = (gas(n2) - gas(n1)) / (n2 - n1), base = gas(n1) - slope * n1.
finalize is measured under reward mode 0 (fixed) and mode 1 (by committed weight), each on its
own deployment; slash moves a staked participant's tokens to a treasury (the transfer case): it
stakes before the first roster, since only stake held at roster time can be slashed.
Token calls are measured twice: for an account that never delegated (`claimRewards`, `stake`)
and for a self-delegated one (`*_delegated`: genesis holders are; ERC20Votes then writes a vote
checkpoint on every balance change, whatever the contract code).
"""

from __future__ import annotations

import argparse
import json
import sys

from fedledger.chain import (
    SlashReason,
    connect,
    deploy_all,
    derive_accounts,
    fund,
)
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, DP_SGD
from fedledger.fl.dp_accountant import with_privacy

COMMIT_LIMIT = 50_000
# Floor for one fresh storage slot plus a two-topic, 96-byte event (issue 2's yardstick + weight).
FRESH_SLOT_FLOOR = 44_800
TOKEN = 10**18
TREASURY = "0x" + "7e" * 20


def _rounds(rpc: str | None, sizes: tuple[int, int], mode: int) -> dict[int, dict[str, int]]:
    """Two rounds (sizes[0] and sizes[1] members, all survive) on a fresh deployment."""
    backend = connect(rpc)
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    config = DEFAULT_ROUND_CONFIG.replace(reward_cap=10**30, reward_mode=mode)
    # Disjoint member sets, so every survivor's reward slot is fresh in both rounds (worst case).
    people = derive_accounts(f"gas-report-{mode}".encode(), sum(sizes))
    contracts = deploy_all(
        backend,
        deployer=deployer,
        aggregator=aggregator.address,
        params=config,
        slash_recipient=TREASURY,
        genesis={p.address: 10 * TOKEN for p in people[:1]},
    ).attach(backend)
    fund(backend, deployer, [p.address for p in people], 10**17)
    for p in people:
        contracts.registry.register(p.address, sender=deployer)
    staker = people[0]  # genesis holder, self-delegated; stakes before the first roster
    contracts.token.approve(contracts.registry.address, 10 * TOKEN, sender=staker)
    staked = contracts.registry.stake(10 * TOKEN, sender=staker).gas_used
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
            log.commit(
                rid, bytes([i + 1]) * 32, b"\x03" * 32, weight=1 + (i * 977) % 4096, sender=m
            ).gas_used
            for i, m in enumerate(members)
        ]
        model = bytes([rid + 0x40]) * 32
        fin = log.finalize(
            rid, aggregate_hash=b"\x04" * 32, reveal_hash=b"\x05" * 32, new_model_hash=model,
            survivors=[m.address for m in members], sender=aggregator,
        )  # fmt: skip
        claim = log.claim_rewards(sender=members[1]).gas_used  # never delegated
        row = {
            "openRound": opened.gas_used,
            "postRoster": roster.gas_used,
            "commit_max": max(commits),
            "commit_min": min(commits),
            "finalize": fin.gas_used,
            "claimRewards": claim,
        }
        if offset == n:  # first round: the staker is a member; slash it, then stake a reward
            row["claimRewards_delegated"] = log.claim_rewards(sender=staker).gas_used
            row["stake_delegated"] = staked
            row["slash"] = log.slash(
                rid, staker.address, reason=SlashReason.NO_UNMASK_RESPONSE,
                evidence_hash=b"\x05" * 32, sender=aggregator,
            ).gas_used  # fmt: skip
            earner = members[1]
            contracts.token.approve(contracts.registry.address, TOKEN, sender=earner)
            row["stake"] = contracts.registry.stake(TOKEN, sender=earner).gas_used
        rows[n] = row
    return rows


def _dp_opens(rpc: str | None) -> tuple[int, int]:
    """openRound under a DP config: the first charge (fresh spent slot) and a later one."""
    backend = connect(rpc)
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    config = with_privacy(
        DEFAULT_ROUND_CONFIG, mode=DP_SGD, noise_multiplier=1.1, clip_norm=1.0, delta=1e-5,
        epsilon_budget=100.0, sample_rate=0.01, steps_per_round=100,
    )  # fmt: skip
    log = (
        deploy_all(backend, deployer=deployer, aggregator=aggregator.address, params=config)
        .attach(backend)
        .round_log
    )
    gas = []
    for _ in range(2):
        opened = log.open_round(b"\x01" * 32, sender=aggregator)
        gas.append(opened.gas_used)
        log.fail_round(log.current_round(), "gas report", sender=aggregator)
    return gas[0], gas[1]


def measure(rpc: str | None, sizes: tuple[int, int]) -> dict[str, object]:
    """Gas of every RoundLog operation; finalize fitted per survivor in both reward modes."""
    n1, n2 = sizes
    by_mode = {mode: _rounds(rpc, sizes, mode) for mode in (0, 1)}

    def fit(mode: int, key: str) -> dict[str, float]:
        a, b = by_mode[mode][n1], by_mode[mode][n2]
        slope = (b[key] - a[key]) / (n2 - n1)
        return {"base": round(a[key] - slope * n1), "per_item": round(slope)}

    first = by_mode[0][n1]
    dp_first, dp_later = _dp_opens(rpc)
    commit = max(r["commit_max"] for rows in by_mode.values() for r in rows.values())
    return {
        "backend": "embedded eth-tester" if rpc is None else rpc,
        "sizes": list(sizes),
        "openRound": first["openRound"],
        "openRound_dp_first": dp_first,
        "openRound_dp": dp_later,
        "postRoster": fit(0, "postRoster"),
        "commit": commit,
        "commit_limit": COMMIT_LIMIT,
        "commit_ok": commit <= COMMIT_LIMIT,
        "commit_vs_fresh_slot_floor": round(commit / FRESH_SLOT_FLOOR, 3),
        "finalize_mode0": fit(0, "finalize"),
        "finalize_mode1": fit(1, "finalize"),
        "claimRewards": first["claimRewards"],
        "claimRewards_delegated": first["claimRewards_delegated"],
        "stake": first["stake"],
        "stake_delegated": first["stake_delegated"],
        "slash": first["slash"],
        "notes": "postRoster/finalize: base + per_item * n; finalize credits first-time survivors "
        "(fresh reward slot, the worst case); slash transfers 10 % of a 10 FLR stake to a "
        "treasury; openRound_dp*: a DP config charges the budget (first: the spent slot goes "
        "from zero)",
        "raw": {f"mode{m}": {str(k): v for k, v in rows.items()} for m, rows in by_mode.items()},
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
