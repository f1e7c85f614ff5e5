"""A node's waits: given up only past the on-chain deadline; drops reported as asked for."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from fedledger.errors import FedledgerError
from fedledger.node.runner import _DROP_POINT, _DROP_STAGE, DeadlineWatch
from fedledger.node.settings import DROP_STAGES
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.constants import UNMASK

OPEN = RoundStatus(2, UNMASK, 31337, "0x" + "00" * 20)


def _watch(now: int, unmask_deadline: int) -> DeadlineWatch:
    chain = SimpleNamespace(timestamp=lambda: now)
    info = SimpleNamespace(unmask_deadline=unmask_deadline)
    contracts = SimpleNamespace(round_log=SimpleNamespace(get_round=lambda _r: info))
    return DeadlineWatch(chain, contracts, margin=60)  # type: ignore[arg-type]


def test_a_node_keeps_waiting_while_the_chain_is_within_the_deadline_and_margin() -> None:
    _watch(now=1_000 + 60, unmask_deadline=1_000).check(OPEN)  # no error


def test_a_node_gives_up_once_the_chain_is_past_the_unmask_deadline_and_margin() -> None:
    with pytest.raises(FedledgerError, match="after its on-chain unmask deadline"):
        _watch(now=1_000 + 61, unmask_deadline=1_000).check(OPEN)


def test_a_finished_round_is_never_given_up_on() -> None:
    _watch(now=10**9, unmask_deadline=1_000).check(replace(OPEN, stage="finalized"))


def test_every_drop_stage_is_reported_under_the_name_it_was_given() -> None:
    for stage in DROP_STAGES:
        assert _DROP_STAGE[_DROP_POINT[stage]] == stage
    assert _DROP_STAGE["after_shares"] == "masked_input"
