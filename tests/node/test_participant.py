"""Participant: trusts the chain for the model and roster, and refuses bad settings by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from fedledger.errors import ConfigError, ProtocolError
from fedledger.fl.train import TrainConfig
from fedledger.node.participant import Participant
from fedledger.sim.simulation import Simulation


@pytest.fixture
def sim(new_sim: Callable[..., Simulation], tmp_path: Path) -> Iterator[Simulation]:
    s = new_sim(tmp_path / "sim", participants=5, verify=False)
    try:
        yield s
    finally:
        s.close()


def _participant(sim: Simulation, **overrides: object) -> Participant:
    p = sim.participants[0]
    kwargs: dict[str, object] = dict(
        account=p.account,
        X=p.X,
        y=p.y,
        index=0,
        model_spec=sim.spec,
        train_config=TrainConfig(epochs=1),
        seed=0,
        chain=sim.chain,
        contracts=sim.contracts,
        store=sim.store,
    )
    kwargs.update(overrides)
    return Participant(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_dropout_point_is_refused_by_name(sim: Simulation) -> None:
    with pytest.raises(ConfigError, match="'sometime' is not one of"):
        _participant(sim, dropout={1: "sometime"})


def test_an_empty_partition_is_refused(sim: Simulation) -> None:
    with pytest.raises(ConfigError, match="partition is empty"):
        _participant(sim, X=np.zeros((0, sim.spec.n_features), np.float32), y=np.zeros(0, np.int64))


def test_a_model_missing_from_the_store_is_a_protocol_error(
    sim: Simulation, tmp_path: Path
) -> None:
    from fedledger.store import FilesystemBlobStore

    round_id = sim.coordinator.open_round().round_id
    p = _participant(sim, store=FilesystemBlobStore(tmp_path / "empty", fsync=False))
    p.start_round(round_id)

    with pytest.raises(ProtocolError, match="global model unavailable") as err:
        p.advertise_keys()
    assert err.value.field == "modelHash"


def test_training_is_seeded_by_round_and_index(sim: Simulation) -> None:
    round_id = sim.coordinator.open_round().round_id
    a, b = _participant(sim), _participant(sim)
    a.start_round(round_id)
    b.start_round(round_id)

    a.advertise_keys()
    b.advertise_keys()

    assert a.current is not None and b.current is not None
    assert a.current.train_loss == b.current.train_loss
    assert a._update is not None and b._update is not None
    assert np.array_equal(a._update.delta, b._update.delta)


def test_step_does_nothing_before_a_round_is_open(sim: Simulation) -> None:
    assert sim.participants[0].step(sim.coordinator) is False
    assert sim.participants[0].rounds == {}


def test_a_roster_blob_whose_tree_is_not_the_on_chain_root_is_refused(sim: Simulation) -> None:
    from eth_utils import keccak

    from fedledger.node.participant import SatOut
    from fedledger.secagg.messages import Roster

    round_id = sim.coordinator.open_round().round_id
    nodes = [_participant(sim, account=q.account, index=i) for i, q in enumerate(sim.participants)]
    bundles = []
    for p in nodes:
        p.start_round(round_id)
        bundles.append(p.advertise_keys())
    roster = Roster.build(_ctx(sim, round_id), bundles)
    sim.store.put(roster.to_bytes())
    # The blob the chain names is the real roster, but the root is of another tree: the node
    # must not take a proof for a roster it cannot rebuild.
    log = sim.contracts.round_log
    log.post_roster(
        round_id, roster.hash(), keccak(b"other tree"), len(roster), sender=sim.aggregator
    )

    with pytest.raises(SatOut, match="Merkle root"):
        nodes[0].share_keys()
    assert nodes[0].rounds[round_id].member is None


def _ctx(sim: Simulation, round_id: int):  # type: ignore[no-untyped-def]
    from fedledger.secagg.params import RoundContext

    return RoundContext(sim.chain.chain_id, sim.contracts.round_log.address, round_id)
