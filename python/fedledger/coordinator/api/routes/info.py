"""GET /v1/info: who this coordinator is (nodes compare it with their deployment record)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from fedledger.coordinator.api.deps import CoordinatorDep
from fedledger.coordinator.api.schemas import InfoPublic

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.get("/info", response_model=InfoPublic, response_model_by_alias=True)
def info(coordinator: CoordinatorDep, request: Request) -> InfoPublic:
    """Chain id, RoundLog, deployment record and aggregator of this coordinator."""
    return InfoPublic(
        chainId=coordinator.chain_id,
        roundLog=coordinator.contract,
        aggregator=coordinator.aggregator.address,
        deployment=coordinator.deployment.to_json(),
        model=coordinator.model_spec.to_json(),
        apiVersion=1,
        genesisModelHash=coordinator.genesis_hash.hex(),
        currentRound=coordinator.round_id,
        roundsPlanned=request.app.state.driver.rounds,
    )
