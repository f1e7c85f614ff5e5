"""`fedledger participants`: keys, the registrar's allowlist, stakes, and who is registered."""

from __future__ import annotations

from pathlib import Path

import typer

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
from fedledger.errors import ConfigError

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
) -> None:
    """Mint the sender's accrued rewards to it; by default also self-delegate its votes."""
    sender = sender_account(key, key_file)
    _, _, contracts = attach(rpc, deployment)
    delegated = contracts.token.ensure_self_delegated(sender=sender) if delegate else None
    tx = contracts.round_log.claim_rewards(sender=sender)
    echo_json(
        {
            "address": sender.address,
            "tx": tx.tx_hash,
            "claimed": format_tokens(int(tx.named("RewardsClaimed")[0].args["amount"])),
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
    """Allowlisted, eligible for rosters, stake, token balance and rewards waiting to be claimed."""
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
                "accruedRewards": format_tokens(contracts.round_log.accrued_rewards(a)),
            }
        )
    echo_json({"participants": rows})


def _address(text: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise ConfigError(f"address {text!r}: not a 20-byte hex address")
    return str(to_checksum_address(text))


def register(app: typer.Typer) -> None:
    """Attach `fedledger participants` to the root app."""
    app.add_typer(participants_app, name="participants")
