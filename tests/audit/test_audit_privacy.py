"""The privacy_cost check: an honest DP round passes, a wrongly priced one fails by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fedledger.audit.api import create_app
from fedledger.audit.privacy import privacy_cost
from fedledger.audit.service import AuditService
from fedledger.audit.transcript import AssembledRound, ChainRound
from fedledger.audit.verify import ChainAudit, verify_round_from_chain
from fedledger.chain import RoundInfo, Stage
from fedledger.chain.datatypes import DP_DISTRIBUTED, DecodedEvent, RoundConfig
from fedledger.fl.dp_accountant import epsilon_cost_micros, with_privacy
from fedledger.secagg.checks import CheckFailed
from fedledger.store import FilesystemBlobStore
from tests.support.audit import AUDIT_CONFIG, AuditWorld, govern, run_round

DDP = with_privacy(
    AUDIT_CONFIG,
    mode=DP_DISTRIBUTED,
    noise_multiplier=4.0,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=10.0,
)


def _dp_round(world: AuditWorld, store: FilesystemBlobStore, config: RoundConfig) -> int:
    """An honest round, a vote for `config`, then a round under it; returns the second round."""
    run_round(world, store)
    govern(world, world.participants[0], config, "turn on distributed DP", store)
    return run_round(world, store, seed=1).round_id


def test_audit_passes_a_round_whose_cost_is_the_accountants(
    world: AuditWorld, store: FilesystemBlobStore
) -> None:
    rid = _dp_round(world, store, DDP)
    report = verify_round_from_chain(world.backend, world.deployment, str(store.root), rid)
    assert report.ok, report.failed
    check = report.check("privacy_cost")
    assert check.found["spentMicros"] == DDP.epsilon_cost_micros
    assert check.found["budgetMicros"] == DDP.epsilon_budget_micros


def test_audit_fails_a_round_whose_recorded_cost_is_not_the_accountants(
    world: AuditWorld, store: FilesystemBlobStore
) -> None:
    cheap = replace(DDP, epsilon_cost_micros=DDP.epsilon_cost_micros // 2)
    rid = _dp_round(world, store, cheap)
    report = verify_round_from_chain(world.backend, world.deployment, str(store.root), rid)
    assert report.failed == ["privacy_cost"]
    check = report.check("privacy_cost")
    assert check.expected == epsilon_cost_micros(DDP)
    assert check.found == cheap.epsilon_cost_micros


def _info(config: RoundConfig) -> RoundInfo:
    z = bytes(32)
    return RoundInfo(3, Stage.FAILED, z, z, config, z, 0, 0, 0, 0, z, z, z, 7)


def _spent(cost: int, spent: int, budget: int) -> DecodedEvent:
    args = {"round": 3, "costMicros": cost, "spentMicros": spent, "budgetMicros": budget}
    return DecodedEvent("PrivacyBudgetSpent", args, "0x" + "11" * 20, 7, "0x" + "ab" * 32, 0)


def _audit(config: RoundConfig, event: DecodedEvent | None, spent_before: int) -> ChainAudit:
    chain = ChainRound(info=_info(config), privacy=event, spent_before=spent_before)
    return ChainAudit(AssembledRound(chain))


def test_privacy_cost_alone_fails_when_spent_does_not_add_the_cost_to_the_previous() -> None:
    cost, budget = DDP.epsilon_cost_micros, DDP.epsilon_budget_micros
    with pytest.raises(CheckFailed, match="PrivacyBudgetSpent disagrees") as failed:
        privacy_cost(_audit(DDP, _spent(cost, cost, budget), spent_before=cost))
    assert failed.value.expected["spentMicros"] == 2 * cost


def test_privacy_cost_alone_fails_when_a_dp_round_charged_nothing() -> None:
    with pytest.raises(CheckFailed, match="no PrivacyBudgetSpent"):
        privacy_cost(_audit(DDP, None, spent_before=0))


def test_privacy_cost_alone_fails_when_a_round_without_dp_charged_the_budget() -> None:
    with pytest.raises(CheckFailed, match="without DP charged"):
        privacy_cost(_audit(AUDIT_CONFIG, _spent(5, 5, 10), spent_before=0))


def test_privacy_cost_alone_passes_a_round_without_dp() -> None:
    assert privacy_cost(_audit(AUDIT_CONFIG, None, spent_before=0)) == (
        "no DP: no epsilon cost",
        "no DP",
    )


def test_api_privacy_shows_spent_and_remaining_budget(
    world: AuditWorld, store: FilesystemBlobStore, tmp_path: Path
) -> None:
    rid = _dp_round(world, store, DDP)
    service = AuditService(world.backend, world.deployment, str(store.root), tmp_path / "a.db")
    try:
        service.refresh()
        with TestClient(create_app(service)) as client:
            body = client.get("/api/privacy").json()
            verification = client.get(f"/api/rounds/{rid}/verification").json()
    finally:
        service.close()
    cost, budget = DDP.epsilon_cost_micros, DDP.epsilon_budget_micros
    assert body["dp_mode"] == DP_DISTRIBUTED
    assert body["epsilon_spent"] == cost / 1e6
    assert body["epsilon_remaining"] == (budget - cost) / 1e6
    assert body["rounds_left"] == (budget - cost) // cost
    assert body["noise_multiplier"] == 4.0
    assert verification["ok"] is True, verification["failed"]
