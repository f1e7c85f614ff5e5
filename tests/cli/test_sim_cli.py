"""`fedledger sim` through Typer's CliRunner: a verified round, dropouts, the engine choice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from fedledger.cli.app import app
from fedledger.cli.sim import sim_round_config
from fedledger.secagg.engine import EngineUnavailable
from fedledger.secagg.params import large_n_params


def test_sim_local_round_with_dropouts_finalizes_and_verifies(tmp_path: Path) -> None:
    out = tmp_path / "sim.json"

    result = CliRunner().invoke(
        app,
        [
            "sim",
            "--participants",
            "6",
            "--dropout-rate",
            "0.2",
            "--regen-engine",
            "process",
            "--hosts",
            "2",
            "--json-out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["config"]["engine"] == "local" and doc["config"]["regenEngine"] == "process"
    (row,) = doc["rounds"]
    assert row["outcome"] == "finalized", row["reason"]
    assert row["verified"] is True
    assert row["survivors"] == 5
    assert list(row["dropped"].values()) == ["masked_input"]


def test_sim_ray_engine_without_ray_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)

    result = CliRunner().invoke(app, ["sim", "--participants", "4", "--engine", "ray"])

    # The console script prints a FedledgerError as one line: here the runner keeps it.
    assert result.exit_code != 0
    assert isinstance(result.exception, EngineUnavailable)
    assert "fedledger[ray]" in str(result.exception)


def test_large_rounds_take_k_and_t_from_bell_et_al() -> None:
    config = sim_round_config(1000)

    assert (config.neighbours, config.threshold) == large_n_params(1000)
    assert (sim_round_config(10).neighbours, sim_round_config(10).threshold) == (6, 4)
