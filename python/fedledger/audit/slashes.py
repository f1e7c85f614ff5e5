"""Slash audit: read each ParticipantSlashed of a round with its transaction, and justify it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from fedledger.chain.abi import decode_log
from fedledger.chain.datatypes import DecodedEvent, RoundInfo
from fedledger.chain.deploy import ZERO_ADDRESS, Contracts, Deployment
from fedledger.chain.events import fetch_events
from fedledger.chain.rewards import slash_amount
from fedledger.chain.round_log import SlashReason
from fedledger.encoding import sha256, to_hex
from fedledger.errors import FedledgerError
from fedledger.secagg.graph import build_graph
from fedledger.secagg.messages import Reveal, Roster
from fedledger.secagg.server import needed_holders
from fedledger.secagg.verify import check_bad_share

__all__ = ["SlashProblem", "SlashRecord", "justify_slash", "read_slashes", "slash_summary"]


@dataclass
class SlashRecord:
    """One ParticipantSlashed event with what its transaction and block say about it."""

    event: DecodedEvent
    timestamp: int
    """Block timestamp of the slash."""
    stake_slashed: DecodedEvent | None = None
    """The registry's StakeSlashed of the same transaction and account."""
    transfers: list[DecodedEvent] = field(default_factory=list)
    """RewardToken Transfer events of the same transaction."""
    recipient_in_force: str = ZERO_ADDRESS
    """RoundParams.slashRecipient at that block (last SlashRecipientUpdated)."""
    earlier_same_account: int = 0
    """Other ParticipantSlashed events of the same (round, account) before this one."""
    staked_before_roster: int = 0
    """Sum of the account's Staked amounts in blocks no later than the round's roster time."""

    @property
    def account(self) -> str:
        """The slashed account."""
        return str(self.event.args["account"])

    @property
    def reason(self) -> int:
        """The reason code (1 or 2)."""
        return int(self.event.args["reasonCode"])


def read_slashes(
    contracts: Contracts, deployment: Deployment, info: RoundInfo
) -> list[SlashRecord]:
    """Every ParticipantSlashed of round `info.round`, with its tx's registry and token events."""
    log = contracts.round_log
    backend = log.backend
    # Slashes may come after the next round opened (until the slash deadline): read to latest.
    events = [
        e
        for e in fetch_events(
            backend, log.address, from_block=info.opened_block, names=["ParticipantSlashed"]
        )
        if int(e.args["round"]) == info.round
    ]
    if not events:
        return []
    recipients = fetch_events(
        backend,
        contracts.params.address,
        from_block=deployment.deploy_block,
        to_block=max(e.block_number for e in events),
        names=["SlashRecipientUpdated"],
    )
    registry = to_checksum_address(contracts.registry.address)
    token = to_checksum_address(contracts.token.address)
    # Stake that a round can slash is what the account staked before its roster (protocol 3.2).
    rostered_at = info.commit_deadline - info.config.commit_window
    staked = fetch_events(
        backend,
        registry,
        from_block=deployment.deploy_block,
        to_block=max(e.block_number for e in events),
        names=["Staked"],
    )
    stamps = {
        n: int(backend.w3.eth.get_block(n)["timestamp"]) for n in {s.block_number for s in staked}
    }
    out: list[SlashRecord] = []
    seen: dict[str, int] = {}
    for e in events:
        block = backend.w3.eth.get_block(e.block_number)
        receipt = backend.w3.eth.get_transaction_receipt(e.tx_hash)  # type: ignore[arg-type]
        decoded = [d for d in map(decode_log, receipt["logs"]) if d is not None]
        record = SlashRecord(event=e, timestamp=int(block["timestamp"]))
        record.stake_slashed = next(
            (
                d
                for d in decoded
                if d.name == "StakeSlashed"
                and d.address == registry
                and d.args["account"] == e.args["account"]
            ),
            None,
        )
        record.transfers = [d for d in decoded if d.name == "Transfer" and d.address == token]
        in_force = [
            r for r in recipients if (r.block_number, r.log_index) < (e.block_number, e.log_index)
        ]
        if in_force:
            record.recipient_in_force = to_checksum_address(in_force[-1].args["recipient"])
        record.staked_before_roster = sum(
            int(s.args["amount"])
            for s in staked
            if s.args["account"] == e.args["account"] and stamps[s.block_number] <= rostered_at
        )
        record.earlier_same_account = seen.get(record.account, 0)
        seen[record.account] = seen.get(record.account, 0) + 1
        out.append(record)
    return out


class SlashProblem(Exception):
    """Why one slash is not justified."""


