"""/api/metrics: per-round accuracy as reported by the aggregator (never verified)."""

from __future__ import annotations

from fastapi import APIRouter

from fedledger.audit.api.deps import ServiceDep
from fedledger.audit.api.schemas import AccuracyPoint, AccuracyPublic

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/accuracy", response_model=AccuracyPublic, summary="Accuracy per round (reported)")
def read_accuracy(service: ServiceDep) -> AccuracyPublic:
    """Finalized rounds whose aggregator report gives an accuracy; empty when none is known."""
    points = []
    for r in service.query("SELECT round FROM rounds WHERE stage = 'finalized' ORDER BY round"):
        m = service.metrics(int(r["round"]))
        if m.get("accuracy") is not None:
            points.append(
                AccuracyPoint(round=int(r["round"]), accuracy=m["accuracy"], loss=m.get("loss"))
            )
    return AccuracyPublic(data=points)
