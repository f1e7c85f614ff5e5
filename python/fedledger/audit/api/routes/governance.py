"""/api/governance: round parameters in force, their history, proposals and votes."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path

from fedledger.audit.api.deps import PageDep, ServiceDep
from fedledger.audit.api.schemas import (
    GovernanceParamsPublic,
    ProposalPublic,
    ProposalsPublic,
    VotePublic,
    VotesPublic,
)
from fedledger.audit.service import AuditService, decode_json

router = APIRouter(prefix="/governance", tags=["governance"])

_TERMINAL = ("executed", "canceled")


def _proposal(service: AuditService, row: dict[str, object]) -> ProposalPublic:
    tallies = {0: 0, 1: 0, 2: 0}
    for v in service.query("SELECT support, weight FROM votes WHERE proposal_id = ?", (row["id"],)):
        tallies[int(v["support"])] = tallies.get(int(v["support"]), 0) + int(v["weight"])
    status = str(row["status"])
    return ProposalPublic(
        id=str(row["id"]),
        proposer=row["proposer"],  # type: ignore[arg-type]
        description=row["description"],  # type: ignore[arg-type]
        status=status,
        state=status if status in _TERMINAL else service.proposal_state(str(row["id"])),
        vote_start=row["vote_start"],  # type: ignore[arg-type]
        vote_end=row["vote_end"],  # type: ignore[arg-type]
        created_block=row["created_block"],  # type: ignore[arg-type]
        targets=decode_json(row["targets"], []),  # type: ignore[arg-type]
        votes_against=str(tallies[0]),
        votes_for=str(tallies[1]),
        votes_abstain=str(tallies[2]),
    )


@router.get("/params", response_model=GovernanceParamsPublic, summary="Round parameters")
def read_params(service: ServiceDep) -> GovernanceParamsPublic:
    """The configuration new rounds snapshot, and every RoundParamsUpdated so far."""
    updates = [
        {
            "block_number": r["block_number"],
            "tx_hash": r["tx_hash"],
            "config": decode_json(r["config"], {}),
        }
        for r in service.query("SELECT * FROM params_updates ORDER BY block_number, log_index")
    ]
    return GovernanceParamsPublic(current=service.current_params(), updates=updates)


@router.get("/proposals", response_model=ProposalsPublic, summary="Proposals, newest first")
def list_proposals(service: ServiceDep, page: PageDep) -> ProposalsPublic:
    """A page of governance proposals with vote tallies."""
    count = service.query("SELECT COUNT(*) AS n FROM proposals")[0]["n"]
    rows = service.query(
        "SELECT * FROM proposals ORDER BY created_block DESC LIMIT ? OFFSET ?",
        (page.limit, page.skip),
    )
    return ProposalsPublic(data=[_proposal(service, r) for r in rows], count=int(count))


@router.get(
    "/proposals/{proposal_id}/votes", response_model=VotesPublic, summary="Votes on a proposal"
)
def list_votes(
    service: ServiceDep,
    page: PageDep,
    proposal_id: str = Path(pattern=r"^[0-9]{1,78}$", description="decimal uint256 proposal id"),
) -> VotesPublic:
    """A page of votes on one proposal."""
    if not service.query("SELECT 1 FROM proposals WHERE id = ?", (proposal_id,)):
        raise HTTPException(status_code=404, detail=f"proposal {proposal_id}: not indexed")
    count = service.query("SELECT COUNT(*) AS n FROM votes WHERE proposal_id = ?", (proposal_id,))[
        0
    ]["n"]
    rows = service.query(
        "SELECT * FROM votes WHERE proposal_id = ? ORDER BY block_number, "
        "log_index LIMIT ? OFFSET ?",
        (proposal_id, page.limit, page.skip),
    )
    return VotesPublic(
        data=[VotePublic(**{k: r[k] for k in VotePublic.model_fields}) for r in rows],
        count=int(count),
    )
