"""The installed `fedledger` console script as a user meets it: usage errors and key files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from fedledger.chain.keystore import PASSWORD_ENV, load_account, write_keystore

FEDLEDGER = Path(sys.executable).parent / "fedledger"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, "FEDLEDGER_KEY")}
    return subprocess.run(
        [str(FEDLEDGER), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Click's wording differs between the Typer versions fedledger runs with (Typer's
        # vendored click; plain click under flwr's typer < 0.21): match the parts both print.
        (("deploy", "--bogus"), ("no such option", "--bogus")),
        (("demo", "--rounds", "abc"), ("invalid value for '--rounds'",)),
        (("participants", "register"), ("missing argument 'addresses",)),
    ],
    ids=["bad-option", "bad-value", "missing-argument"],
)
def test_a_usage_mistake_prints_the_usage_and_exits_2_without_a_traceback(
    args: tuple[str, ...], message: tuple[str, ...]
) -> None:
    result = _run(*args)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Usage: fedledger {args[0]}" in result.stderr
    assert all(part in result.stderr.lower() for part in message), result.stderr


def test_keygen_writes_a_keystore_that_decrypts_to_the_printed_address(tmp_path: Path) -> None:
    out, password = tmp_path / "node.json", tmp_path / "password.txt"
    password.write_text("correct horse battery staple\n")

    result = _run("participants", "keygen", "--out", str(out), "--password-file", str(password))

    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    keystore = json.loads(out.read_text())
    assert keystore["version"] == 3 and doc["encrypted"] is True
    assert keystore["address"].lower() == doc["address"][2:].lower()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    account = load_account(out, password_file=password)
    assert account.address == doc["address"]
    assert bytes(account.key).hex() not in out.read_text()  # the key is not at rest in clear


def test_a_wrong_keystore_password_is_one_line_and_exit_1(tmp_path: Path) -> None:
    key = tmp_path / "node.json"
    write_keystore(key, Account.create(), "right")
    chain = ["--rpc", "http://127.0.0.1:9", "--deployment", str(tmp_path / "none.json")]

    result = _run(
        "participants", "stake", "1", *chain, "--key-file", str(key), env={PASSWORD_ENV: "wrong"}
    )

    assert result.returncode == 1
    assert result.stderr.strip() == f"error: key file {key}: wrong password"


def test_a_keystore_without_any_password_source_says_how_to_give_one(tmp_path: Path) -> None:
    key = tmp_path / "node.json"
    write_keystore(key, Account.create(), "right")
    chain = ["--rpc", "http://127.0.0.1:9", "--deployment", str(tmp_path / "none.json")]

    result = _run("participants", "stake", "1", *chain, "--key-file", str(key))

    assert result.returncode == 1
    assert "--password-file" in result.stderr and PASSWORD_ENV in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("password", "error"),
    [("right", "deployment record"), ("wrong", "wrong password")],
    ids=["decrypts-then-reads-the-deployment", "wrong-password"],
)
def test_coordinator_reads_an_encrypted_aggregator_key_with_a_password_file(
    tmp_path: Path, password: str, error: str
) -> None:
    key, pw = tmp_path / "aggregator.json", tmp_path / "pw"
    write_keystore(key, Account.create(), "right")
    pw.write_text(password + "\n")

    result = _run(
        "coordinator", "run", "--rpc", "http://127.0.0.1:9",
        "--deployment", str(tmp_path / "none.json"), "--state-dir", str(tmp_path / "state"),
        "--aggregator-key-file", str(key), "--password-file", str(pw),
    )  # fmt: skip

    assert result.returncode == 1
    assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1
