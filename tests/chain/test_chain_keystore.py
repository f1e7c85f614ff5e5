"""Keys at rest: keystore v3 round trips, password sources in order, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from fedledger.chain.keystore import (
    PASSWORD_ENV,
    load_account,
    write_keystore,
    write_plaintext_key,
)
from fedledger.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_password_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One encrypted key (scrypt is slow on purpose) and its address."""
    account = Account.create()
    path = write_keystore(tmp_path_factory.mktemp("keys") / "node.json", account, "pw-1")
    return path, account.address


def test_a_keystore_decrypts_with_the_password_from_a_file(
    keystore: tuple[Path, str], tmp_path: Path
) -> None:
    path, address = keystore
    password = tmp_path / "pw"
    password.write_text("pw-1\n")

    assert load_account(path, password_file=password).address == address


def test_the_password_file_wins_over_the_environment(
    keystore: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, address = keystore
    password = tmp_path / "pw"
    password.write_text("pw-1")
    monkeypatch.setenv(PASSWORD_ENV, "not-it")

    assert load_account(path, password_file=password).address == address


def test_the_environment_gives_the_password_when_no_file_does(
    keystore: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, address = keystore
    monkeypatch.setenv(PASSWORD_ENV, "pw-1")

    assert load_account(path).address == address


def test_a_wrong_password_is_one_error_naming_the_file(
    keystore: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = keystore
    monkeypatch.setenv(PASSWORD_ENV, "pw-2")

    with pytest.raises(ConfigError, match=f"^key file {path}: wrong password$"):
        load_account(path)


def test_a_plaintext_devnet_key_still_loads_without_a_password(tmp_path: Path) -> None:
    account = Account.create()
    path = write_plaintext_key(tmp_path / "devnet.key", account)

    assert load_account(path).address == account.address
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x1234", "not a 32-byte hex private key"),
        ("{not json", "not valid keystore JSON"),
        ('{"version": 1}', "not an Ethereum keystore v3 file"),
    ],
)
def test_a_malformed_key_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(text)

    with pytest.raises(ConfigError, match=message):
        load_account(path)
