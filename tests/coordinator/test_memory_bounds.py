"""Per-round state of the service stays bounded however many rounds run (counts, not RSS)."""

from __future__ import annotations

import sys

from fedledger.coordinator.auth import RegistrationCache, ReplayGuard
from fedledger.coordinator.memory import release_free_heap
from fedledger.protocol.envelope import SignedEnvelope

SIGNERS = [f"0x{i:040x}" for i in range(1, 6)]
STAGES = ["advertise_keys", "share_keys", "masked_input", "unmask"]


def _env(round_id: int, stage: str, signer: str) -> SignedEnvelope:
    return SignedEnvelope(
        payload={"participant": signer, "round": round_id},
        chain_id=1,
        contract=SIGNERS[0],
        round_id=round_id,
        stage=stage,
        signer=signer,
        signature=bytes(65),
    )


def test_replay_guard_keeps_three_rounds_of_answers_after_fifty_rounds() -> None:
    guard = ReplayGuard()
    for rid in range(1, 51):
        for stage in STAGES:
            for s in SIGNERS:
                guard.remember(_env(rid, stage, s), {"round": rid})
    assert guard.rounds() == {48, 49, 50}
    assert len(guard) == 3 * len(STAGES) * len(SIGNERS)
    # The newest answers are still served to replays; the oldest kept one too.
    assert guard.previous(_env(50, "unmask", SIGNERS[0])) == {"round": 50}
    assert guard.previous(_env(48, "share_keys", SIGNERS[4])) == {"round": 48}
    assert guard.previous(_env(47, "share_keys", SIGNERS[4])) is None


def test_registration_cache_asks_again_each_round_and_holds_one_round() -> None:
    asked: list[str] = []
    cache = RegistrationCache(lambda a: asked.append(a) is None)
    for rid in range(1, 31):
        for s in SIGNERS:
            assert cache.is_registered(s, rid)
            assert cache.is_registered(s, rid)  # second ask in the round: from the cache
    assert len(asked) == 30 * len(SIGNERS)
    assert len(cache._known) == len(SIGNERS)


def test_release_free_heap_works_on_linux_glibc() -> None:
    # The service calls this between rounds; on glibc Linux it must really run malloc_trim.
    expected = sys.platform.startswith("linux") and "glibc" in " ".join(_libc_version())
    assert release_free_heap() is expected


def _libc_version() -> tuple[str, str]:
    import platform

    return platform.libc_ver()
