"""Recompiling the contracts reproduces the committed artifacts byte for byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fedledger.chain.artifacts import CONTRACT_NAMES, load_artifact
from fedledger.chain.compile import (
    ARTIFACTS_DIR,
    compile_all,
    render_artifact,
    resolve_solc,
)
from fedledger.errors import ConfigError


def test_recompiling_gives_byte_identical_artifacts() -> None:
    compiler = resolve_solc()  # CI has solc-js via hardhat-free-devnet; fails loudly otherwise
    fresh = compile_all(compiler)
    assert sorted(fresh) == sorted(CONTRACT_NAMES)
    for name, doc in fresh.items():
        committed = (ARTIFACTS_DIR / f"{name}.json").read_bytes()
        assert render_artifact(doc) == committed, (
            f"{name}.json differs: run scripts/compile_contracts.py"
        )


def test_runtime_code_fits_the_contract_size_limit() -> None:
    for name in CONTRACT_NAMES:
        assert (len(load_artifact(name).deployed_bytecode) - 2) // 2 <= 24_576, name


def test_solcjs_shim_answers_like_native_solc() -> None:
    compiler = resolve_solc()
    out = subprocess.run(
        [str(compiler.binary), "--version"], capture_output=True, text=True, check=True
    )
    assert "Version: 0.8.37+commit." in out.stdout
    std = (
        '{"language":"Solidity","sources":{"a.sol":{"content":"pragma solidity 0.8.37; '
        'contract A {}"}},"settings":{"outputSelection":{"*":{"*":["abi"]}}}}'
    )
    out = subprocess.run(
        [str(compiler.binary), "--standard-json"],
        input=std,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.lstrip().startswith("{")  # no ">>>" line before the JSON


def test_solc_binary_pointing_nowhere_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOLC_BINARY", str(tmp_path / "missing-solc"))
    with pytest.raises(ConfigError, match="SOLC_BINARY"):
        resolve_solc()
    assert os.environ["SOLC_BINARY"].endswith("missing-solc")
