"""`fedledger gov`: a full propose / vote / queue / execute / show cycle on anvil, and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedledger.chain import DEFAULT_ROUND_CONFIG, RpcChain, deploy_all
from fedledger.cli.app import app
from fedledger.cli.common import parse_tokens
from fedledger.errors import ConfigError

TOKEN = 10**18
runner = CliRunner()


def _gov(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["gov", *args], catch_exceptions=True)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.output)  # type: ignore[no-any-return]


def _error(*args: str) -> str:
    result = runner.invoke(app, ["gov", *args], catch_exceptions=True)
    assert isinstance(result.exception, ConfigError), repr(result.exception)
    return str(result.exception)


@pytest.fixture
def anvil(fresh_anvil: Callable[..., str]) -> str:
    return fresh_anvil()


@pytest.mark.anvil
def test_gov_commands_take_a_proposal_from_propose_to_executed(anvil: str, tmp_path: Path) -> None:
    backend = RpcChain(anvil)
    funded = backend.funded_accounts()
    alice, bob = funded[3], funded[4]
    record = deploy_all(
        backend,
        deployer=funded[0],
        aggregator=funded[1].address,
        genesis={alice.address: 100 * TOKEN, bob.address: 60 * TOKEN},
    )
    dep = str(record.save(tmp_path / "deployment.json"))
    common = ["--rpc", anvil, "--deployment", dep]
    ka, kb = ["--key", "0x" + alice.key.hex()], ["--key", "0x" + bob.key.hex()]
    for k in (ka, kb):
        _gov("delegate", *common, *k)

    proposed = _gov(
        "propose-params", *common, *ka, "--neighbours", "5", "--threshold", "3",
        "--reward-mode", "1", "--reward", "2.5", "--stake", "1", "--slash-recipient", "burn",
        "--cohort-size", "6",
        "--description", "k=5 t=3, reward by weight, stake 1 FLR, burn slashes, cohorts of 6",
    )  # fmt: skip
    pid = str(proposed["proposalId"])
    assert proposed["changes"] == {
        "neighbours": "5",
        "threshold": "3",
        "reward_mode": "1",
        "cohort_size": "6",
        "reward_per_contribution": str(25 * TOKEN // 10),
        "min_stake": str(TOKEN),
    }
    backend.mine(record.governance["voting_delay"] + 1)
    assert _gov("vote", *common, *ka, "--proposal", pid, "--support", "for")["weight"] == str(
        100 * TOKEN
    )
    _gov("vote", *common, *kb, "--proposal", pid, "--support", "against", "--reason", "too soon")
    backend.mine(record.governance["voting_period"] + 1)
    [shown] = _gov("show", *common)["proposals"]  # type: ignore[misc]
    assert shown["state"] == "succeeded"
    assert shown["votes"] == {"for": str(100 * TOKEN), "against": str(60 * TOKEN), "abstain": "0"}

    assert int(_gov("queue", *common, *kb, "--proposal", pid)["eta"]) > 0  # type: ignore[call-overload]
    backend.advance_time(record.governance["timelock_delay"] + 1)
    executed = _gov("execute", *common, *kb, "--proposal", pid)
    config = executed["config"]
    assert isinstance(config, dict)
    assert (config["neighbours"], config["threshold"], config["reward_mode"]) == (5, 3, 1)
    assert config["cohort_size"] == 6
    assert config["reward_per_contribution"] == str(25 * TOKEN // 10)
    assert config["min_stake"] == str(TOKEN)
    assert config["max_weight"] == DEFAULT_ROUND_CONFIG.max_weight  # untouched fields stay
    assert executed["slashRecipient"] == "0x" + "00" * 20
    after = _gov("show", *common)
    assert [p["state"] for p in after["proposals"]] == ["executed"]  # type: ignore[union-attr]


def test_vote_rejects_an_unknown_support_value() -> None:
    msg = _error(
        "vote", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json", "--key", "0x" + "11" * 32,
        "--proposal", "7", "--support", "maybe",
    )  # fmt: skip
    assert msg.startswith("support: 'maybe'")


@pytest.mark.parametrize(
    ("extra", "start"),
    [
        (["--reward", "ten"], "reward: 'ten' is not a number"),
        (["--stake", "-1"], "stake: '-1' must be >= 0"),
        (["--reward-cap", "0.0000000000000000001"], "reward-cap: '0.0000000000000000001' must"),
        (["--slash-recipient", "treasury"], "slash-recipient: 'treasury' is not an address"),
        ([], "nothing to change"),
    ],
)
def test_propose_params_names_the_bad_option(extra: list[str], start: str) -> None:
    msg = _error(
        "propose-params", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json",
        "--key", "0x" + "11" * 32, "--description", "d", *extra,
    )  # fmt: skip
    assert msg.startswith(start), msg


def test_a_sender_key_is_required_exactly_once(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("0x" + "11" * 32)
    base = ["propose-params", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json"]
    base += ["--description", "d", "--neighbours", "3"]
    assert _error(*base).startswith("key: give exactly one")
    assert _error(*base, "--key", "0x11", "--key-file", str(key_file)).startswith("key: give")
    assert _error(*base, "--key", "0x1234").startswith("key: not a valid")


def test_parse_tokens_is_exact() -> None:
    assert parse_tokens("2.5", what="reward") == 25 * 10**17
    assert parse_tokens("0.000000000000000001", what="reward") == 1
    assert parse_tokens("1000", what="reward") == 1000 * TOKEN
