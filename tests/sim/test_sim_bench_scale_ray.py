"""scripts/bench_scale.py --engine ray runs a real round in Ray actors on its own anvil and
emits the issue's row: finalized, verified, gas of every call, the coordinator actor's RSS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_scale.py"

pytestmark = pytest.mark.anvil


def test_bench_scale_on_ray_finalizes_and_verifies_a_round_of_12() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--engine", "ray", "--one", "12"],
        check=True,
        capture_output=True,
        text=True,
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])

    assert row["n"] == 12 and row["engine"] == "ray" and row["chain"] == "anvil"
    assert row["outcome"] == "finalized" and row["verified"] is True
    assert row["survivors"] == 10  # members 0 and 10 drop after sharing keys (10% dropout)
    gas = row["gas"]
    assert set(gas) == {"openRound", "roster", "finalize", "commit_mean", "commit_max", "claim"}
    for key in ("openRound", "roster", "finalize", "commit_mean", "commit_max", "claim"):
        assert isinstance(gas[key], int) and 21_000 < gas[key] < 30_000_000, key
    assert gas["commit_mean"] <= gas["commit_max"]
    assert row["round_seconds"] > 0 and row["verify_seconds"] > 0
    assert abs(row["seconds_per_member"] * 12 - row["round_seconds"]) < 0.01
    # The coordinator actor's own peak (a Python process with torch loaded), not nothing.
    assert row["coordinator_peak_rss_mib"] > 50
    # The participants ran in the host actors and reported their work back to the driver.
    assert row["breakdown"]["participants_secagg"] > 0
    assert row["breakdown"]["participants_chain"] > 0


def test_bench_scale_refuses_an_unknown_engine_by_name() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--engine", "spark", "--one", "10"],
        capture_output=True,
        text=True,
    )

    assert out.returncode != 0
    assert "invalid choice: 'spark'" in out.stderr
