"""`fedledger deploy --slash-recipient ADDR --genesis ADDR=FLR`: deploy_all gets them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FEDLEDGER = str(Path(sys.executable).parent / "fedledger")
TREASURY = "0x000000000000000000000000000000000000dEaD"
ALICE = "0x1111111111111111111111111111111111111111"
BOB = "0x2222222222222222222222222222222222222222"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FEDLEDGER, *args], capture_output=True, text=True, timeout=120)


def test_deploy_records_the_slash_recipient_and_genesis_allocations() -> None:
    proc = _run(
        "deploy",
        "--slash-recipient",
        TREASURY.lower(),
        "--genesis",
        f"{ALICE}=2.5",
        "--genesis",
        f"{BOB}=100",
        "--genesis",
        f"{ALICE}=0.5",
    )

    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["slashRecipient"] == TREASURY
    assert {a: int(v) for a, v in record["genesis"].items()} == {
        ALICE: 3 * 10**18,
        BOB: 100 * 10**18,
    }


def test_deploy_with_production_governance_and_a_guardian_records_both() -> None:
    proc = _run(
        "deploy", "--governance", "production", "--guardian", BOB, "--genesis", f"{ALICE}=1000"
    )

    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["guardian"] == BOB
    assert record["governance"] == {
        "voting_delay": 7200,
        "voting_period": 50400,
        "proposal_threshold": 25 * 10**17,  # 0.25 % of the 1000 FLR genesis supply
        "quorum_percent": 4,
        "timelock_delay": 172800,
    }


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--genesis", f"{ALICE}"], "--genesis"),
        (["--genesis", f"{ALICE}=1.0000000000000000001"], "--genesis"),
        (["--genesis", "0x12=1"], "--genesis"),
        (["--slash-recipient", "treasury"], "--slash-recipient"),
        (["--guardian", "0x12"], "--guardian"),
        (["--governance", "mainnet"], "--governance"),
    ],
)
def test_deploy_refuses_bad_options_naming_them_before_any_transaction(
    args: list[str], named: str
) -> None:
    proc = _run("deploy", *args)

    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], proc.stderr
