"""`fedledger demo` end to end through Typer's CliRunner, on the embedded chain."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fedledger.cli.app import app


def test_demo_two_rounds_five_participants_writes_verified_rows(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"

    result = CliRunner().invoke(
        app,
        ["demo", "--rounds", "2", "--participants", "5", "--json-out", str(out)],
        env={"COLUMNS": "160"},
    )

    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["config"]["participants"] == 5 and doc["config"]["rounds"] == 2
    assert [r["round_id"] for r in doc["rounds"]] == [1, 2]
    for row in doc["rounds"]:
        assert row["outcome"] == "finalized"
        assert row["verified"] is True
        assert row["survivors"] == 5
        assert 0.5 < row["accuracy"] <= 1.0
        assert row["gas"]["total"] > row["gas"]["finalize"] > 0
    assert doc["rounds"][1]["model_hash"] == doc["rounds"][0]["new_model_hash"]
    assert "fedledger demo" in result.output and "✓ pass" in result.output


def test_demo_with_a_dropout_reports_where_it_dropped(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"

    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--rounds",
            "1",
            "--participants",
            "6",
            "--dropout",
            "1:2:after_keys",
            "--json-out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    (row,) = json.loads(out.read_text())["rounds"]
    assert row["survivors"] == 5
    assert list(row["dropped"].values()) == ["share_keys"]
    assert row["verified"] is True


def test_demo_refuses_a_malformed_dropout() -> None:
    result = CliRunner().invoke(app, ["demo", "--dropout", "three:1:after_keys"])

    assert result.exit_code != 0
    assert "ROUND:PARTICIPANT:POINT" in str(result.exception) + result.output
