"""The accuracy benchmark script runs end to end on a tiny configuration and emits its columns."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_fedavg_accuracy.py"


def test_bench_script_reports_every_method(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("bench_fedavg_accuracy", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the script is executed.
    monkeypatch.setitem(sys.modules, spec.name, mod)
    spec.loader.exec_module(mod)
    argv = ["--json", "--model", "logreg", "--participants", "3", "--rounds", "2", "--epochs", "1"]
    assert mod.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["mean_accuracy"]) == set(mod.METHODS)
    assert report["config"]["centralised_epochs"] == 2
    for acc in report["mean_accuracy"].values():
        assert 0.5 < acc <= 1.0
    assert "plain_fedavg" in report["gap_points_vs_centralised"]
