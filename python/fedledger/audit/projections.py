"""The indexer's derived tables: one handler per event name, applied in chain order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from fedledger.chain.datatypes import RoundConfig

__all__ = ["HANDLERS", "TABLES", "IndexedEvent", "apply_event"]

TABLES = (
    "rounds",
    "commitments",
    "rewards",
    "claims",
    "participants",
    "params_updates",
    "proposals",
    "votes",
    "slashes",
    "stake_events",
    "slash_recipients",
)
"""The tables the handlers write: all rebuilt from the events table after a reorg."""

# Registry stake events -> (kind, amount field or None, stake-after field or None).
_STAKE_EVENTS = {
    "Staked": ("staked", "amount", "stake"),
    "UnstakeRequested": ("unstake_requested", None, "stake"),
    "StakeWithdrawn": ("withdrawn", "amount", None),
    "StakeSlashed": ("slashed", "amount", "stake"),
}


class IndexedEvent(NamedTuple):
    """One stored event: its name, JSON args and where it was emitted."""

    name: str
    args: dict[str, Any]
    block: int
    tx: str
    log_index: int


Handler = Callable[[sqlite3.Connection, IndexedEvent], None]


def _round_opened(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    config = RoundConfig.from_abi(a["config"]).to_json()
    c.execute(
        "INSERT OR REPLACE INTO rounds (round, stage, model_hash, "
        "seed, config, opened_block, opened_tx) VALUES (?, 'opened', "
        "?, ?, ?, ?, ?)",
        (a["round"], a["modelHash"], a["seed"], json.dumps(config), e.block, e.tx),
    )


def _roster_posted(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "UPDATE rounds SET stage = 'rostered', roster_hash = ?, "
        "members = ?, roster_tx = ?, commit_deadline = ?, unmask_deadline "
        "= ? WHERE round = ?",
        (
            a["rosterHash"],
            # The chain holds the roster's Merkle root only: the audit service fills the
            # members in from the roster blob once its tree proves to have that root.
            json.dumps([]),
            e.tx,
            a["commitDeadline"],
            a["unmaskDeadline"],
            a["round"],
        ),
    )


def _update_committed(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "INSERT OR IGNORE INTO commitments VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            a["round"],
            a["participant"],
            a["maskedUpdateHash"],
            a["seedCommitment"],
            e.block,
            e.tx,
            a.get("weight"),
        ),
    )


def _round_finalized(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "UPDATE rounds SET stage = 'finalized', aggregate_hash = "
        "?, reveal_hash = ?, new_model_hash = ?, survivors = ?, "
        "closed_block = ?, closed_tx = ?, total_weight = ? WHERE round = ?",
        (
            a["aggregateHash"],
            a["revealHash"],
            a["newModelHash"],
            json.dumps([]),  # committers minus the excluded: filled in with the members
            e.block,
            e.tx,
            a.get("totalWeight"),
            a["round"],
        ),
    )


def _participant_slashed(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "INSERT OR IGNORE INTO slashes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a["round"],
            a["account"],
            a["reasonCode"],
            a["evidenceHash"],
            str(a["amount"]),
            a["recipient"],
            e.block,
            e.tx,
        ),
    )


def _round_failed(c: sqlite3.Connection, e: IndexedEvent) -> None:
    c.execute(
        "UPDATE rounds SET stage = 'failed', failure_reason = ?, "
        "closed_block = ?, closed_tx = ? WHERE round = ?",
        (e.args["reason"], e.block, e.tx, e.args["round"]),
    )


def _reward_claimed(c: sqlite3.Connection, e: IndexedEvent) -> None:
    # What a round pays each survivor (the `rewards` table) is filled in with its survivors.
    a = e.args
    c.execute(
        "INSERT OR IGNORE INTO claims VALUES (?, ?, ?, ?, ?)",
        (e.tx, e.log_index, a["participant"], str(a["amount"]), e.block),
    )


def _participant_registered(c: sqlite3.Connection, e: IndexedEvent) -> None:
    c.execute(
        "INSERT INTO participants (address, registered, registered_block) VALUES (?, 1, ?) "
        "ON CONFLICT(address) DO UPDATE SET registered = 1, registered_block "
        "= excluded.registered_block, deregistered_block = NULL",
        (e.args["account"], e.block),
    )


def _participant_deregistered(c: sqlite3.Connection, e: IndexedEvent) -> None:
    c.execute(
        "INSERT INTO participants (address, registered, deregistered_block) "
        "VALUES (?, 0, ?) "
        "ON CONFLICT(address) DO UPDATE SET registered = 0, deregistered_block "
        "= excluded.deregistered_block",
        (e.args["account"], e.block),
    )


def _stake_event(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    kind, amount_key, stake_key = _STAKE_EVENTS[e.name]
    amount = a[amount_key] if amount_key else a["stake"]
    c.execute(
        "INSERT OR IGNORE INTO stake_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e.tx,
            e.log_index,
            a["account"],
            kind,
            str(amount),
            str(a[stake_key]) if stake_key else "0",  # a withdrawal empties the stake
            a.get("unlockAt"),
            a.get("recipient"),
            e.block,
        ),
    )


def _slash_recipient_updated(c: sqlite3.Connection, e: IndexedEvent) -> None:
    c.execute(
        "INSERT OR IGNORE INTO slash_recipients VALUES (?, ?, ?, ?)",
        (e.tx, e.log_index, e.block, e.args["recipient"]),
    )


def _round_params_updated(c: sqlite3.Connection, e: IndexedEvent) -> None:
    config = RoundConfig.from_abi(e.args["config"]).to_json()
    c.execute(
        "INSERT OR IGNORE INTO params_updates VALUES (?, ?, ?, ?)",
        (e.tx, e.log_index, e.block, json.dumps(config)),
    )


def _proposal_created(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "INSERT OR REPLACE INTO proposals (id, proposer, description, "
        "targets, calldatas, vote_start, vote_end, created_block, "
        "tx_hash, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'created')",
        (
            str(a["proposalId"]),
            a["proposer"],
            a["description"],
            json.dumps(a["targets"]),
            json.dumps(a["calldatas"]),
            a["voteStart"],
            a["voteEnd"],
            e.block,
            e.tx,
        ),
    )


def _vote_cast(c: sqlite3.Connection, e: IndexedEvent) -> None:
    a = e.args
    c.execute(
        "INSERT OR IGNORE INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e.tx,
            e.log_index,
            str(a["proposalId"]),
            a["voter"],
            a["support"],
            str(a["weight"]),
            a["reason"],
            e.block,
        ),
    )


def _proposal_queued(c: sqlite3.Connection, e: IndexedEvent) -> None:
    c.execute(
        "UPDATE proposals SET status = 'queued', eta = ? WHERE id = ?",
        (e.args["etaSeconds"], str(e.args["proposalId"])),
    )


def _proposal_closed(c: sqlite3.Connection, e: IndexedEvent) -> None:
    status = "executed" if e.name == "ProposalExecuted" else "canceled"
    c.execute(
        "UPDATE proposals SET status = ?, closed_block = ? WHERE id = ?",
        (status, e.block, str(e.args["proposalId"])),
    )


HANDLERS: dict[str, Handler] = {
    "RoundOpened": _round_opened,
    "RosterPosted": _roster_posted,
    "UpdateCommitted": _update_committed,
    "RoundFinalized": _round_finalized,
    "ParticipantSlashed": _participant_slashed,
    "RoundFailed": _round_failed,
    "RewardClaimed": _reward_claimed,
    "ParticipantRegistered": _participant_registered,
    "ParticipantDeregistered": _participant_deregistered,
    **dict.fromkeys(_STAKE_EVENTS, _stake_event),
    "SlashRecipientUpdated": _slash_recipient_updated,
    "RoundParamsUpdated": _round_params_updated,
    "ProposalCreated": _proposal_created,
    "VoteCast": _vote_cast,
    "VoteCastWithParams": _vote_cast,
    "ProposalQueued": _proposal_queued,
    "ProposalExecuted": _proposal_closed,
    "ProposalCanceled": _proposal_closed,
}
"""Event name -> the handler that projects it; events without one are stored only."""


def apply_event(c: sqlite3.Connection, e: IndexedEvent) -> None:
    """Update the derived tables for one event (also used to rebuild after a reorg)."""
    handler = HANDLERS.get(e.name)
    if handler is not None:
        handler(c, e)
