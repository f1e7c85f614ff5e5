"""/api/participants: registry entries with their rounds, commitments and rewards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from fedledger.audit.api.deps import AddressDep, PageDep, ServiceDep
from fedledger.audit.api.schemas import (
    CommitmentPublic,
    ParticipantDetail,
    ParticipantPublic,
    ParticipantsPublic,
    SlashPublic,
    StakeEventPublic,
)
from fedledger.audit.service import AuditService, decode_json

router = APIRouter(prefix="/participants", tags=["participants"])


def _totals(service: AuditService, row: dict[str, Any]) -> dict[str, Any]:
    a = row["address"]
    rounds = [
        r
        for r in service.query("SELECT round, members, survivors FROM rounds")
        if a in decode_json(r["members"], [])
    ]
    accrued = sum(
        int(r["amount"])
        for r in service.query("SELECT amount FROM rewards WHERE participant = ?", (a,))
    )
    stake = service.stake_state(a)
    return {
        "address": a,
        "registered": bool(row["registered"]),
        "registered_block": row["registered_block"],
        "rounds": len(rounds),
        "survived": sum(1 for r in rounds if a in decode_json(r["survivors"], [])),
        "rewards_accrued": str(accrued),
        "stake": stake["stake"],
        "unlock_at": stake["unlock_at"],
        "slashed_total": stake["slashed_total"],
        "slash_count": len(service.slashes(account=a)),
    }


@router.get("/", response_model=ParticipantsPublic, summary="Registered (and past) participants")
def list_participants(service: ServiceDep, page: PageDep) -> ParticipantsPublic:
    """A page of participants by address."""
    count = service.query("SELECT COUNT(*) AS n FROM participants")[0]["n"]
    rows = service.query(
        "SELECT * FROM participants ORDER BY address LIMIT ? OFFSET ?", (page.limit, page.skip)
    )
    return ParticipantsPublic(
        data=[ParticipantPublic(**_totals(service, r)) for r in rows], count=int(count)
    )


@router.get("/{address}", response_model=ParticipantDetail, summary="One participant")
def read_participant(address: AddressDep, service: ServiceDep) -> ParticipantDetail:
    """The participant's rounds, commitments (with gas), rewards, stake history and slashes."""
    rows = service.query("SELECT * FROM participants WHERE address = ?", (address,))
    if not rows:
        raise HTTPException(status_code=404, detail=f"participant {address}: never registered")
    commits = service.query(
        "SELECT * FROM commitments WHERE participant = ? ORDER BY round", (address,)
    )
    gas = service.gas_of([c["tx_hash"] for c in commits])
    rewards = service.query(
        "SELECT round, amount, block_number, tx_hash FROM rewards "
        "WHERE participant = ? ORDER BY round",
        (address,),
    )
    claimed = sum(
        int(r["amount"])
        for r in service.query("SELECT amount FROM claims WHERE participant = ?", (address,))
    )
    round_ids = [
        int(r["round"])
        for r in service.query("SELECT round, members FROM rounds ORDER BY round")
        if address in decode_json(r["members"], [])
    ]
    return ParticipantDetail(
        **_totals(service, rows[0]),
        round_ids=round_ids,
        commitments=[CommitmentPublic(**c, gas_used=gas.get(c["tx_hash"])) for c in commits],
        rewards=rewards,
        claimed_total=str(claimed),
        stake_events=[StakeEventPublic(**e) for e in service.stake_state(address)["events"]],
        slashes=[SlashPublic(**s) for s in service.slashes(account=address)],
    )
