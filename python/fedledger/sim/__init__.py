"""fedledger.sim: whole federations (in-process simulation, multi-process runs, devnet set-up)."""

from fedledger.sim.simulation import Simulation, SimulationConfig, SimulationRound, run_simulation

__all__ = ["Simulation", "SimulationConfig", "SimulationRound", "run_simulation"]
