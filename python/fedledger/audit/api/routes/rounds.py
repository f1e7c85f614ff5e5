"""/api/rounds: list, detail (roster, commitments, gas) and verification of each round."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from fedledger.audit.api.deps import PageDep, RoundIdDep, ServiceDep
from fedledger.audit.api.schemas import (
    CommitmentPublic,
    MemberPublic,
    RoundDetail,
    RoundPublic,
    RoundsPublic,
    SlashPublic,
    VerificationPublic,
)
from fedledger.audit.service import AuditService, decode_json
from fedledger.secagg.constants import MASKED_INPUT, SHARE_KEYS, UNMASK

router = APIRouter(prefix="/rounds", tags=["rounds"])


def _summary(service: AuditService, row: dict[str, Any]) -> dict[str, Any]:
    rid = int(row["round"])
    committed = service.query("SELECT COUNT(*) AS n FROM commitments WHERE round = ?", (rid,))[0][
        "n"
    ]
    cached = service.indexer.cached_verification(rid)
    return {
        "round": rid,
        "stage": row["stage"],
        "model_hash": row["model_hash"],
        "new_model_hash": row["new_model_hash"],
        "members": len(decode_json(row["members"], [])),
        "committed": int(committed),
        "survivors": len(decode_json(row["survivors"], [])),
        "opened_block": row["opened_block"],
        "closed_block": row["closed_block"],
        "failure_reason": row["failure_reason"],
        "total_weight": row["total_weight"],
        "verified": None if cached is None else bool(cached["ok"]),
        "failed_checks": [] if cached is None else list(cached["failed"]),
    }


def _row(service: AuditService, round_id: int) -> dict[str, Any]:
    rows = service.query("SELECT * FROM rounds WHERE round = ?", (round_id,))
    if not rows:
        raise HTTPException(
            status_code=404, detail=f"round {round_id}: not indexed (never opened?)"
        )
    return rows[0]


@router.get("/", response_model=RoundsPublic, summary="Rounds, newest first")
def list_rounds(service: ServiceDep, page: PageDep) -> RoundsPublic:
    """A page of rounds with their verification badge."""
    count = service.query("SELECT COUNT(*) AS n FROM rounds")[0]["n"]
    rows = service.query(
        "SELECT * FROM rounds ORDER BY round DESC LIMIT ? OFFSET ?", (page.limit, page.skip)
    )
    return RoundsPublic(data=[RoundPublic(**_summary(service, r)) for r in rows], count=int(count))


@router.get("/{round_id}", response_model=RoundDetail, summary="One round in full")
def read_round(round_id: RoundIdDep, service: ServiceDep) -> RoundDetail:
    """Roster with each member's fate, commitments with gas, transactions' gas, verification."""
    row = _row(service, round_id)
    commits = service.query(
        "SELECT * FROM commitments WHERE round = ? ORDER BY block_number", (round_id,)
    )
    rewards = {
        r["participant"]: r["amount"]
        for r in service.query("SELECT * FROM rewards WHERE round = ?", (round_id,))
    }
    gas = service.gas_of(
        [row["opened_tx"], row["roster_tx"], row["closed_tx"], *(c["tx_hash"] for c in commits)]
    )
    survivors = set(decode_json(row["survivors"], []))
    committed = {c["participant"] for c in commits}
    reveal = service.reveal(row["reveal_hash"])
    members = []
    for a in decode_json(row["members"], []):
        status, stage = "no_commit", None
        if a in survivors:
            status = "survivor"
            if reveal is not None and reveal.unmask_responses and a not in reveal.unmask_responses:
                stage = UNMASK  # survived but sent no unmask response
        elif reveal is not None and a in reveal.unshared:
            status, stage = "unshared", SHARE_KEYS
        elif a in committed:
            status = "committed_not_aggregated"
        elif reveal is not None and a in reveal.dropped:
            status, stage = "dropped", MASKED_INPUT
        elif row["stage"] in ("finalized", "failed"):
            stage = MASKED_INPUT if row["stage"] == "finalized" else None
        members.append(
            MemberPublic(
                address=a,
                status=status,
                stage_dropped=stage,
                committed=a in committed,
                reward=rewards.get(a),
            )
        )
    tx_gas = {
        kind: gas[tx]
        for kind, tx in (
            ("openRound", row["opened_tx"]),
            ("postRoster", row["roster_tx"]),
            ("finalize" if row["stage"] == "finalized" else "failRound", row["closed_tx"]),
        )
        if tx in gas
    }
    commit_gas = [gas[c["tx_hash"]] for c in commits if c["tx_hash"] in gas]
    if commit_gas:
        tx_gas["commit_total"] = sum(commit_gas)
    cached = service.indexer.cached_verification(round_id)
    return RoundDetail(
        **_summary(service, row),
        seed=row["seed"],
        config=decode_json(row["config"], {}),
        roster_hash=row["roster_hash"],
        aggregate_hash=row["aggregate_hash"],
        reveal_hash=row["reveal_hash"],
        commit_deadline=row["commit_deadline"],
        unmask_deadline=row["unmask_deadline"],
        roster=members,
        commitments=[CommitmentPublic(**c, gas_used=gas.get(c["tx_hash"])) for c in commits],
        gas=tx_gas,
        verification=VerificationPublic(**cached) if cached else None,
        slashes=[SlashPublic(**s) for s in service.slashes(round_id=round_id)],
        metrics=service.metrics(round_id),
    )


@router.get("/{round_id}/verification", response_model=VerificationPublic, summary="Audit report")
def read_verification(
    round_id: RoundIdDep,
    service: ServiceDep,
    refresh: bool = Query(False, description="recompute instead of using the cached report"),
) -> VerificationPublic:
    """Every named check of the round (computed on first request, then cached)."""
    _row(service, round_id)
    return VerificationPublic(**service.verify(round_id, refresh=refresh))
