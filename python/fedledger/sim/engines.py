"""run_round: one entry point for simulated rounds on either engine (in-process or Ray)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fedledger.chain.backend import ChainBackend, RpcChain
from fedledger.errors import ConfigError
from fedledger.secagg.engine import make_engine
from fedledger.sim.simulation import Simulation, SimulationConfig, SimulationRound

__all__ = ["SIM_ENGINES", "open_simulation", "run_round"]

SIM_ENGINES = ("local", "ray")
"""local: participants and coordinator in this process; ray: in Ray actors (sim.ray_sim)."""


@contextlib.contextmanager
def _devnet(rpc_url: str | None) -> Iterator[RpcChain]:
    """The chain at `rpc_url`, or a throw-away anvil on 127.0.0.1 stopped on exit."""
    if rpc_url:
        yield RpcChain(rpc_url)
        return
    from fedledger.chain.devnet import free_port, spawn_anvil

    port = free_port()
    proc = spawn_anvil(port)
    try:
        yield RpcChain(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except Exception:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def open_simulation(
    config: SimulationConfig,
    *,
    engine: str = "local",
    ray_address: str | None = None,
    rpc_url: str | None = None,
    chain: ChainBackend | None = None,
    hosts: int | None = None,
    regen_engine: str = "inline",
    **kwargs: Any,
) -> Iterator[Simulation]:
    """A Simulation on `engine`, closed (actors, Ray, devnet) on exit.

    local: the in-process simulation on `chain` (default: an embedded chain, or the devnet
    at `rpc_url`). ray: participants and coordinator in Ray actors (a local Ray of at most
    `hosts` CPUs, or the cluster at `ray_address`); the chain is the devnet at `rpc_url`, or
    a throw-away anvil started here. `regen_engine` ("inline", "process", "ray") is where
    the coordinator's mask regeneration runs.
    """
    if ray_address:
        engine = "ray"
    if engine not in SIM_ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(SIM_ENGINES)}, got {engine!r}")
    if engine == "local":
        if chain is None and rpc_url:
            chain = RpcChain(rpc_url)
        regen = make_engine(regen_engine, workers=hosts)
        try:
            sim = Simulation(config, chain=chain, engine=regen, **kwargs)
            try:
                yield sim
            finally:
                sim.close()
        finally:
            regen.close()
        return
    from fedledger.sim.ray_sim import RaySimulation

    with contextlib.ExitStack() as stack:
        rpc = chain if isinstance(chain, RpcChain) else stack.enter_context(_devnet(rpc_url))
        sim = RaySimulation(
            config,
            chain=rpc,
            ray_address=ray_address,
            hosts=hosts,
            regen_engine=regen_engine,
            **kwargs,
        )
        try:
            yield sim
        finally:
            sim.close()


def run_round(
    config: SimulationConfig,
    *,
    engine: str = "local",
    ray_address: str | None = None,
    rpc_url: str | None = None,
    rounds: int | None = None,
    **kwargs: Any,
) -> list[SimulationRound]:
    """Run `rounds` (default: config.rounds) simulated rounds on `engine`; each round's result.

    See `open_simulation` for the engines and options. Every finalized round is verified
    from chain + blob store (config.verify).
    """
    with open_simulation(
        config, engine=engine, ray_address=ray_address, rpc_url=rpc_url, **kwargs
    ) as sim:
        return [sim.run_round() for _ in range(rounds or config.rounds)]
