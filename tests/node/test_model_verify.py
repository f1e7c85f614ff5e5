"""ModelVerifier on rounds driven directly on chain: own mode catches a dropped own update,
an unreachable store is "not yet" (no verdict), a bad mode is refused by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from fedledger.errors import ConfigError, StoreError
from fedledger.node.model_verify import ModelRefused, ModelVerifier, VerifyPending, check_mode
from fedledger.node.settings import NodeSettings
from fedledger.store import FilesystemBlobStore
from tests.support.audit import AuditWorld, build_world, run_round

VICTIM = 3


@dataclass
class Hidden:
    """Round 1 left participant VICTIM's committed update out; round 2 trains its model."""

    world: AuditWorld
    store: FilesystemBlobStore


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> Hidden:
    world = build_world()
    store = FilesystemBlobStore(tmp_path_factory.mktemp("hidden") / "blobs", fsync=False)
    first = run_round(world, store, hide_from_aggregate=(VICTIM,), seed=1)
    victim = world.participants[VICTIM].address
    assert victim in first.commitments and victim not in first.survivors
    run_round(world, store, seed=2)
    return Hidden(world, store)


def _verifier(h: Hidden, mode: str, who: int, store: object | None = None) -> ModelVerifier:
    return ModelVerifier(
        mode=mode,
        contracts=h.world.c,
        deployment=h.world.deployment,
        store=store or h.store,  # type: ignore[arg-type]
        address=h.world.participants[who].address,
    )


def _check(h: Hidden, v: ModelVerifier) -> list[str]:
    info = h.world.c.round_log.get_round(2)
    return [f"{x.round_id}:{x.ok}" for x in v.check(2, info, {})]


@pytest.mark.adversarial
def test_own_mode_refuses_a_round_that_left_out_this_nodes_honest_commitment(
    hidden: Hidden,
) -> None:
    v = _verifier(hidden, "own", VICTIM)

    with pytest.raises(ModelRefused) as caught:
        _check(hidden, v)

    assert caught.value.failed == ["own_commitment_included"]
    assert str(caught.value).startswith(
        "refused to train on the model of round 2: round 1 failed verification "
        "(own_commitment_included): our committed update"
    )
    assert not v.verdicts[1].ok


@pytest.mark.adversarial
def test_full_mode_refuses_the_same_round_for_every_node_and_own_mode_only_for_the_victim(
    hidden: Hidden,
) -> None:
    with pytest.raises(ModelRefused) as victim:
        _check(hidden, _verifier(hidden, "full", VICTIM))
    with pytest.raises(ModelRefused) as bystander:
        _check(hidden, _verifier(hidden, "full", 0))

    assert victim.value.failed == ["committed_updates_included", "own_commitment_included"]
    assert bystander.value.failed == ["committed_updates_included"]
    assert _check(hidden, _verifier(hidden, "own", 0)) == ["1:True"]


def test_a_verdict_is_computed_once_per_node_and_mode_off_computes_none(hidden: Hidden) -> None:
    v = _verifier(hidden, "own", 0)

    first, second = _check(hidden, v), _check(hidden, v)

    assert (first, second) == (["1:True"], [])
    assert _check(hidden, _verifier(hidden, "off", VICTIM)) == []


class _Down:
    """A blob store that does not answer (connection refused), or answers like `real`."""

    def __init__(self, real: FilesystemBlobStore) -> None:
        self.real, self.down = real, True

    def get(self, name: str) -> bytes:
        if self.down:
            raise StoreError(f"blob {name}: GET http://127.0.0.1:9/blobs failed (ConnectError)")
        return self.real.get(name)


def test_an_unreachable_store_means_not_verified_yet_and_the_next_try_verifies(
    hidden: Hidden,
) -> None:
    store = _Down(hidden.store)
    v = _verifier(hidden, "full", VICTIM, store)

    with pytest.raises(VerifyPending, match="could not verify yet, the blob store did not"):
        _check(hidden, v)
    assert v.verdicts == {}
    store.down = False
    with pytest.raises(ModelRefused):
        _check(hidden, v)


def test_an_unknown_mode_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--verify: 'some' is not one of full, own, off"):
        check_mode("some")
    settings = NodeSettings(coordinator="http://127.0.0.1:1", rpc="http://127.0.0.1:2",
                            deployment=tmp_path / "d.json")  # fmt: skip
    assert settings.verify == "full"
    with pytest.raises(ValueError, match="verify"):
        NodeSettings(coordinator="x", rpc="y", deployment=tmp_path, verify="some")  # type: ignore[arg-type]
