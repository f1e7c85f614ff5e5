"""/api/rewards: reward totals per participant (accrued by RoundLog, claimed as tokens)."""

from __future__ import annotations

from fastapi import APIRouter

from fedledger.audit.api.deps import PageDep, ServiceDep
from fedledger.audit.api.schemas import RewardPublic, RewardsPublic

router = APIRouter(prefix="/rewards", tags=["rewards"])


@router.get("/", response_model=RewardsPublic, summary="Rewards per participant")
def list_rewards(service: ServiceDep, page: PageDep) -> RewardsPublic:
    """Accrued and claimed totals, largest accrued first (decimal strings: uint256 values)."""
    totals: dict[str, dict[str, int]] = {}
    for r in service.query("SELECT participant, amount FROM rewards"):
        t = totals.setdefault(r["participant"], {"accrued": 0, "claimed": 0, "rounds": 0})
        t["accrued"] += int(r["amount"])
        t["rounds"] += 1
    for r in service.query("SELECT participant, amount FROM claims"):
        totals.setdefault(r["participant"], {"accrued": 0, "claimed": 0, "rounds": 0})[
            "claimed"
        ] += int(r["amount"])
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1]["accrued"], kv[0]))
    data = []
    for a, t in ordered[page.skip : page.skip + page.limit]:
        stake = service.stake_state(a)
        data.append(
            RewardPublic(
                participant=a,
                accrued_total=str(t["accrued"]),
                claimed_total=str(t["claimed"]),
                rounds=t["rounds"],
                stake=stake["stake"],
                slashed_total=stake["slashed_total"],
            )
        )
    return RewardsPublic(data=data, count=len(ordered))
