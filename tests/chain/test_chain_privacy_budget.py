"""The privacy budget on chain: RoundParams bounds the DP fields, RoundLog charges and refuses."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fedledger.chain import RoundParamsClient
from fedledger.chain.datatypes import DP_DISTRIBUTED, DP_SGD, RoundConfig
from fedledger.chain.deploy import _creation_code
from fedledger.chain.round_log import RoundLogClient
from fedledger.chain.tx import deploy_contract
from fedledger.fl.dp_accountant import with_privacy
from tests.support.chain import TEST_CONFIG, TREASURY, World, own_round_log, reverts

H = b"\x01" * 32

DDP = with_privacy(
    TEST_CONFIG,
    mode=DP_DISTRIBUTED,
    noise_multiplier=5.0,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=2.0,
)
SGD = with_privacy(
    TEST_CONFIG,
    mode=DP_SGD,
    noise_multiplier=1.1,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=8.0,
    sample_rate=0.01,
    steps_per_round=100,
)


def _params_of(world: World, log: RoundLogClient) -> RoundParamsClient:
    return RoundParamsClient(world.backend, log.wiring()[1])


def _open_and_fail(world: World, log: RoundLogClient) -> int:
    log.open_round(H, sender=world.aggregator)
    rid = log.current_round()
    log.fail_round(rid, "test", sender=world.aggregator)
    return rid


def test_budget_fits_two_rounds_of_the_test_config() -> None:
    # The scenario below needs budget // cost == 2.
    assert DDP.epsilon_budget_micros // DDP.epsilon_cost_micros == 2


def test_open_round_charges_the_cost_and_emits_privacy_budget_spent(world: World) -> None:
    log = own_round_log(world, DDP)
    result = log.open_round(H, sender=world.aggregator)
    [event] = result.named("PrivacyBudgetSpent")
    cost = DDP.epsilon_cost_micros
    assert event.args == {
        "round": 1,
        "costMicros": cost,
        "spentMicros": cost,
        "budgetMicros": DDP.epsilon_budget_micros,
    }
    assert log.epsilon_spent_micros() == cost
    assert log.get_round(1).config == DDP


def test_open_round_reverts_when_the_privacy_budget_is_exhausted(world: World) -> None:
    log = own_round_log(world, DDP)
    cost = DDP.epsilon_cost_micros
    _open_and_fail(world, log)
    _open_and_fail(world, log)  # failed rounds are not refunded
    with reverts(
        "RoundLogPrivacyBudgetExhausted",
        spentMicros=2 * cost,
        costMicros=cost,
        budgetMicros=DDP.epsilon_budget_micros,
    ):
        log.open_round(H, sender=world.aggregator)
    assert log.epsilon_spent_micros() == 2 * cost
    assert log.current_round() == 2


def test_open_round_succeeds_again_after_governance_raises_the_budget(world: World) -> None:
    log = own_round_log(world, DDP)
    _open_and_fail(world, log)
    _open_and_fail(world, log)
    raised = replace(DDP, epsilon_budget_micros=3 * DDP.epsilon_cost_micros)
    _params_of(world, log).set_config(raised, sender=world.deployer)
    assert _open_and_fail(world, log) == 3
    assert log.epsilon_spent_micros() == 3 * DDP.epsilon_cost_micros


def test_open_round_without_dp_charges_nothing(world: World) -> None:
    result = world.c.round_log.open_round(H, sender=world.aggregator)
    assert result.named("PrivacyBudgetSpent") == []
    assert world.c.round_log.epsilon_spent_micros() == 0


def test_dp_sgd_config_is_accepted_and_snapshotted(world: World) -> None:
    log = own_round_log(world, SGD)
    log.open_round(H, sender=world.aggregator)
    assert log.get_round(1).config == SGD
    assert log.epsilon_spent_micros() == SGD.epsilon_cost_micros


def _own_params(world: World, config: RoundConfig) -> RoundParamsClient:
    code = _creation_code("RoundParams", world.deployer.address, config.as_tuple(), TREASURY)
    result = deploy_contract(world.backend, world.deployer, bytecode=code, name="RoundParams")
    return RoundParamsClient(world.backend, result.contract_address or "")


@pytest.mark.parametrize(
    ("base", "change", "error", "args"),
    [
        (TEST_CONFIG, {"dp_mode": 3}, "RoundParamsUnsupportedDpMode", {"dpMode": 3}),
        (
            TEST_CONFIG,
            {"epsilon_cost_micros": 5},
            "RoundParamsEpsilonCostWithoutDp",
            {"epsilonCostMicros": 5},
        ),
        (DDP, {"noise_multiplier_millis": 0}, "RoundParamsZeroNoiseMultiplier", {}),
        (DDP, {"dp_clip_norm_micros": 0}, "RoundParamsZeroDpClipNorm", {}),
        (DDP, {"dp_delta_atto": 0}, "RoundParamsDeltaOutOfRange", {"dpDeltaAtto": 0}),
        (
            DDP,
            {"dp_delta_atto": 10**18},
            "RoundParamsDeltaOutOfRange",
            {"dpDeltaAtto": 10**18},
        ),
        (DDP, {"epsilon_cost_micros": 0}, "RoundParamsZeroEpsilonCost", {}),
        (
            DDP,
            {"epsilon_budget_micros": DDP.epsilon_cost_micros - 1},
            "RoundParamsEpsilonCostAboveBudget",
            {
                "epsilonCostMicros": DDP.epsilon_cost_micros,
                "epsilonBudgetMicros": DDP.epsilon_cost_micros - 1,
            },
        ),
        (SGD, {"dp_sample_rate_ppm": 0}, "RoundParamsSampleRateOutOfRange", {"dpSampleRatePpm": 0}),
        (
            SGD,
            {"dp_sample_rate_ppm": 1_000_001},
            "RoundParamsSampleRateOutOfRange",
            {"dpSampleRatePpm": 1_000_001},
        ),
        (SGD, {"dp_steps_per_round": 0}, "RoundParamsZeroDpSteps", {}),
    ],
)
def test_set_config_reverts_on_invalid_dp_field(
    world: World, base: RoundConfig, change: dict[str, int], error: str, args: dict[str, int]
) -> None:
    params = _own_params(world, TEST_CONFIG)
    with reverts(error, **args):
        params.set_config(replace(base, **change), sender=world.deployer)
