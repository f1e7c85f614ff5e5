"""The indexer: resumes after a restart, re-reading adds nothing, a reorg is rolled back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fedledger.audit.indexer import Indexer
from fedledger.errors import ChainError
from tests.support.audit import run_round


def count(ix: Indexer, table: str) -> int:
    return int(ix.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_restart_resumes_from_the_last_indexed_block(world, store, tmp_path):
    db = tmp_path / "audit.db"
    run_round(world, store)
    first = Indexer(world.backend, world.deployment, db)
    first.sync()
    stopped_at, events = first.last_block, count(first, "events")
    first.close()

    run_round(world, store, seed=1)
    second = Indexer(world.backend, world.deployment, db)
    assert second.last_block == stopped_at
    result = second.sync()

    assert result["blocks"] == world.backend.block_number - stopped_at
    assert count(second, "events") == events + result["events"]
    assert [r[0] for r in second.conn.execute("SELECT round FROM rounds")] == [1, 2]


def test_rereading_the_same_blocks_adds_nothing(world, store, tmp_path):
    run_round(world, store, drop_before_commit=(0,))
    ix = Indexer(world.backend, world.deployment, tmp_path / "audit.db", chunk=7)
    assert ix.sync()["events"] > 0
    before = {
        t: count(ix, t) for t in ("events", "commitments", "rewards", "rounds", "participants")
    }

    again = ix.sync(from_block=0)

    assert again["events"] == 0 and again["blocks"] > 0
    assert {t: count(ix, t) for t in before} == before
    assert before["commitments"] == 4


def test_confirmations_hold_back_the_newest_blocks(world, store, tmp_path):
    run_round(world, store)
    ix = Indexer(world.backend, world.deployment, tmp_path / "audit.db", confirmations=3)
    ix.sync()
    assert ix.last_block == world.backend.block_number - 3
    assert ix.conn.execute("SELECT stage FROM rounds").fetchone()[0] != "finalized"


def test_reorg_rolls_back_and_reindexes_the_new_branch(world, store, tmp_path):
    ix = Indexer(world.backend, world.deployment, tmp_path / "audit.db")
    snap = world.backend.snapshot()
    models = dict(world.models)
    run_round(world, store, seed=1)
    ix.sync()
    ix.store_verification({"round": 1, "ok": True, "failed": [], "block": 0})
    old_commits = {r[0] for r in ix.conn.execute("SELECT masked_hash FROM commitments")}

    world.backend.revert(snap)  # the branch with round 1 disappears ...
    world.models = models
    world.backend.mine(2)  # ... and a different, longer one replaces it
    run_round(world, store, drop_before_commit=(4,), seed=2)
    result = ix.sync()

    assert result["rolled_back"] > 0
    new_commits = {r[0] for r in ix.conn.execute("SELECT masked_hash FROM commitments")}
    assert len(new_commits) == 4 and not new_commits & old_commits
    assert ix.cached_verification(1) is None  # audits of the old branch are dropped


def test_database_of_another_deployment_is_refused(world, tmp_path):
    db = tmp_path / "audit.db"
    Indexer(world.backend, world.deployment, db).close()
    other = replace(
        world.deployment,
        addresses={
            **world.deployment.addresses,
            "RoundLog": world.deployment.addresses["RoundParams"],
        },
    )
    with pytest.raises(ChainError, match="another deployment"):
        Indexer(world.backend, other, db)
