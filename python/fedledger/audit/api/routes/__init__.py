"""One APIRouter per resource of the auditor API."""

from fedledger.audit.api.routes import (
    governance,
    metrics,
    participants,
    privacy,
    rewards,
    rounds,
    slashes,
)

__all__ = ["governance", "metrics", "participants", "privacy", "rewards", "rounds", "slashes"]
