"""/api/privacy: the epsilon budget governance set, what rounds spent, what remains."""

from __future__ import annotations

from fastapi import APIRouter

from fedledger.audit.api.deps import ServiceDep
from fedledger.audit.api.schemas import PrivacyPublic

router = APIRouter(prefix="/privacy", tags=["privacy"])

MICROS = 1_000_000


@router.get("", response_model=PrivacyPublic, summary="Privacy budget: spent and remaining")
def read_privacy(service: ServiceDep) -> PrivacyPublic:
    """Live from RoundParams and RoundLog; epsilon values are the on-chain millionths / 10^6."""
    p = service.privacy()
    budget, spent, cost = (
        p["epsilon_budget_micros"],
        p["epsilon_spent_micros"],
        p["epsilon_cost_micros"],
    )
    remaining = max(0, budget - spent)
    return PrivacyPublic(
        dp_mode=p["dp_mode"],
        noise_multiplier=p["noise_multiplier_millis"] / 1_000,
        clip_norm=p["dp_clip_norm_micros"] / MICROS,
        delta=p["dp_delta_atto"] / 10**18,
        epsilon_per_round=cost / MICROS,
        epsilon_budget=budget / MICROS,
        epsilon_spent=spent / MICROS,
        epsilon_remaining=remaining / MICROS,
        rounds_left=remaining // cost if cost else None,
    )
