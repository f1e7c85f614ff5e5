"""The node reads its --key-file as a keystore v3 file with its --password-file."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from fedledger.chain.keystore import PASSWORD_ENV, write_keystore
from fedledger.errors import ConfigError
from fedledger.node.runner import load_key
from fedledger.node.settings import NodeSettings


def _settings(tmp_path: Path, key: Path, password_file: Path) -> NodeSettings:
    return NodeSettings(
        coordinator="http://127.0.0.1:9",
        rpc="http://127.0.0.1:9",
        deployment=tmp_path / "deployment.json",
        partition=tmp_path / "part.npz",
        key_file=key,
        password_file=password_file,
    )


def test_the_node_decrypts_its_keystore_with_the_password_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    account = Account.create()
    key = write_keystore(tmp_path / "node.json", account, "hospital-7")
    (tmp_path / "pw").write_text("hospital-7\n")

    assert load_key(_settings(tmp_path, key, tmp_path / "pw")).address == account.address


def test_the_node_names_a_wrong_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    key = write_keystore(tmp_path / "node.json", Account.create(), "hospital-7")
    (tmp_path / "pw").write_text("hospital-8\n")

    with pytest.raises(ConfigError, match="wrong password"):
        load_key(_settings(tmp_path, key, tmp_path / "pw"))
