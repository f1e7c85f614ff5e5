"""Gas table of RoundLog's operations on the embedded chain (or --rpc), printed as JSON.

The roster is a Merkle root, so the aggregator's calls (openRound + postRoster + finalize) cost
the same at any roster size: `aggregator_per_round` lists them at each size and
`aggregator_ratio` is the largest over the smallest (issue 14: at most 1.2). A roster of n
members is n leaves of which `--committers` registered accounts commit; the other leaves are
random addresses nobody holds, so the committers sit at indexes spread over the tree and a
commit at n = 10,000 carries a real depth-14 proof. Committed weights live in each account's
ledger (docs/protocol.md 2.3), primed at registration, so every commit rewrites a non-zero
word: `commit_mean` and `commit_max` per size, and `commit_ok` is the largest size's max
against issue 14's 60k. finalize is measured in reward mode 0 (fixed) and mode 1 (by weight),
with no committer excluded, and once more at the largest size with three excluded
(`finalize_3_excluded`, each a proven roster member). `claim` mints one round's reward (a
proof of the roster's depth); `claim_batch` claims every measured round at once, after
`commit_archiving` (a round 56 later, whose commits reuse the ring word of the unclaimed
rounds: each copies that word to the archive first, the one commit that writes a fresh slot).
`sampled_cohort`: rounds whose cohortSize (1,000) samples the roster from n candidates, where
the aggregator also sends postCandidates and postRoster stores the sample seed (constant in n).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from eth_utils import keccak, to_checksum_address

from fedledger.chain import (
    RosterTree,
    SlashReason,
    connect,
    deploy_all,
    derive_accounts,
    fund,
)
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, DP_SGD
from fedledger.fl.dp_accountant import with_privacy

COMMIT_LIMIT = 60_000  # issue 14: commit at n = 10,000, proof included
EXCLUDED = 3  # committers excluded by the extra finalize measured at the largest size
RING_ROUNDS = 56  # RoundLog: LEDGER_WORDS (8) ring words of 7 rounds each
AGGREGATOR_RATIO_LIMIT = 1.2  # issue 14: aggregator gas per round, largest n over smallest
COHORT = 1_000  # cohortSize of the sampled rounds measured
TOKEN = 10**18
TREASURY = "0x" + "7e" * 20


def _filler(n: int) -> list[tuple[str, bytes]]:
    """Leaves nobody commits for: pseudo-random addresses, interleaved with the real members."""
    return [
        (to_checksum_address(keccak(b"filler%d" % i)[:20]), keccak(b"b%d" % i)) for i in range(n)
    ]


def _round(
    log: Any, aggregator: Any, people: list[Any], tree: RosterTree, model: bytes
) -> tuple[int, Any, Any, list[int]]:
    """Open, roster and commit from every one of `people`: (round, open tx, roster tx, gas)."""
    opened = log.open_round(model, sender=aggregator)
    rid = int(opened.named("RoundOpened")[0].args["round"])
    roster = log.post_roster(rid, b"\x02" * 32, tree.root, tree.count, sender=aggregator)
    commits = [
        log.commit(
            rid, bytes([i + 1]) * 32, b"\x03" * 32, weight=1 + (i * 977) % 4096,
            member=tree.member(rid, p.address), sender=p,
        ).gas_used
        for i, p in enumerate(people)
    ]  # fmt: skip
    return rid, opened, roster, commits


def _rounds(rpc: str | None, sizes: list[int], mode: int, k: int) -> dict[str, Any]:
    """One round per size (k committers, all survive but the excluded) on a fresh deployment."""
    backend = connect(rpc)
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    config = DEFAULT_ROUND_CONFIG.replace(reward_cap=10**30, reward_mode=mode)
    people = sorted(derive_accounts(f"gas-{mode}".encode(), k), key=lambda a: int(a.address, 16))
    contracts = deploy_all(
        backend,
        deployer=deployer,
        aggregator=aggregator.address,
        params=config,
        slash_recipient=TREASURY,
        genesis={people[0].address: 10 * TOKEN},
    ).attach(backend)
    fund(backend, deployer, [p.address for p in people], 10**17)
    register = [contracts.registry.register(p.address, sender=deployer) for p in people]
    staker = people[0]  # stakes before the first roster, so a slash moves tokens
    contracts.token.approve(contracts.registry.address, 10 * TOKEN, sender=staker)
    contracts.registry.stake(10 * TOKEN, sender=staker)
    log = contracts.round_log
    model = b"\x01" * 32
    rows: dict[str, Any] = {}
    claims = []
    entries = [(p.address, keccak(p.address.encode())) for p in people]
    trees = {n: RosterTree.build(entries + _filler(n - k)) for n in sizes}
    first_round = 0
    for n, exclude in [(n, 0) for n in sizes] + [(sizes[-1], EXCLUDED)]:
        tree = trees[n]
        rid, opened, roster, commits = _round(log, aggregator, people, tree, model)
        first_round = first_round or rid
        backend.advance_time(config.commit_window + 1)
        model = bytes([rid + 0x40]) * 32
        # The excluded: the last `exclude` committers (people[1] and people[2] claim below).
        excluded = [(p.address, tree.member(rid, p.address)) for p in people[k - exclude :]]
        fin = log.finalize(
            rid, aggregate_hash=b"\x04" * 32, reveal_hash=b"\x05" * 32, new_model_hash=model,
            excluded=excluded, sender=aggregator,
        )  # fmt: skip
        claim = log.claim([tree.member(rid, people[1].address)], sender=people[1]).gas_used
        claims.append(tree.member(rid, people[2].address))
        if exclude:
            rows[f"finalize_{exclude}_excluded"] = {"n": n, "gas": fin.gas_used}
            continue
        rows[str(n)] = {
            "depth": len(tree.member(rid, people[1].address).proof),
            "indexes": sorted(tree.index_of(p.address) for p in people),
            "openRound": opened.gas_used,
            "postRoster": roster.gas_used,
            "finalize": fin.gas_used,
            "excluded": len(excluded),
            "aggregator": opened.gas_used + roster.gas_used + fin.gas_used,
            "commit_mean": round(sum(commits) / len(commits)),
            "commit_max": max(commits),
            "claim": claim,
        }
        if len(rows) == 1:
            rows[str(n)]["slash"] = log.slash(
                rid, staker.address, member=tree.member(rid, staker.address),
                reason=SlashReason.NO_UNMASK_RESPONSE, evidence_hash=b"\x05" * 32,
                sender=aggregator,
            ).gas_used  # fmt: skip
    # Fail rounds until the next one reuses the first round's ring word (7 * 8 rounds later).
    while log.current_round() < first_round + RING_ROUNDS - 1:
        rid = int(log.open_round(model, sender=aggregator).named("RoundOpened")[0].args["round"])
        log.fail_round(rid, "gas report", sender=aggregator)
    rid, _, _, commits = _round(log, aggregator, people, trees[sizes[-1]], model)
    archiving = [g for p, g in zip(people, commits, strict=True) if p != people[1]]
    batch = log.claim(claims, sender=people[2])
    return {
        "rounds": rows,
        "register": max(r.gas_used for r in register),
        "commit_archiving": {"round": rid, "n": sizes[-1], "max": max(archiving)},
        "commit_after_claiming": commits[1],
        "claim_batch_from_archive": {"rounds": len(claims), "gas": batch.gas_used},
    }


def _sampled(rpc: str | None, sizes: list[int], cohort: int) -> dict[str, Any]:
    """postCandidates + the sampled postRoster at each candidate count (cohortSize `cohort`)."""
    backend = connect(rpc)
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    config = DEFAULT_ROUND_CONFIG.replace(cohort_size=cohort)
    log = (
        deploy_all(backend, deployer=deployer, aggregator=aggregator.address, params=config)
        .attach(backend)
        .round_log
    )
    rows: dict[str, Any] = {}
    for n in sizes:
        opened = log.open_round(b"\x01" * 32, sender=aggregator)
        rid = int(opened.named("RoundOpened")[0].args["round"])
        candidates = log.post_candidates(rid, keccak(b"c%d" % n), n, sender=aggregator)
        members = min(n, cohort)
        roster = log.post_roster(rid, b"\x02" * 32, keccak(b"r%d" % n), members, sender=aggregator)
        rows[str(n)] = {
            "members": members,
            "openRound": opened.gas_used,
            "postCandidates": candidates.gas_used,
            "postRoster": roster.gas_used,
        }
        log.fail_round(rid, "gas report", sender=aggregator)
    return {"cohortSize": cohort, "rounds": rows}


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


def measure(rpc: str | None, sizes: list[int], committers: int) -> dict[str, object]:
    """Gas of every RoundLog operation at each roster size, in both reward modes."""
    by_mode = {mode: _rounds(rpc, sizes, mode, committers) for mode in (0, 1)}
    per_round = {
        f"mode{m}": {str(n): res["rounds"][str(n)]["aggregator"] for n in sizes}
        for m, res in by_mode.items()
    }
    ratio = max(max(v.values()) / min(v.values()) for v in per_round.values())
    largest = str(sizes[-1])
    commit = max(res["rounds"][largest]["commit_max"] for res in by_mode.values())
    dp_first, dp_later = _dp_opens(rpc)
    sampled = _sampled(rpc, sizes, COHORT)
    extra = {
        n: row["postCandidates"] + row["postRoster"] - by_mode[0]["rounds"][n]["postRoster"]
        for n, row in sampled["rounds"].items()
    }
    return {
        "backend": "embedded eth-tester" if rpc is None else rpc,
        "sizes": sizes,
        "committers": committers,
        "aggregator_per_round": per_round,
        "aggregator_ratio": round(ratio, 4),
        "aggregator_ok": ratio <= AGGREGATOR_RATIO_LIMIT,
        "commit_by_size": {
            str(n): {
                "depth": by_mode[0]["rounds"][str(n)]["depth"],
                "mean": max(r["rounds"][str(n)]["commit_mean"] for r in by_mode.values()),
                "max": max(r["rounds"][str(n)]["commit_max"] for r in by_mode.values()),
            }
            for n in sizes
        },
        "commit_at_largest": {"n": sizes[-1], "max": commit},
        "claim_by_size": {str(n): by_mode[0]["rounds"][str(n)]["claim"] for n in sizes},
        "finalize_at_largest": {
            "excluded_0": by_mode[0]["rounds"][largest]["finalize"],
            f"excluded_{EXCLUDED}": by_mode[0]["rounds"][f"finalize_{EXCLUDED}_excluded"]["gas"],
        },
        "commit_archiving": max(r["commit_archiving"]["max"] for r in by_mode.values()),
        "register_with_priming": max(r["register"] for r in by_mode.values()),
        "commit_limit": COMMIT_LIMIT,
        "commit_ok": commit <= COMMIT_LIMIT,
        "sampled_cohort": sampled,
        "sampled_extra_per_round": extra,
        "openRound_dp_first": dp_first,
        "openRound_dp": dp_later,
        "raw": {f"mode{m}": res for m, res in by_mode.items()},
        "notes": "aggregator = openRound + postRoster + finalize (no committer excluded); "
        "commit mean/max over the committers of a round (primed at registration); "
        "commit_archiving: a commit that first archives a ring word still holding an unclaimed "
        "weight (once per 56 rounds per account that leaves rewards unclaimed); "
        "minStake 0 (a required stake adds two cold reads, ~4.2k, to each commit); "
        "slash moves 10 % of a 10 FLR stake to a treasury; sampled_cohort: a round with "
        f"cohortSize {COHORT} adds postCandidates and the sample seed to the roster, "
        "sampled_extra_per_round is what that adds to the aggregator's gas at each size",
    }


def main() -> int:
    """Print the gas report; exit 1 if a limit of issue 14 is exceeded."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: embedded eth-tester)")
    parser.add_argument("--sizes", default="10,1000,10000", help="roster sizes, ascending")
    parser.add_argument(
        "--committers", type=int, default=8, help="registered committers (<= the smallest size)"
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    report = measure(args.rpc, sizes, args.committers)
    print(json.dumps(report, indent=2))
    return 0 if report["commit_ok"] and report["aggregator_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
