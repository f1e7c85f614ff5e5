"""One round with one malicious participant of each kind beside honest ones: it finalizes
with the honest ones, and `fedledger audit verify` (the CLI) names each culprit in its own
check while no check that blames the aggregator fails.

Out-of-range vectors are the one kind left out: under secure aggregation nobody can tell
whose vector pushed the sum out of range, so such a round fails on chain by name
(`aggregate_out_of_range`) and the next one opens (tests/security/test_security_adversarial.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.cli.app import app
from fedledger.secagg.messages import Reveal
from fedledger.sim.simulation import Simulation
from fedledger.store import FilesystemBlobStore
from tests.support.bad_participants import (
    CommitWithoutUploadParticipant,
    FalseAccuser,
    GarbageShareSender,
    GarbageSharesParticipant,
    LowOrderKeyParticipant,
    MalformedBlobParticipant,
    ZeroWeightParticipant,
    turn,
)
from tests.support.sim import quick_sim

pytestmark = pytest.mark.adversarial

N = 14
CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=10, threshold=3, slash_bps=0)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulation]:
    s = quick_sim(tmp_path / "sim", participants=N, round_config=CONFIG)
    try:
        yield s
    finally:
        s.close()


def _audit_cli(sim: Simulation, round_id: int, tmp_path: Path, monkeypatch) -> tuple[int, dict]:
    """`fedledger audit verify --json` on the simulation's in-process chain and blob folder."""
    import fedledger.cli.audit as audit_cli

    assert isinstance(sim.store, FilesystemBlobStore)
    record = sim.deployment.save(tmp_path / "deployment.json")
    monkeypatch.setattr(audit_cli, "_backend", lambda rpc, deployment: sim.chain)
    result = CliRunner().invoke(
        app,
        [
            "audit", "verify", "--json",
            "--deployment", str(record),
            "--store", str(sim.store.root),
            "--round", str(round_id),
        ],
    )  # fmt: skip
    [report] = json.loads(result.stdout)
    return result.exit_code, report


def test_a_round_with_one_cheater_of_each_kind_finalizes_and_the_audit_names_each(
    sim: Simulation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = sim.participants
    honest = [q.address for q in p[6:-1]]
    low_order = turn(p[0], LowOrderKeyParticipant, refusals=[])
    garbage_sender = turn(p[1], GarbageShareSender)
    framing = turn(p[2], MalformedBlobParticipant, kind="one_too_long", refusals=[])
    no_upload = turn(p[3], CommitWithoutUploadParticipant, refusals=[])
    liar = turn(p[4], FalseAccuser, candidates=frozenset(honest))
    bad_unmask = turn(p[5], GarbageSharesParticipant)
    zero_w = turn(p[-1], ZeroWeightParticipant)  # steps last: sees every other weight

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert isinstance(liar, FalseAccuser) and liar.victim in honest
    cheaters = {garbage_sender.address, framing.address, no_upload.address}
    assert cheaters | {liar.victim} == set(result.dropped)
    # Everyone else survives: the honest ones, the liar, the bad responder and the zero-W one.
    assert result.survivors == N - 1 - len(cheaters) - 1
    assert result.verified is True, result.failed_checks
    coordinator_report = sim.coordinator.report(result.round_id)
    assert coordinator_report is not None
    assert set(coordinator_report.excluded_bundles) == {low_order.address}
    info = sim.contracts.round_log.get_round(result.round_id)
    reveal = Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))
    assert set(reveal.bad_shares) == {bad_unmask.address}  # blamed by witnessed shares
    assert zero_w.address not in result.dropped  # its W element is ignored: W is on chain

    code, audit = _audit_cli(sim, result.round_id, tmp_path, monkeypatch)

    checks = {c["name"]: c for c in audit["checks"]}
    assert code == 1
    # Only the two checks that name participants fail; no aggregator-blaming check does.
    assert audit["failed"] == ["participant_blobs", "share_accusations"]
    blobs = checks["participant_blobs"]["found"]
    assert set(blobs) == {framing.address, no_upload.address}
    assert "malformed" in blobs[framing.address]
    assert blobs[no_upload.address] == "committed blob missing"
    accused = checks["share_accusations"]["found"]
    assert set(accused) == {garbage_sender.address, liar.address}
    assert "does not open" in accused[garbage_sender.address]
    assert f"falsely accused {liar.victim}" in accused[liar.address]
    assert checks["slash_evidence"]["passed"] is True  # the bad responder's blame holds
