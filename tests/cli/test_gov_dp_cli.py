"""`fedledger gov propose-params` with DP options: the accountant prices the round."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedledger.chain import DEFAULT_ROUND_CONFIG, RpcChain, deploy_all
from fedledger.chain.datatypes import DP_SGD
from fedledger.cli.app import app
from fedledger.errors import ConfigError
from fedledger.fl.dp_accountant import with_privacy

runner = CliRunner()


def test_a_negative_dp_option_is_refused_by_name() -> None:
    result = runner.invoke(
        app,
        [
            "gov", "propose-params", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json",
            "--key", "0x" + "11" * 32, "--description", "d", "--epsilon-budget", "-1",
        ],
    )  # fmt: skip
    assert isinstance(result.exception, ConfigError), repr(result.exception)
    assert str(result.exception).startswith("epsilon-budget: must be >= 0")


@pytest.mark.anvil
def test_propose_params_with_dp_options_sets_the_accountants_cost(
    fresh_anvil: Callable[..., str], tmp_path: Path
) -> None:
    rpc = fresh_anvil()
    backend = RpcChain(rpc)
    funded = backend.funded_accounts()
    record = deploy_all(backend, deployer=funded[0], aggregator=funded[1].address)
    dep = str(record.save(tmp_path / "deployment.json"))
    result = runner.invoke(
        app,
        [
            "gov", "propose-params", "--rpc", rpc, "--deployment", dep,
            "--key", "0x" + funded[3].key.hex(), "--description", "DP-SGD, budget 8",
            "--dp-mode", "1", "--noise-multiplier", "1.1", "--dp-clip-norm", "1",
            "--dp-delta", "1e-5", "--dp-sample-rate", "0.01", "--dp-steps", "100",
            "--epsilon-budget", "8",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    proposed = json.loads(result.output)
    want = with_privacy(
        DEFAULT_ROUND_CONFIG, mode=DP_SGD, noise_multiplier=1.1, clip_norm=1.0, delta=1e-5,
        epsilon_budget=8.0, sample_rate=0.01, steps_per_round=100,
    )  # fmt: skip
    assert proposed["config"]["epsilon_cost_micros"] == want.epsilon_cost_micros > 0
    assert proposed["changes"]["epsilon_cost_micros"] == str(want.epsilon_cost_micros)
    assert proposed["changes"]["dp_mode"] == "1"
