"""`fedledger participants` (keygen, register, stake, status) and `fedledger data split`."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fedledger.chain import DEFAULT_ROUND_CONFIG, RpcChain, deploy_all
from fedledger.cli.app import app
from fedledger.cli.common import format_tokens, parse_tokens
from fedledger.errors import ConfigError, ContractRevert
from fedledger.fl.partition import load_participant_data
from fedledger.secagg.messages import KeyBundle, Roster
from fedledger.secagg.params import RoundContext
from fedledger.store import FilesystemBlobStore

TOKEN = 10**18
runner = CliRunner()


def _ok(*args: str) -> dict[str, object]:
    result = runner.invoke(app, list(args), catch_exceptions=True)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.output)  # type: ignore[no-any-return]


def _fails(exc_type: type[Exception], *args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=True)
    assert isinstance(result.exception, exc_type), repr(result.exception)
    return str(result.exception)


def test_keygen_plaintext_writes_a_private_key_file_only_the_owner_can_read(
    tmp_path: Path,
) -> None:
    out = tmp_path / "node.key"

    doc = _ok("participants", "keygen", "--out", str(out), "--plaintext")

    from eth_account import Account

    assert Account.from_key(out.read_text().strip()).address == doc["address"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_keygen_refuses_to_overwrite_a_key_without_force(tmp_path: Path) -> None:
    out = tmp_path / "node.key"
    first = _ok("participants", "keygen", "--out", str(out), "--plaintext")

    message = _fails(ConfigError, "participants", "keygen", "--out", str(out), "--plaintext")
    assert "already exists" in message
    second = _ok("participants", "keygen", "--out", str(out), "--force", "--plaintext")
    assert second["address"] != first["address"]


@pytest.mark.anvil
def test_registrar_registers_a_new_key_which_stakes_and_shows_up_eligible(
    fresh_anvil: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_anvil()
    backend = RpcChain(url)
    admin = backend.funded_accounts()[0]
    config = replace(DEFAULT_ROUND_CONFIG, min_stake=5 * TOKEN)
    key_file = tmp_path / "node.key"
    password = tmp_path / "password.txt"
    password.write_text("s3cret\n")
    node = _ok("participants", "keygen", "--out", str(key_file), "--password-file", str(password))[
        "address"
    ]
    assert isinstance(node, str)
    record = deploy_all(
        backend, deployer=admin, aggregator=admin.address, params=config, genesis={node: 50 * TOKEN}
    )
    dep = tmp_path / "deployment.json"
    record.save(dep)
    chain = ["--rpc", url, "--deployment", str(dep)]
    admin_key = "0x" + bytes(admin.key).hex()

    _ok("participants", "register", node, *chain, "--key", admin_key, "--fund", "0.5")
    assert backend.w3.eth.get_balance(node) == 5 * 10**17
    before = _ok("participants", "status", node, *chain)["participants"][0]  # type: ignore[index]
    monkeypatch.setenv("FEDLEDGER_KEY_PASSWORD", "s3cret")  # the keystore's password, from the env
    _ok("participants", "stake", "5", *chain, "--key-file", str(key_file))
    after = _ok("participants", "status", node, *chain)["participants"][0]  # type: ignore[index]

    assert before["approved"] is True and before["eligible"] is False  # no stake yet
    assert after["eligible"] is True and after["stake"] == "5" and after["balance"] == "45"


@pytest.mark.anvil
def test_claim_mints_rewards_and_self_delegates_so_the_votes_count(
    fresh_anvil: Callable[..., str], tmp_path: Path
) -> None:
    url = fresh_anvil()
    backend = RpcChain(url)
    admin, *members = backend.funded_accounts()[:4]
    members.sort(key=lambda a: int(a.address, 16))
    config = replace(DEFAULT_ROUND_CONFIG, neighbours=2, threshold=2, min_participants=2)
    record = deploy_all(backend, deployer=admin, aggregator=admin.address, params=config)
    c = record.attach(backend)
    for m in members:
        c.registry.register(m.address, sender=admin)
    rid = int(
        c.round_log.open_round(b"\x01" * 32, sender=admin).named("RoundOpened")[0].args["round"]
    )
    # A real roster blob in a folder store: the CLI rebuilds the tree from it for its proof.
    ctx = RoundContext(backend.chain_id, c.round_log.address, rid)
    bundles = [
        KeyBundle.create(
            ctx, m.key, m.address, channel_key=bytes([9]) * 32, mask_key=bytes([i + 9]) * 32
        )
        for i, m in enumerate(members)
    ]
    roster = Roster.build(ctx, bundles)
    store = FilesystemBlobStore(tmp_path / "blobs")
    store.put(roster.to_bytes())
    tree = roster.tree()
    c.round_log.post_roster(rid, roster.hash(), tree.root, tree.count, sender=admin)
    for i, m in enumerate(members):
        c.round_log.commit(
            rid, bytes([i + 1]) * 32, b"\x03" * 32, weight=1,
            member=tree.member(rid, m.address), sender=m,
        )  # fmt: skip
    c.round_log.finalize(
        rid, aggregate_hash=b"\x04" * 32, reveal_hash=b"\x05" * 32, new_model_hash=b"\x06" * 32,
        sender=admin,
    )  # fmt: skip
    dep = tmp_path / "deployment.json"
    record.save(dep)
    claimer = members[0]
    assert c.token.get_votes(claimer.address) == 0

    doc = _ok(
        "participants", "claim", "--rpc", url, "--deployment", str(dep),
        "--key", "0x" + bytes(claimer.key).hex(), "--round", str(rid),
        "--store", str(tmp_path / "blobs"),
    )  # fmt: skip

    assert doc["claimed"] == format_tokens(config.reward_per_contribution)
    assert doc["rounds"] == {str(rid): format_tokens(config.reward_per_contribution)}
    assert doc["delegateTx"] is not None
    assert c.token.get_votes(claimer.address) == config.reward_per_contribution
    assert doc["votes"] == format_tokens(config.reward_per_contribution)


@pytest.mark.anvil
def test_register_by_an_account_without_the_registrar_role_reverts_with_its_name(
    fresh_anvil: Callable[..., str], tmp_path: Path
) -> None:
    url = fresh_anvil()
    backend = RpcChain(url)
    admin, outsider = backend.funded_accounts()[0], backend.funded_accounts()[5]
    record = deploy_all(backend, deployer=admin, aggregator=admin.address)
    dep = tmp_path / "deployment.json"
    record.save(dep)

    result = runner.invoke(
        app,
        ["participants", "register", outsider.address, "--rpc", url, "--deployment", str(dep),
         "--key", "0x" + bytes(outsider.key).hex()],
    )  # fmt: skip

    assert isinstance(result.exception, ContractRevert)
    assert result.exception.name == "AccessControlUnauthorizedAccount"


def test_register_names_a_malformed_address_before_touching_the_chain(tmp_path: Path) -> None:
    message = _fails(
        ConfigError,
        "participants", "register", "0x1234", "--rpc", "http://127.0.0.1:9",
        "--deployment", str(tmp_path / "missing.json"), "--key", "0x" + "11" * 32,
    )  # fmt: skip
    assert "'0x1234'" in message and "address" in message


def test_status_names_a_missing_deployment_record(tmp_path: Path) -> None:
    good = "0x" + "ab" * 20
    message = _fails(
        ConfigError,
        "participants", "status", good, "--rpc", "http://127.0.0.1:9",
        "--deployment", str(tmp_path / "missing.json"),
    )  # fmt: skip
    assert "missing.json" in message


def test_data_split_writes_loadable_partitions_covering_the_training_split(tmp_path: Path) -> None:
    doc = _ok(
        "data", "split", "--out", str(tmp_path), "--participants", "4", "--dataset", "wine",
        "--alpha", "0.5",
    )  # fmt: skip

    files = [Path(f) for f in doc["files"]]  # type: ignore[union-attr]
    parts = [load_participant_data(f) for f in files]
    assert len(parts) == 4 and doc["scheme"] == "dirichlet"
    assert sum(len(p.y) for p in parts) == sum(doc["sizes"])  # type: ignore[arg-type]
    assert all(p.X.dtype == np.float32 and len(p.y) > 0 for p in parts)


def test_data_split_with_alpha_zero_is_iid_and_sizes_differ_by_at_most_one(tmp_path: Path) -> None:
    doc = _ok("data", "split", "--out", str(tmp_path), "--participants", "5", "--alpha", "0")

    sizes = doc["sizes"]
    assert doc["scheme"] == "iid" and max(sizes) - min(sizes) <= 1  # type: ignore[arg-type, type-var]


def test_data_split_rejects_a_negative_alpha(tmp_path: Path) -> None:
    message = _fails(ConfigError, "data", "split", "--out", str(tmp_path), "--participants", "2",
                     "--alpha", "-1")  # fmt: skip
    assert "--alpha" in message


@pytest.mark.parametrize("units", [0, 1, 5 * TOKEN, 25 * 10**17, 10**30 + 7])
def test_token_amounts_print_exactly_and_parse_back(units: int) -> None:
    assert parse_tokens(format_tokens(units), what="amount") == units
