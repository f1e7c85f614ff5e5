"""check_coordinator: a /v1/info that is not ours, or not our deployment, is a named ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedledger.chain.deploy import Deployment
from fedledger.errors import ConfigError
from fedledger.node.runner import check_coordinator

OURS = Deployment(
    chain_id=31337,
    rpc_url=None,
    addresses={"RoundLog": "0x" + "11" * 20},
    deploy_block=1,
    artifact_hashes={},
)


class _Client:
    base_url = "http://127.0.0.1:9"

    def __init__(self, info: Any) -> None:
        self.info = info

    def get_json(self, path: str, retries: int = 0) -> Any:
        assert path == "/v1/info"
        return self.info


def _info(deployment: Any) -> dict[str, Any]:
    return {"service": "fedledger-coordinator", "chainId": 31337, "deployment": deployment}


@pytest.mark.parametrize("deployment", ["junk", 7, ["contracts"], None, {"contracts": "x"}])
def test_a_malformed_deployment_in_info_is_a_wrong_coordinator_not_a_crash(deployment: Any) -> None:
    with pytest.raises(ConfigError, match="wrong coordinator"):
        check_coordinator(_Client(_info(deployment)), OURS, Path("deployment.json"))  # type: ignore[arg-type]


def test_our_own_deployment_passes() -> None:
    info = _info(OURS.to_json())
    assert check_coordinator(_Client(info), OURS, Path("d.json")) is info  # type: ignore[arg-type]


@pytest.mark.parametrize("info", ["text", [], {"service": "other"}])
def test_something_else_than_a_coordinator_is_named(info: Any) -> None:
    with pytest.raises(ConfigError, match="not a fedledger coordinator"):
        check_coordinator(_Client(info), OURS, Path("d.json"))  # type: ignore[arg-type]
