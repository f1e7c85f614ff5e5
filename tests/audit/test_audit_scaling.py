"""The audit's per-member lookups stay linear: survivors and their commitments are built once
per question, not once per roster member (a 1,000-member audit took 496 s when they were)."""

from __future__ import annotations

from typing import Any

import pytest

from fedledger.audit import transcript
from fedledger.audit.transcript import ChainRound
from fedledger.chain.datatypes import DecodedEvent


def _event(name: str, **args: Any) -> DecodedEvent:
    return DecodedEvent(name, args, "0x" + "11" * 20, 1, "0x" + "22" * 32, 0)


def _round(n: int) -> ChainRound:
    members = [f"0x{i:040x}" for i in range(n)]
    commits = [
        _event("UpdateCommitted", participant=m, maskedUpdateHash=b"m" * 32,
               seedCommitment=b"s" * 32, weight=1)
        for m in members[1:]
    ]  # fmt: skip
    return ChainRound(
        info=None,  # type: ignore[arg-type]  # survivors never reads it
        commits=commits,
        finalized=_event("RoundFinalized", excluded=[2, 3]),
        roster_members=members,
    )


def test_survivors_build_the_commitments_once_whatever_the_roster_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = []
    real = ChainRound.commitments.fget  # type: ignore[attr-defined]

    def counting(self: ChainRound) -> Any:
        built.append(1)
        return real(self)

    monkeypatch.setattr(transcript.ChainRound, "commitments", property(counting))
    cr = _round(300)

    survivors = cr.survivors

    # Member 0 never committed; 2 and 3 were excluded by finalize.
    assert survivors == [m for i, m in enumerate(cr.roster_members) if i not in (0, 2, 3)]
    assert len(built) == 1
