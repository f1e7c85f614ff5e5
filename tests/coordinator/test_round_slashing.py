"""Slashing after finalize on eth-tester with stakes: a survivor silent in unmask (reason 1),
a bad-share sender (reason 2), exact token balances, a crash between slash and journal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fedledger.audit.transcript import build_transcript
from fedledger.chain import (
    DEFAULT_ROUND_CONFIG,
    RoundConfig,
    SlashReason,
    Stage,
    fetch_events,
    slash_amount,
)
from fedledger.secagg.messages import Reveal
from fedledger.secagg.verify import verify_round
from fedledger.sim.simulation import Simulation
from tests.support.sim import GarbageShares

TOKEN = 10**18
STAKE = 100 * TOKEN
TREASURY = "0x000000000000000000000000000000000000dEaD"
CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=4, threshold=3, min_stake=STAKE, slash_bps=2_500)
N = 6


@pytest.fixture
def staked_sim(new_sim: Callable[..., Simulation]) -> Callable[..., Simulation]:
    """staked_sim(tmp_path, *, dropouts, config): six staked participants (100 FLR each)."""

    def make(
        tmp_path: Path,
        *,
        dropouts: dict[int, dict[int, str]] | None = None,
        config: RoundConfig = CONFIG,
    ) -> Simulation:
        return new_sim(
            tmp_path / "sim",
            participants=N,
            round_config=config,
            dropouts=dropouts or {},
            stake=STAKE,
            slash_recipient=TREASURY,
        )

    return make


@pytest.fixture
def dropout_sim(staked_sim: Callable[..., Simulation], tmp_path: Path) -> Iterator[Simulation]:
    s = staked_sim(tmp_path, dropouts={1: {2: "during_unmask"}})
    try:
        yield s
    finally:
        s.close()


def slash_events(sim: Simulation) -> list:
    return fetch_events(
        sim.chain,
        sim.contracts.round_log.address,
        from_block=sim.deployment.deploy_block,
        names=["ParticipantSlashed"],
    )


def test_a_survivor_silent_in_unmask_is_slashed_with_reason_1_and_exact_balances(
    dropout_sim: Simulation,
) -> None:
    sim = dropout_sim
    silent = sim.accounts[2].address
    result = sim.run_round()

    info = sim.contracts.round_log.get_round(1)
    assert result.outcome == "finalized" and info.stage == Stage.FINALIZED
    reveal = Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))
    assert silent in reveal.survivors and silent not in reveal.responders
    assert len(reveal.responders) == N - 1 and not reveal.bad_shares
    (ev,) = slash_events(sim)
    cut = slash_amount(STAKE, CONFIG.slash_bps)
    assert cut == 25 * TOKEN
    assert ev.args["account"] == silent
    assert ev.args["reasonCode"] == SlashReason.NO_UNMASK_RESPONSE
    assert bytes(ev.args["evidenceHash"]) == info.reveal_hash
    assert (ev.args["amount"], ev.args["recipient"]) == (cut, TREASURY)
    registry, token = sim.contracts.registry, sim.contracts.token
    assert registry.stake_of(silent) == (STAKE - cut, 0)
    for a in sim.accounts:
        if a.address != silent:
            assert registry.stake_of(a.address) == (STAKE, 0)
    assert token.balance_of(TREASURY) == cut
    assert token.balance_of(registry.address) == N * STAKE - cut
    assert token.balance_of(silent) == 0
    assert result.slashes == [
        {
            "account": silent,
            "reason": 1,
            "status": "slashed",
            "amount": cut,
            "hash": result.slashes[0]["hash"],
            "error": "",
        }
    ]
    report = verify_round(build_transcript(sim.chain, sim.contracts, sim.store, 1))
    assert report.ok, report.failed


def test_a_slash_mined_before_a_crash_is_neither_lost_nor_sent_again(
    dropout_sim: Simulation,
) -> None:
    sim = dropout_sim
    sim.run_round()
    journal = next((sim.state_dir / "coordinator" / "rounds").glob("*/journal.jsonl"))
    lines = journal.read_text().splitlines()
    kept = [ln for ln in lines if json.loads(ln)["t"] not in ("slash", "report")]
    assert len(kept) == len(lines) - 2
    journal.write_text("\n".join(kept) + "\n")  # the crash cut both entries

    coord = sim.restart_coordinator()
    coord.tick()

    assert len(slash_events(sim)) == 1
    report = coord.report(1)
    assert report is not None
    cut = slash_amount(STAKE, CONFIG.slash_bps)
    assert [(s["account"], s["amount"], s["hash"]) for s in report.slashes] == [
        (sim.accounts[2].address, cut, None)
    ]
    assert sim.contracts.registry.stake_of(sim.accounts[2].address) == (STAKE - cut, 0)


def test_a_garbage_share_sender_is_slashed_with_reason_2_and_the_round_finalizes(
    staked_sim: Callable[..., Simulation],
    tmp_path: Path,
) -> None:
    sim = staked_sim(tmp_path)
    try:
        cheater = sim.participants[4]
        cheater.__class__ = GarbageShares
        result = sim.run_round()

        info = sim.contracts.round_log.get_round(1)
        assert result.outcome == "finalized" and info.stage == Stage.FINALIZED
        reveal = Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))
        assert set(reveal.bad_shares) == {cheater.address}
        assert cheater.address in reveal.responders
        (ev,) = slash_events(sim)
        cut = slash_amount(STAKE, CONFIG.slash_bps)
        assert (ev.args["account"], ev.args["reasonCode"]) == (
            cheater.address,
            SlashReason.BAD_SHARE,
        )
        assert bytes(ev.args["evidenceHash"]) == info.reveal_hash
        assert sim.contracts.registry.stake_of(cheater.address) == (STAKE - cut, 0)
        assert sim.contracts.token.balance_of(TREASURY) == cut
        assert [s["reason"] for s in result.slashes] == [2]
        report = verify_round(build_transcript(sim.chain, sim.contracts, sim.store, 1))
        assert report.ok, report.failed
        held = len(reveal.unmask_responses[cheater.address].self_mask_shares)
        assert held == CONFIG.neighbours  # every share it held was shifted, so all are blamed
        assert report.check("slash_evidence").found == {"accused": 1, "badShares": held}
    finally:
        sim.close()


def test_nothing_is_slashed_when_the_snapshot_has_slash_bps_0(
    staked_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = staked_sim(
        tmp_path, dropouts={1: {2: "during_unmask"}}, config=replace(CONFIG, slash_bps=0)
    )
    try:
        result = sim.run_round()
        assert result.outcome == "finalized"
        assert slash_events(sim) == [] and result.slashes == []
        assert sim.contracts.registry.stake_of(sim.accounts[2].address) == (STAKE, 0)
    finally:
        sim.close()
