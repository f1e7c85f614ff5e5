"""The status long-poll wakes on a stage change; `--rounds N` means N more rounds."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from fedledger.coordinator.api.longpoll import StatusChanges
from fedledger.coordinator.driver import RoundDriver
from fedledger.protocol.status import FINALIZED, IDLE, RoundStatus
from fedledger.secagg.constants import ADVERTISE_KEYS, SHARE_KEYS

BASE = RoundStatus(1, ADVERTISE_KEYS, 31337, "0x" + "00" * 20)


def test_a_long_poll_returns_the_new_status_once_the_ticker_sees_the_stage_change() -> None:
    changes = StatusChanges()
    current = {"status": BASE}

    async def scenario() -> RoundStatus:
        waiter = asyncio.create_task(
            changes.wait(lambda: current["status"], since=BASE.change_key, timeout=30)
        )
        await asyncio.sleep(0.05)
        assert not waiter.done()  # held: nothing changed yet
        current["status"] = replace(BASE, stage=SHARE_KEYS)
        changes.observe(current["status"])
        return await asyncio.wait_for(waiter, timeout=5)

    assert asyncio.run(scenario()).stage == SHARE_KEYS


def test_a_long_poll_with_a_stale_key_answers_at_once_and_an_unchanged_one_at_its_timeout() -> None:
    changes = StatusChanges()

    async def scenario() -> tuple[RoundStatus, RoundStatus]:
        stale = await asyncio.wait_for(
            changes.wait(lambda: BASE, since="0:idle:0", timeout=30), timeout=5
        )
        same = await changes.wait(lambda: BASE, since=BASE.change_key, timeout=0.1)
        return stale, same

    stale, same = asyncio.run(scenario())
    assert stale == BASE and same == BASE and changes.served == 2


class _FakeCoordinator:
    """Rounds that finish as soon as they are ticked."""

    def __init__(self, round_id: int, *, open_round_left: bool) -> None:
        stage = ADVERTISE_KEYS if open_round_left else (FINALIZED if round_id else IDLE)
        self.st = replace(BASE, round_id=round_id, stage=stage)
        self.opened: list[int] = []

    def status(self) -> RoundStatus:
        return self.st

    def tick(self) -> RoundStatus:
        if not self.st.done:
            self.st = replace(self.st, stage=FINALIZED)
        return self.st

    def report(self, round_id: int) -> Any:
        return object() if self.st.done else None

    def open_round(self) -> RoundStatus:
        self.st = replace(self.st, round_id=self.st.round_id + 1, stage=ADVERTISE_KEYS)
        self.opened.append(self.st.round_id)
        return self.st


def _run(coordinator: _FakeCoordinator, rounds: int) -> RoundDriver:
    driver = RoundDriver(coordinator, rounds=rounds)  # type: ignore[arg-type]
    for _ in range(20):
        driver.step()
    return driver


def test_rounds_n_on_a_state_dir_with_finished_rounds_runs_n_more() -> None:
    coordinator = _FakeCoordinator(3, open_round_left=False)

    driver = _run(coordinator, 2)

    assert coordinator.opened == [4, 5] and driver.finished


def test_a_restart_resumes_the_open_round_and_counts_it_as_the_first_of_n() -> None:
    coordinator = _FakeCoordinator(2, open_round_left=True)

    driver = _run(coordinator, 3)

    assert coordinator.opened == [3, 4] and driver.finished


def test_rounds_zero_opens_nothing() -> None:
    coordinator = _FakeCoordinator(0, open_round_left=False)

    driver = _run(coordinator, 0)

    assert coordinator.opened == [] and not driver.finished


def test_the_first_round_of_a_run_waits_until_the_participants_are_present() -> None:
    coordinator = _FakeCoordinator(0, open_round_left=False)
    here = {"present": False}
    driver = RoundDriver(
        coordinator,  # type: ignore[arg-type]
        rounds=2,
        present=lambda: here["present"],
        grace=3600,
    )

    driver.step()
    before = list(coordinator.opened)
    here["present"] = True
    for _ in range(5):
        driver.step()

    assert before == [] and coordinator.opened == [1, 2]


def test_a_long_poll_counts_as_a_waiting_participant_while_it_is_held() -> None:
    changes = StatusChanges()

    async def scenario() -> int:
        waiter = asyncio.create_task(changes.wait(lambda: BASE, since=BASE.change_key, timeout=30))
        await asyncio.sleep(0.05)
        held = changes.waiting
        changes.observe(replace(BASE, stage=SHARE_KEYS))
        waiter.cancel()
        return held

    assert asyncio.run(scenario()) == 1 and changes.waiting == 0


def test_until_round_on_a_restart_resumes_the_open_round_and_stops_at_that_round() -> None:
    coordinator = _FakeCoordinator(2, open_round_left=True)

    driver = RoundDriver(coordinator, rounds=0, until_round=3)  # type: ignore[arg-type]
    for _ in range(20):
        driver.step()

    assert coordinator.opened == [3] and driver.finished