def justify_slash(
    record: SlashRecord,
    *,
    info: RoundInfo,
    committers: Sequence[str],
    reveal_blob: bytes | None,
    roster_blob: bytes | None,
) -> dict[str, Any]:
    """What justifies one slash (docs/governance.md section 4); SlashProblem when a fact fails."""
    a = record.event.args
    account = record.account
    deadline = info.unmask_deadline + info.config.unmask_window
    if record.timestamp > deadline:
        raise SlashProblem(f"slashed at {record.timestamp}, after the slash deadline {deadline}")
    if bytes(a["evidenceHash"]) != info.reveal_hash:
        raise SlashProblem(
            f"evidence {to_hex(a['evidenceHash'])} is not the revealHash {to_hex(info.reveal_hash)}"
        )
    if reveal_blob is None or sha256(reveal_blob) != info.reveal_hash:
        raise SlashProblem("the reveal blob is missing or does not hash to the revealHash")
    if account not in committers:
        raise SlashProblem(f"{account} did not commit in round {info.round}")
    if record.earlier_same_account:
        raise SlashProblem(f"{account} was slashed more than once in round {info.round}")
    try:
        reveal = Reveal.from_bytes(reveal_blob)
        roster = Roster.from_bytes(roster_blob or b"")
    except FedledgerError as exc:
        raise SlashProblem(f"the reveal or roster does not parse: {exc}") from None
    if record.reason == SlashReason.NO_UNMASK_RESPONSE:
        if account not in reveal.survivors:
            raise SlashProblem(f"{account} is not a survivor in the reveal")
        if account in reveal.unmask_responses:
            raise SlashProblem(f"{account} answered the unmask request (its response is published)")
        graph = build_graph(len(roster), info.config.neighbours, info.seed)
        addrs = roster.addresses
        neighbours = {u: [addrs[j] for j in graph.neighbours(i)] for i, u in enumerate(addrs)}
        if account not in needed_holders(neighbours, reveal.survivors, reveal.mask_keys):
            raise SlashProblem(f"no secret {account} held a share of was reconstructed")
        grounds: Any = "silent survivor whose shares were needed"
    elif record.reason == SlashReason.BAD_SHARE:
        accusations = reveal.bad_shares.get(account, ())
        if not accusations:
            raise SlashProblem(f"{account} is not among the reveal's bad-share senders")
        proven = []
        for e in accusations:
            why = check_bad_share(reveal, roster, info.config.threshold, account, e.owner, e.secret)
            if why:
                raise SlashProblem(f"bad share of {e.owner}'s {e.secret} not proven: {why}")
            proven.append(f"{e.owner}/{e.secret}")
        grounds = proven
    else:
        raise SlashProblem(f"unknown reason code {record.reason}")
    _check_amount(record, info)
    return {
        "account": account,
        "reason": record.reason,
        "amount": str(a["amount"]),
        "grounds": grounds,
    }


def _check_amount(record: SlashRecord, info: RoundInfo) -> None:
    a = record.event.args
    amount, recipient = int(a["amount"]), to_checksum_address(a["recipient"])
    ss = record.stake_slashed
    if ss is None:
        raise SlashProblem("no StakeSlashed event of the account in the slash transaction")
    before = int(ss.args["amount"]) + int(ss.args["stake"])
    at_risk = int(ss.args["atRisk"])
    if at_risk > before:
        raise SlashProblem(f"stake at risk {at_risk} exceeds the stake {before} before the slash")
    if at_risk > record.staked_before_roster:
        raise SlashProblem(
            f"stake at risk {at_risk} exceeds what the account staked before the roster "
            f"({record.staked_before_roster}): stake added later was taken"
        )
    want = slash_amount(at_risk, info.config.slash_bps)
    if amount != want or int(ss.args["amount"]) != amount:
        raise SlashProblem(
            f"amount {amount} != floor({at_risk} * {info.config.slash_bps} / 10000) = {want}"
        )
    if recipient != record.recipient_in_force:
        raise SlashProblem(
            f"recipient {recipient} is not the slash recipient in force "
            f"({record.recipient_in_force})"
        )
    if amount:
        registry = to_checksum_address(ss.address)
        moved = [
            t
            for t in record.transfers
            if (t.args["from"], t.args["to"], int(t.args["value"])) == (registry, recipient, amount)
        ]
        if not moved:
            raise SlashProblem(f"no Transfer({registry}, {recipient}, {amount}) in the transaction")


def slash_summary(records: Sequence[SlashRecord]) -> list[Mapping[str, Any]]:
    """Plain view of the slashes (for check outputs)."""
    return [
        {"account": r.account, "reason": r.reason, "amount": str(r.event.args["amount"])}
        for r in records
    ]
