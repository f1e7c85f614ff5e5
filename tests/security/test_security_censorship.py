"""Attack 6, run for real: an aggregator that accepts a participant's message and then leaves it
out (of the roster, or as "unshared") is named by `receipts_honoured` once the participant
publishes the aggregator's signed receipt; forged receipts prove nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.protocol.receipts import Receipt, ReceiptError, issue_receipt, load_receipt
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.server import SecAggServer
from fedledger.sim.simulation import Simulation
from tests.support.security import N, small_sim

pytestmark = pytest.mark.adversarial


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    s = small_sim(Path(tmp_path_factory.mktemp("censorship")) / "sim", participants=N + 1)
    try:
        yield s
    finally:
        s.close()


def _audit(sim: Simulation, round_id: int, receipts: list[Receipt]) -> AuditReport:
    return verify_round_from_chain(
        sim.chain,
        sim.deployment,
        str(sim.store.root),
        round_id,
        contracts=sim.contracts,
        receipts=receipts,
    )


def _receipts(sim: Simulation, index: int, round_id: int) -> list[Receipt]:
    return sim.participants[index].rounds[round_id].receipts


def test_every_accepted_message_gets_a_receipt_and_an_honest_round_honours_them(
    sim: Simulation, tmp_path: Path
) -> None:
    sim.participants[0].receipts_dir = tmp_path
    result = sim.run_round()
    sim.participants[0].receipts_dir = None

    assert result.outcome == "finalized", result.reason
    receipts = _receipts(sim, 0, result.round_id)
    assert [r.stage for r in receipts] == [ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK]
    aggregator = sim.contracts.round_log.aggregator()
    assert {r.aggregator for r in receipts} == {aggregator}
    files = sorted(tmp_path.iterdir())
    assert len(files) == 4
    contract = sim.contracts.round_log.address
    loaded = [load_receipt(f, chain_id=sim.chain.chain_id, contract=contract) for f in files]
    everyone = [r for i in range(N + 1) for r in _receipts(sim, i, result.round_id)]
    report = _audit(sim, result.round_id, loaded + everyone)
    assert report.ok, report.failed
    assert report.check("receipts_honoured").found == {
        "receipts": 4 * (N + 1) + 4,
        "signedByAggregator": 4 * (N + 1) + 4,
    }


def test_participant_left_out_of_the_roster_despite_a_receipt_names_the_aggregator(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sim.participants[2]
    close = SecAggServer.close_advertise_keys

    def censor(self: SecAggServer):  # type: ignore[no-untyped-def]
        self._bundles.pop(victim.address, None)
        return close(self)

    with monkeypatch.context() as m:
        m.setattr(SecAggServer, "close_advertise_keys", censor)
        result = sim.run_round()

    # The honest rest still finalizes and verifies; without the receipt it looks like a dropout.
    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert _audit(sim, result.round_id, []).ok
    receipts = _receipts(sim, 2, result.round_id)
    assert [r.stage for r in receipts] == [ADVERTISE_KEYS]

    report = _audit(sim, result.round_id, receipts)

    assert report.failed == ["receipts_honoured"]
    found = report.check("receipts_honoured").found
    assert set(found) == {f"{victim.address} ({ADVERTISE_KEYS})"}
    assert "not in the posted roster" in found[f"{victim.address} ({ADVERTISE_KEYS})"]


def test_participant_called_unshared_despite_a_receipt_names_the_aggregator(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sim.participants[3]
    close = SecAggServer.close_share_keys

    def censor(self: SecAggServer):  # type: ignore[no-untyped-def]
        self._shares.pop(victim.address, None)
        return close(self)

    with monkeypatch.context() as m:
        m.setattr(SecAggServer, "close_share_keys", censor)
        result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    receipts = _receipts(sim, 3, result.round_id)
    assert [r.stage for r in receipts] == [ADVERTISE_KEYS, SHARE_KEYS]

    report = _audit(sim, result.round_id, receipts)

    assert report.failed == ["receipts_honoured"]
    found = report.check("receipts_honoured").found
    assert "calls it unshared" in found[f"{victim.address} ({SHARE_KEYS})"]


def test_a_receipt_not_signed_by_the_aggregator_proves_nothing(sim: Simulation) -> None:
    result = sim.run_round()
    assert result.outcome == "finalized", result.reason
    outsider = sim.participants[0]
    forged = issue_receipt(
        outsider.account,
        chain_id=sim.chain.chain_id,
        contract=sim.contracts.round_log.address,
        round_id=result.round_id,
        stage=ADVERTISE_KEYS,
        participant="0x" + "11" * 20,
        digest=bytes(32),
    )

    report = _audit(sim, result.round_id, [forged])

    assert report.ok, report.failed
    assert report.check("receipts_honoured").found == {"receipts": 1, "signedByAggregator": 0}


def test_a_receipt_whose_payload_was_altered_does_not_verify(sim: Simulation) -> None:
    receipt = _receipts(sim, 0, sim.coordinator.round_id)[0]
    wire = receipt.to_json()
    wire["payload"] = {**wire["payload"], "participant": "0x" + "22" * 20}
    with pytest.raises(ReceiptError, match="recovers to"):
        Receipt.verify(wire, chain_id=sim.chain.chain_id, contract=sim.contracts.round_log.address)
    other = replace(receipt.envelope, stage="keys").to_json()
    with pytest.raises(ReceiptError, match="not 'receipt'"):
        Receipt.verify(other, chain_id=sim.chain.chain_id, contract=sim.contracts.round_log.address)
