"""The privacy_cost check: a round's on-chain epsilon cost and budget against the accountant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fedledger.chain.datatypes import DP_NONE
from fedledger.errors import FedledgerError
from fedledger.fl.dp_accountant import epsilon_cost_micros
from fedledger.secagg.checks import CheckFailed, Outcome

if TYPE_CHECKING:
    from fedledger.audit.verify import ChainAudit

__all__ = ["COST_TOLERANCE_MICROS", "privacy_cost"]

COST_TOLERANCE_MICROS = 1
"""Slack for the last digit: the accountant's floating point may differ across platforms."""


def privacy_cost(c: ChainAudit) -> Outcome:
    """The snapshot's epsilon cost is the accountant's, and the budget was charged with it."""
    config, event = c.info.config, c.chain.privacy
    if config.dp_mode == DP_NONE:
        if event is not None:
            raise CheckFailed("a round without DP charged the budget", None, dict(event.args))
        return "no DP: no epsilon cost", "no DP"
    try:
        expected = epsilon_cost_micros(config)
    except FedledgerError as exc:
        raise CheckFailed(f"accountant cannot price the snapshot: {exc}", None, None) from None
    recorded = config.epsilon_cost_micros
    if abs(recorded - expected) > COST_TOLERANCE_MICROS:
        raise CheckFailed(
            "recorded epsilon cost differs from the accountant's for the round's parameters",
            expected,
            recorded,
        )
    if event is None:
        raise CheckFailed("no PrivacyBudgetSpent event for a round with a cost", recorded, None)
    found = {k: int(event.args[k]) for k in ("costMicros", "spentMicros", "budgetMicros")}
    want = {
        "costMicros": recorded,
        "spentMicros": c.chain.spent_before + recorded,
        "budgetMicros": config.epsilon_budget_micros,
    }
    if found != want:
        raise CheckFailed("PrivacyBudgetSpent disagrees with the snapshot", want, found)
    if found["spentMicros"] > found["budgetMicros"]:
        raise CheckFailed("spent epsilon exceeds the budget", want, found)
    return {"epsilonCostMicros": expected, **want}, {"epsilonCostMicros": recorded, **found}
