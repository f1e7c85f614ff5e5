"""The coordinator's relayed shares and unmask responses live in a per-round spool on disk:
memory holds none of them, the streamed reveal is the exact blob, a restart rebuilds it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.coordinator.spool import SPOOL_NAME, ShareSpool
from fedledger.encoding import sha256
from fedledger.errors import StoreError
from fedledger.secagg import RoundContext, SecAggParams, simulate_round, verify_round
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.holdings import MemoryHoldings
from fedledger.secagg.messages import EncryptedShare, Reveal, ShareKeysMessage, UnmaskResponse
from fedledger.sim.simulation import Simulation
from tests.support.reach import reachable

HELD = (EncryptedShare, ShareKeysMessage, UnmaskResponse)
PARAMS = SecAggParams(neighbours=6, threshold=3, clip_range=1.0, quant_bits=16, max_weight=1000)
CONFIG = DEFAULT_ROUND_CONFIG.replace(
    neighbours=4, threshold=3, reward_per_contribution=0, reward_cap=0, slash_bps=0
)


@pytest.fixture(scope="module")
def accounts() -> list:
    return [Account.create() for _ in range(24)]


def _updates(n: int) -> list:
    rng = np.random.default_rng(n)
    return [(rng.uniform(-1, 1, 4), int(rng.integers(1, 5000))) for _ in range(n)]


def _round(n: int, accounts: list, holdings, **kw):  # type: ignore[no-untyped-def]
    return simulate_round(
        _updates(n), params=PARAMS, accounts=accounts[:n], holdings=holdings, **kw
    )


@pytest.mark.parametrize("n", [8, 24])
def test_a_spooled_server_holds_no_share_or_response_whatever_n(
    n: int, accounts: list, tmp_path: Path
) -> None:
    spooled = _round(n, accounts, ShareSpool(tmp_path / "spool"))
    in_memory = _round(n, accounts, MemoryHoldings())

    held = reachable(spooled.result, HELD) + reachable(_holdings_of(spooled), HELD)

    assert held == {}, held
    # The same count over an in-memory server: what the spool takes off the heap.
    assert sum(reachable(_holdings_of(in_memory), HELD).values()) >= n * PARAMS.neighbours


def _holdings_of(sim):  # type: ignore[no-untyped-def]
    """The holdings behind a result (its reveal's lazy responses read from them)."""
    return sim.result.reveal.unmask_responses._holdings


def test_spooled_reveal_file_is_the_reveal_blob_byte_for_byte(
    accounts: list, tmp_path: Path
) -> None:
    sim = _round(
        7,  # k = 6: the complete graph, so 1 and 3 are neighbours
        accounts,
        ShareSpool(tmp_path / "spool"),
        dropout={"masked_input": [5]},
        bad_shares={0},
        garbage_shares=[(1, 3)],
    )
    result = sim.result
    assert result.reveal_file is not None and result.reveal.bad_shares and result.reveal.mask_keys
    streamed = result.reveal_file.read_bytes()

    assert streamed == result.reveal.to_bytes()  # to_bytes reads the spool, then one dumps
    assert sha256(streamed) == result.reveal_hash
    assert Reveal.from_bytes(streamed).to_bytes() == streamed
    assert verify_round(sim.transcript).ok


def test_a_message_refused_while_spooled_leaves_no_rows(accounts: list, tmp_path: Path) -> None:
    spool = ShareSpool(tmp_path / "spool")
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1)
    a, b = accounts[0], accounts[1]
    share = EncryptedShare(a.address, b.address, bytes(12 + 66 + 16)).signed(ctx, a.key)
    spool.add_shares(ShareKeysMessage(a.address, (share,)))
    spool._db.execute(
        "CREATE TRIGGER no_more BEFORE INSERT ON shares BEGIN SELECT RAISE(ABORT, 'full'); END"
    )

    with pytest.raises(StoreError, match="write failed"):
        spool.add_shares(ShareKeysMessage(a.address, (share, share)))

    assert spool.inbox(b.address) == [share]


def _open(sim: Simulation) -> int:
    round_id = sim.coordinator.open_round().round_id
    for p in sim.participants:
        p.start_round(round_id)
    return round_id


def test_restart_rebuilds_a_damaged_spool_from_the_journal(
    new_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = new_sim(tmp_path / "sim", participants=5, round_config=CONFIG, verify=False)
    try:
        round_id = _open(sim)
        for p in sim.participants:
            sim.coordinator.submit_keys(p.advertise_keys())
        sim.coordinator.tick()
        for p in sim.participants:
            sim.coordinator.submit_shares(p.share_keys())
        assert sim.coordinator.tick().stage == MASKED_INPUT
        before = {p.address: sim.coordinator.shares_for(p.address) for p in sim.participants}
        path = sim.state_dir / "coordinator" / "rounds" / f"{round_id:06d}" / SPOOL_NAME
        sim.coordinator.close()
        with sqlite3.connect(path) as db:  # a crash mid-write could leave any of this
            db.execute("DELETE FROM shares WHERE seq % 2 = 0")

        coordinator = sim.restart_coordinator()

        after = {p.address: coordinator.shares_for(p.address) for p in sim.participants}
        assert after == before
        assert all(len(v) == CONFIG.neighbours for v in after.values())
        assert sum(reachable(coordinator._book.round, HELD).values()) == 0
    finally:
        sim.close()


def test_a_finalized_round_keeps_no_share_or_response_in_memory(
    new_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = new_sim(tmp_path / "sim", participants=5, round_config=CONFIG, verify=False)
    try:
        result = sim.run_round()
        assert result.outcome == "finalized", result.reason

        state = sim.coordinator._book.round
        assert state is not None and state.result is not None
        assert reachable(state, HELD) == {}
        reveal = state.result.reveal_file
        assert reveal is not None and sha256(reveal.read_bytes()) == state.result.reveal_hash
        assert sim.store.has(state.result.reveal_hash.hex())
    finally:
        sim.close()
