"""The coordinator process SIGKILLed at every stage and restarted on the same state dir.

Round 1 loses it four times (keys, shares, masked input/commit, unmask); round 2 once more
while it waits for the on-chain commit deadline with the aggregate ready, just before
finalize (node 4 advertised keys and vanished, so finalize must wait). Nodes ride through
every outage on their HTTP retries; nothing is sent on chain twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

KINDS = ("keys", "shares", "masked", "unmask")


@pytest.mark.anvil
@pytest.mark.slow
def test_coordinator_killed_at_each_stage_resumes_and_finalizes_without_double_calls(
    federation: Callable[..., Any], figure: Callable[[dict[str, Any]], None]
) -> None:
    fed = federation(nodes=5, rounds=2, window=40, stage_timeout=20.0)
    fed.start(drops={4: ("share_keys", 2)})
    a = fed.addresses
    t_round = time.monotonic()

    def kill_and_restart(what: str, rnd: int) -> None:
        fed.kill_coordinator()
        t0 = time.monotonic()
        before = len(fed.journal(rnd))
        up = fed.start_coordinator()
        # recovered = the restarted process accepted a new message or made a transition
        fed.wait_for(lambda: len(fed.journal(rnd)) > before, f"progress after {what}", 120)
        figure(
            {
                "scenario": f"coordinator SIGKILL at {what}",
                "round": rnd,
                "restartSeconds": round(up, 1),
                "secondsToNextJournalEntry": round(time.monotonic() - t0, 1),
            }
        )

    for kind in KINDS:
        fed.wait_for(lambda kind=kind: fed.journaled(1, kind), f"a {kind} message", 150)
        kill_and_restart(kind, 1)

    fed.wait_for(lambda: fed.round_over(1), "round 1 over", 150)
    seconds_1 = time.monotonic() - t_round
    t_round = time.monotonic()
    fed.wait_for(
        lambda: (
            (fed.status() or {}).get("waitingFor") == "commit_deadline"
            and (fed.status() or {}).get("round") == 2
        ),
        "round 2 aggregate ready, finalize waiting for the commit deadline",
        150,
    )
    kill_and_restart("just before finalize", 2)
    fed.wait_for(lambda: fed.round_over(2), "round 2 over", 150)
    seconds_2 = time.monotonic() - t_round

    reports = {r: fed.report(r) for r in (1, 2)}
    audits = {r: fed.audit(r) for r in (1, 2)}
    agg_txs = fed.aggregator_txs()
    figure(
        {
            "scenario": "coordinator SIGKILL x5 (summary)",
            "outcomes": [reports[r]["outcome"] for r in (1, 2)],
            "survivors": [len(reports[r]["survivors"]) for r in (1, 2)],
            "roundSeconds": [round(seconds_1, 1), round(seconds_2, 1)],
            "aggregatorTxs": agg_txs,
            "audit": [audits[r].ok for r in (1, 2)],
        }
    )
    for r in (1, 2):
        assert reports[r]["outcome"] == "finalized", reports[r]
        assert audits[r].ok, audits[r].failed
    assert sorted(reports[1]["survivors"]) == sorted(a)  # nobody lost to the outages
    assert a[4] in reports[2]["roster"] and a[4] not in reports[2]["survivors"]
    assert len(reports[2]["survivors"]) == 4
    # exactly openRound, postRoster, finalize per round: no on-chain call repeated
    assert agg_txs == 3 * 2
    for r in (1, 2):
        for kind in KINDS:
            counts = Counter(fed.journaled(r, kind))
            assert all(n == 1 for n in counts.values()), (r, kind, counts)
        journal = fed.journal(r)
        calls = Counter(e["call"] for e in journal if e["t"] == "tx")
        calls += Counter(e["tx"]["call"] for e in journal if e["t"] == "opened")
        assert calls == Counter({"openRound": 1, "postRoster": 1, "finalize": 1}), calls
    assert fed.wait_nodes() == {i: 0 for i in range(5)}
    assert fed.starts["coordinator"] == 6
