"""anvil restarted from its state file between rounds and mid-round, while every first answer
of the coordinator to a node's write is lost on the way back (the node's retry resends it).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

KINDS = ("keys", "shares", "masked", "unmask")


@pytest.mark.anvil
@pytest.mark.slow
def test_anvil_restart_keeps_history_and_rounds_complete_despite_lost_http_answers(
    federation: Callable[..., Any],
    figure: Callable[[dict[str, Any]], None],
) -> None:
    seen: set[str] = set()

    def lose_first_answer(method: str, _path: str, body: bytes) -> str:
        """The coordinator processes every first POST/PUT, but its answer never arrives."""
        if method not in ("POST", "PUT"):
            return "pass"
        digest = hashlib.sha256(body).hexdigest()
        if digest in seen:
            return "pass"
        seen.add(digest)
        return "lose"

    fed = federation(nodes=4, rounds=2, window=30, stage_timeout=15.0)
    fed.start()
    proxy = fed.proxy
    proxy.rule = lose_first_answer

    fed.wait_for(lambda: fed.round_over(1), "round 1 over", 150)
    block_before = fed.chain.block_number
    down_between = fed.restart_chain()  # between rounds: round 2's openRound waits for it
    block_after = fed.chain.block_number

    fed.wait_for(lambda: fed.journaled(2, "shares"), "round 2 shares", 150)
    mid_block = fed.chain.block_number
    down_mid = fed.restart_chain()  # mid-round: commits and the roster's deadlines in flight
    assert fed.chain.block_number >= mid_block
    t0 = time.monotonic()
    fed.wait_for(lambda: fed.round_over(2), "round 2 over", 150)
    recovered = time.monotonic() - t0

    reports = {r: fed.report(r) for r in (1, 2)}
    audits = {r: fed.audit(r) for r in (1, 2)}  # round 1's history survived two restarts
    figure(
        {
            "scenario": "anvil restart between rounds + mid-round; lost HTTP answers",
            "anvilDownSeconds": [round(down_between, 2), round(down_mid, 2)],
            "blocksBeforeAfterRestart": [block_before, block_after],
            "outcomes": [reports[r]["outcome"] for r in (1, 2)],
            "survivors": [len(reports[r]["survivors"]) for r in (1, 2)],
            "secondsToFinishRound2AfterRestart": round(recovered, 1),
            "lostAnswers": proxy.stats["lose"],
            "audit": [audits[r].ok for r in (1, 2)],
        }
    )
    assert block_after >= block_before  # nothing rolled back, nothing lost
    for r in (1, 2):
        assert reports[r]["outcome"] == "finalized", reports[r]
        assert sorted(reports[r]["survivors"]) == sorted(fed.addresses)
        assert audits[r].ok, audits[r].failed
        for kind in KINDS:  # every write was answered only on its retry, applied once
            counts = Counter(fed.journaled(r, kind))
            assert sorted(counts) == sorted(fed.addresses) and set(counts.values()) == {1}
    assert fed.aggregator_txs() == 3 * 2  # openRound, postRoster, finalize: none repeated
    # each node's four messages and its masked-blob upload, per round, lost an answer once
    assert proxy.stats["lose"] >= 4 * 5 * 2
    assert fed.wait_nodes() == {i: 0 for i in range(4)}
