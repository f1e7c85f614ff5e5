"""Engines: a round on Ray (participants and coordinator in actors) finalizes, verifies and
aggregates like the in-process round; mask regeneration on Ray is bit-identical; without
Ray installed the error names the extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fedledger.fl.serialization import flatten_model
from fedledger.secagg import SecAggParams, simulate_round, verify_round
from fedledger.secagg.engine import EngineUnavailable, RayEngine, import_ray, make_engine
from fedledger.sim.engines import open_simulation
from tests.support.sim import quick_sim_config

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def ray_engine():
    """One local Ray for the module (2 CPUs, no dashboard, loopback), shut down after."""
    engine = RayEngine(workers=2)
    yield engine
    engine.close()


def _new_model(sim, row) -> np.ndarray:
    return flatten_model(sim.store.get(row.new_model_hash.removeprefix("0x")))


def test_ray_round_finalizes_verifies_and_matches_the_local_round(ray_engine):
    cfg = quick_sim_config(seed=3)
    with open_simulation(cfg, engine="local") as sim:
        local = sim.run_round()
        local_model = _new_model(sim, local)
        genesis = flatten_model(sim.genesis)
        params = cfg.round_config.secagg_params()
        weight = sum(
            min(p.rounds[local.round_id].examples, params.max_weight) for p in sim.participants
        )

    with open_simulation(cfg, engine="ray") as sim:
        remote = sim.run_round()
        remote_model = _new_model(sim, remote)
        coordinator_rss = sim.coordinator_peak_rss_mib()

    assert remote.outcome == "finalized", remote.reason
    assert remote.verified is True, remote.failed_checks
    assert remote.survivors == local.survivors == 6
    assert coordinator_rss > 0  # measured in the coordinator's own actor process
    # Same data, seeds and genesis model: the same updates, summed under fresh masks. Only
    # the stochastic rounding of quantization differs, by at most one level per member and
    # coordinate: n * M * 2c / L in the weighted sum, divided by the total weight W.
    step = 2 * params.clip_range / params.levels
    bound = cfg.participants * params.max_weight * step / weight
    assert not np.allclose(local_model, genesis, rtol=0, atol=100 * bound)
    np.testing.assert_allclose(remote_model, local_model, rtol=0, atol=bound)
    assert import_ray().is_initialized()  # the module's Ray was not the simulation's to stop


def test_ray_mask_regeneration_is_bit_identical_to_inline(ray_engine, account_pool_small):
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=16, max_weight=50)
    rng = np.random.default_rng(8)
    updates = [(rng.uniform(-1, 1, 30), int(rng.integers(1, 50))) for _ in range(10)]
    sim = simulate_round(
        updates,
        params=params,
        accounts=account_pool_small,
        dropout={"masked_input": {1, 4}},
        min_participants=3,
        engine=ray_engine,
    )
    expected = np.sum([sim.quantized[u] for u in sim.result.survivors], axis=0, dtype=np.uint32)

    report = verify_round(sim.transcript, engine=ray_engine)

    assert sim.result.reveal.mask_keys
    np.testing.assert_array_equal(sim.result.aggregate, expected)
    assert report.ok, report.failed


@pytest.fixture
def account_pool_small():
    from eth_account import Account

    return [Account.create() for _ in range(10)]


def test_ray_engine_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError

    with pytest.raises(EngineUnavailable, match=r"fedledger\[ray\]"):
        import_ray()
    with pytest.raises(EngineUnavailable, match=r"fedledger\[ray\]"):
        make_engine("ray")


def test_unknown_engine_is_refused_by_name():
    from fedledger.errors import ConfigError

    with pytest.raises(ConfigError, match="engine must be one of"):
        make_engine("spark")
