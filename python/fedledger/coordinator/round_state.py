"""One round's in-memory state as the coordinator rebuilds it from its journal, and entry forms."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedledger.chain.datatypes import RoundConfig, RoundInfo, TxResult
from fedledger.chain.round_log import SlashReason
from fedledger.encoding import to_hex
from fedledger.secagg.constants import ADVERTISE_KEYS
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    Roster,
    UnmaskRequest,
)
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.server import AggregationResult, SecAggServer

__all__ = [
    "FAILING",
    "RoundState",
    "add_time",
    "info_to_json",
    "slash_plan",
    "tx_json",
]

FAILING = "failing"  # aborted off chain, failRound not yet mined


def add_time(timings: dict[str, float], kind: str, t0: float) -> None:
    """Add the time since perf_counter() `t0` to `timings[kind]` (chain, store or secagg)."""
    timings[kind] = timings.get(kind, 0.0) + (time.perf_counter() - t0)


def slash_plan(result: AggregationResult) -> list[tuple[str, SlashReason]]:
    """Who to slash after a finalized round, in roster order, and why.

    NO_UNMASK_RESPONSE: a survivor whose shares were needed (a neighbour's secret was
    reconstructed, `AggregationResult.unmask_needed`) but whose response was not accepted.
    BAD_SHARE: every responder blamed for a share off its owner's polynomial (`cheaters`).
    """
    answered = set(result.responders)
    out = [(u, SlashReason.NO_UNMASK_RESPONSE) for u in result.unmask_needed if u not in answered]
    out += [(a, SlashReason.BAD_SHARE) for a in result.responders if a in result.cheaters]
    return out


def info_to_json(info: RoundInfo) -> dict[str, Any]:
    """The journal's form of an on-chain round record at open."""
    return {
        "round": info.round,
        "modelHash": to_hex(info.model_hash),
        "seed": to_hex(info.seed),
        "config": info.config.to_json(),
        "openedBlock": info.opened_block,
        "commitDeadline": info.commit_deadline,
        "unmaskDeadline": info.unmask_deadline,
    }


def tx_json(call: str, tx: TxResult | None, at: float) -> dict[str, Any]:
    """The journal entry of an aggregator transaction (None: found mined after a restart)."""
    if tx is None:  # found already mined after a restart: the receipt is not ours to know
        return {"t": "tx", "call": call, "gas": None, "hash": None, "block": None, "at": at}
    return {
        "t": "tx",
        "call": call,
        "gas": tx.gas_used,
        "hash": tx.tx_hash,
        "block": tx.block_number,
        "at": at,
    }


@dataclass
class RoundState:
    """In-memory state of one round, rebuilt from its journal."""

    round_id: int
    ctx: RoundContext
    config: RoundConfig
    params: SecAggParams
    info: dict[str, Any]
    model_hash: bytes
    seed: bytes
    expected: int
    server: SecAggServer
    stage: str = ADVERTISE_KEYS
    times: dict[str, float] = field(default_factory=dict)  # transition -> clock time
    txs: dict[str, dict[str, Any]] = field(default_factory=dict)
    commit_deadline: int = 0
    unmask_deadline: int = 0
    roster: Roster | None = None
    roster_hash: bytes = b""
    sample_seed: bytes | None = None  # set by postCandidates when the round samples its cohort
    bundles: dict[str, KeyBundle] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # signed bundle -> unusable key
    shares: dict[str, bytes] = field(default_factory=dict)
    """Sharer -> digest of its accepted message's wire form (the shares are in the spool)."""
    inbox: Mapping[str, list[EncryptedShare]] = field(default_factory=dict)
    """Per sharer, the shares addressed to it (read from the spool on demand)."""
    masked: dict[str, tuple[bytes, bytes, str]] = field(default_factory=dict)  # hash, seedc, source
    reports: dict[str, LocalDropouts] = field(default_factory=dict)  # signed local dropouts
    uploads: dict[str, str] = field(default_factory=dict)  # account -> its one blob (quota)
    bad_commits: dict[str, str] = field(default_factory=dict)
    """Sharers whose on-chain commitment is provably unusable (blob malformed, or missing past
    the grace period), with why: dropouts at once, no need to wait for the commit deadline."""
    missing_blobs: dict[str, tuple[bytes, float]] = field(default_factory=dict)
    """Committers whose blob is not in the store yet: masked hash, when first seen (not
    journaled; a restart starts the grace period again)."""
    request: UnmaskRequest | None = None
    responses: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    """Responder -> (shares hash, digest of the wire form); the shares are in the spool."""
    result: AggregationResult | None = None
    new_model: bytes = b""
    reason: str = ""
    abort_stage: str = ""
    detail: str = ""
    outcome: str = ""
    report_hash: str = ""
    registered: set[str] = field(default_factory=set)
    swept: int = 0  # on-chain commit count at the last sweep of UpdateCommitted events
    swept_at_close: bool = False  # the sweep after the commit window closed (accepting) ran
    blocked: bool = False  # finalize must wait for the on-chain commit deadline
    slashes: dict[str, dict[str, Any]] = field(default_factory=dict)  # account -> journal entry
