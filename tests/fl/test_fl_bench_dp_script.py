"""scripts/bench_dp.py runs end to end on a tiny configuration and emits the issue's rows."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import dp_accounting
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_dp.py"


def _load(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("bench_dp", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, mod)
    spec.loader.exec_module(mod)
    return mod


def test_bench_dp_emits_a_row_per_setting_dataset_and_epsilon(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = _load(monkeypatch)
    assert mod.main(["--json", "--rounds", "1", "--members", "20"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    keys = {(r["setting"], r["dataset"], r["epsilon"]) for r in rows}
    eps = [1.0, 2.0, 4.0, 8.0, None]
    want = {("silos", d, e) for d in ("breast_cancer", "digits") for e in eps}
    want |= {("distributed", "digits", e) for e in eps}
    assert keys == want and len(rows) == len(want)
    for r in rows:
        assert {"setting", "dataset", "participants", "epsilon", "delta", "accuracy"} <= set(r)
        assert 0.0 <= r["accuracy"] <= 1.0
        assert (r["delta"] is None) == (r["epsilon"] is None)
    assert {r["participants"] for r in rows if r["setting"] == "distributed"} == {20}


def test_noise_for_meets_the_target_epsilon_and_no_less_noise_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mod = _load(monkeypatch)
    z = mod.noise_for(2.0, lambda m: dp_accounting.GaussianDpEvent(m))
    assert mod._epsilon(dp_accounting.GaussianDpEvent(z)) <= 2.0
    assert mod._epsilon(dp_accounting.GaussianDpEvent(z * 0.99)) > 2.0
