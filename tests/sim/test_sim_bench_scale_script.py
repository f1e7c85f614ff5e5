"""scripts/bench_scale.py --json --max-n 10 runs a real round and emits the issue's row schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_scale.py"


def test_bench_scale_emits_one_measured_row_for_n_10() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--max-n", "10"],
        check=True,
        capture_output=True,
        text=True,
    )
    [row] = json.loads(out.stdout)["rows"]
    assert set(row) >= {
        "n",
        "gas",
        "round_seconds",
        "seconds_per_member",
        "coordinator_peak_rss_mib",
        "verify_seconds",
        "engine",
    }
    assert set(row["gas"]) == {
        "openRound",
        "roster",
        "finalize",
        "commit_mean",
        "commit_max",
        "claim",
    }
    assert row["n"] == 10 and row["engine"] == "inprocess" and row["chain"] == "eth-tester"
    assert row["outcome"] == "finalized" and row["verified"] is True
    assert row["survivors"] == 9  # 10% dropout: one member drops after sharing keys
    gas = row["gas"]
    for key in ("openRound", "roster", "finalize", "commit_mean", "commit_max"):
        assert isinstance(gas[key], int) and 21_000 < gas[key] < 30_000_000, key
    assert gas["commit_mean"] <= gas["commit_max"]
    assert gas["claim"] is None or 21_000 < gas["claim"] < 1_000_000
    assert row["round_seconds"] > 0 and row["verify_seconds"] > 0
    assert abs(row["seconds_per_member"] * 10 - row["round_seconds"]) < 0.01
    assert row["coordinator_peak_rss_mib"] > 50
