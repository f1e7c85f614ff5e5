"""`fedledger participants`: keys, the registrar's allowlist, stakes, and who is registered."""

from __future__ import annotations

from pathlib import Path

import typer

from fedledger.chain.round_log import MemberProof, RoundLogClient
from fedledger.cli.common import (
    DeploymentOpt,
    KeyFileOpt,
    KeyOpt,
    RpcOpt,
    attach,
    echo_json,
    format_tokens,
    parse_tokens,
    sender_account,
)
from fedledger.errors import ConfigError, ProtocolError

participants_app = typer.Typer(
    help="Participant keys, registration (registrar) and stakes.", no_args_is_help=True
)


@participants_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Write the new key here (0600)."),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        help="Encrypt with this file's password (else $FEDLEDGER_KEY_PASSWORD, else a prompt).",
    ),
    plaintext: bool = typer.Option(
        False,
        "--plaintext",
        help="Write the key unencrypted as 0x-hex: for devnet test keys only.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing key file."),
) -> None:
    """Make a fresh participant key (OS CSPRNG) as a keystore v3 file; print its address."""
    from eth_account import Account

    from fedledger.chain.keystore import read_password, write_keystore, write_plaintext_key

    if out.exists() and not force:
        raise ConfigError(f"key file {out}: already exists (use --force to overwrite)")
    if plaintext and password_file is not None:
        raise ConfigError("keygen: --plaintext writes no password; drop --password-file")
    account = Account.create()
    if plaintext:
        write_plaintext_key(out, account)
    else:
        password = read_password(password_file, what=f"new key file {out}", confirm=True)
        write_keystore(out, account, password)
    echo_json({"address": account.address, "keyFile": str(out), "encrypted": not plaintext})


@participants_app.command("register")
def register_cmd(
    addresses: list[str] = typer.Argument(..., help="Participant addresses to allow."),
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    fund_eth: str = typer.Option(
        "0", "--fund", help="Also send this much ETH to each account for gas (devnets)."
    ),
) -> None:
    """Add accounts to the allowlist (the sender needs REGISTRAR_ROLE)."""
    from fedledger.chain import fund

    checked = [_address(a) for a in addresses]  # all named before anything is sent
    wei = parse_tokens(fund_eth, what="--fund")  # ETH has 18 decimals too
    sender = sender_account(key, key_file)
    backend, _, contracts = attach(rpc, deployment)
    done = []
    for address in checked:
        tx = contracts.registry.register(address, sender=sender)
        if wei:
            fund(backend, sender, [address], wei)
        done.append({"address": address, "tx": tx.tx_hash, "gasUsed": tx.gas_used})
    echo_json({"registered": done})


@participants_app.command("deregister")
def deregister_cmd(
    addresses: list[str] = typer.Argument(..., help="Participant addresses to remove."),
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
) -> None:
    """Remove accounts from the allowlist (their stake stays slashable until unlocked)."""
    checked = [_address(a) for a in addresses]
    sender = sender_account(key, key_file)
    _, _, contracts = attach(rpc, deployment)
    done = []
    for address in checked:
        tx = contracts.registry.deregister(address, sender=sender)
        done.append({"address": address, "tx": tx.tx_hash})
    echo_json({"deregistered": done})


@participants_app.command("stake")
def stake_cmd(
    amount: str = typer.Argument(..., help="FLR to stake, e.g. 20 or 2.5."),
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
) -> None:
    """Approve the registry and stake AMOUNT of the sender's RewardToken."""
    units = parse_tokens(amount, what="amount")
    sender = sender_account(key, key_file)
    _, _, contracts = attach(rpc, deployment)
    contracts.token.approve(contracts.registry.address, units, sender=sender)
    tx = contracts.registry.stake(units, sender=sender)
    staked, _ = contracts.registry.stake_of(sender.address)
    echo_json({"address": sender.address, "tx": tx.tx_hash, "stake": format_tokens(staked)})


@participants_app.command("claim")
def claim_cmd(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    delegate: bool = typer.Option(
        True,
        "--delegate/--no-delegate",
        help="Self-delegate the votes first unless already delegated (the default: an awake "
        "electorate; docs/governance.md).",
    ),
    rounds: list[int] = typer.Option(
        ..., "--round", min=1, help="A finalized round the sender survived (repeatable)."
    ),
    store: str = typer.Option(..., help="Blob store holding the rosters: a folder or a URL."),
) -> None:
    """Mint the sender's rewards for the given rounds (one transaction); by default also
    self-delegate its votes. Proofs come from each roster blob the chain names, checked
    against the on-chain root."""
    sender = sender_account(key, key_file)
    _, _, contracts = attach(rpc, deployment)
    members = [_member_proof(contracts.round_log, store, r, sender.address) for r in rounds]
    delegated = contracts.token.ensure_self_delegated(sender=sender) if delegate else None
    tx = contracts.round_log.claim(members, sender=sender)
    claimed = {int(e.args["round"]): int(e.args["amount"]) for e in tx.named("RewardClaimed")}
    echo_json(
        {
            "address": sender.address,
            "tx": tx.tx_hash,
            "claimed": format_tokens(sum(claimed.values())),
            "rounds": {str(r): format_tokens(a) for r, a in sorted(claimed.items())},
            "delegateTx": None if delegated is None else delegated.tx_hash,
            "votes": format_tokens(contracts.token.get_votes(sender.address)),
        }
    )


@participants_app.command("status")
def status_cmd(
    addresses: list[str] = typer.Argument(..., help="Accounts to look up."),
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
) -> None:
    """Allowlisted, eligible for rosters, stake and token balance."""
    checked = [_address(a) for a in addresses]
    _, _, contracts = attach(rpc, deployment)
    rows = []
    for a in checked:
        staked, unlock_at = contracts.registry.stake_of(a)
        rows.append(
            {
                "address": a,
                "approved": contracts.registry.is_approved(a),
                "eligible": contracts.registry.is_registered(a),
                "stake": format_tokens(staked),
                "unlockAt": unlock_at,
                "balance": format_tokens(contracts.token.balance_of(a)),
            }
        )
    echo_json({"participants": rows})


def _member_proof(log: RoundLogClient, store: str, round_id: int, address: str) -> MemberProof:
    """`address`'s roster entry in `round_id`, from the roster blob named on chain."""
    from fedledger.audit.blobs import open_blob_source
    from fedledger.chain.merkle import MerkleTreeError
    from fedledger.secagg.messages import Roster

    info = log.get_round(round_id)
    fetched = open_blob_source(store).fetch(info.roster_hash.hex())
    if not fetched.ok or fetched.data is None:
        raise ConfigError(f"round {round_id}: roster blob {fetched.name} is {fetched.status}")
    try:
        tree = Roster.from_bytes(fetched.data).tree()
    except ProtocolError as exc:
        raise ConfigError(f"round {round_id}: the roster blob does not parse: {exc}") from None
    if tree.root != info.roster_root:
        raise ConfigError(
            f"round {round_id}: the roster blob's Merkle root is not the on-chain one"
        )
    try:
        return tree.member(round_id, address)
    except MerkleTreeError as exc:
        raise ConfigError(f"round {round_id}: {exc}") from None


def _address(text: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise ConfigError(f"address {text!r}: not a 20-byte hex address")
    return str(to_checksum_address(text))


def register(app: typer.Typer) -> None:
    """Attach `fedledger participants` to the root app."""
    app.add_typer(participants_app, name="participants")
