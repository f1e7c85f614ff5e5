"""`fedledger gov`: propose round-parameter changes, vote, queue, execute, delegate, show."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fedledger.cli.common import (
    DeploymentOpt,
    KeyFileOpt,
    KeyOpt,
    RpcOpt,
    parse_tokens,
)
from fedledger.cli.common import attach as _attach
from fedledger.cli.common import echo_json as _echo
from fedledger.cli.common import sender_account as _account
from fedledger.errors import ConfigError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from fedledger.chain import Contracts, Proposal, RoundConfig

gov_app = typer.Typer(help="On-chain governance of the round parameters.", no_args_is_help=True)

ZERO_ADDRESS = "0x" + "00" * 20
SUPPORT = {"for": 1, "against": 0, "abstain": 2}

ProposalOpt = typer.Option(..., "--proposal", help="Proposal id (decimal, as `gov show` prints).")


def _config_json(config: RoundConfig) -> dict[str, Any]:
    # Token amounts as strings: JSON readers without big integers would round them.
    out: dict[str, Any] = dict(config.to_json())
    for k in ("reward_per_contribution", "reward_cap", "min_stake"):
        out[k] = str(out[k])
    return out


_DP_FIELDS = (
    "dp_mode",
    "noise_multiplier_millis",
    "dp_clip_norm_micros",
    "dp_sample_rate_ppm",
    "dp_steps_per_round",
    "dp_delta_atto",
    "epsilon_cost_micros",
    "epsilon_budget_micros",
)


def _dp_given(*values: float | None) -> dict[str, float]:
    """The DP options given (in `_with_dp`'s key order), each checked to be >= 0."""
    names = ("mode", "noise_multiplier", "clip_norm", "delta", "sample_rate", "steps_per_round")
    out = {k: v for k, v in zip((*names, "epsilon_budget"), values, strict=True) if v is not None}
    for name, number in out.items():
        if number < 0:
            raise ConfigError(f"{name.replace('_', '-')}: must be >= 0, got {number}")
    return out


def _with_dp(
    current: RoundConfig, config: RoundConfig, given: dict[str, float], changes: dict[str, int]
) -> RoundConfig:
    """`config` with the given DP options and the accountant's per-round cost (protocol 3.3).

    The DP fields that differ from `current` are added to `changes` (for the CLI's output).
    """
    from fedledger.fl.dp_accountant import with_privacy

    new = with_privacy(
        config,
        mode=int(given.get("mode", config.dp_mode)),
        noise_multiplier=float(given.get("noise_multiplier", config.noise_multiplier)),
        clip_norm=float(given.get("clip_norm", config.dp_clip_norm)),
        delta=float(given.get("delta", config.dp_delta)),
        epsilon_budget=float(given.get("epsilon_budget", config.epsilon_budget)),
        sample_rate=float(given.get("sample_rate", config.dp_sample_rate)),
        steps_per_round=int(given.get("steps_per_round", config.dp_steps_per_round)),
    )
    before = current.to_json()
    changes.update({k: v for k, v in new.to_json().items() if k in _DP_FIELDS and v != before[k]})
    return new


@gov_app.command("propose-params")
def propose_params(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    description: str = typer.Option(..., "--description", help="What the proposal does and why."),
    neighbours: int | None = typer.Option(None, help="k, neighbours per participant."),
    threshold: int | None = typer.Option(None, help="t, shares needed to reconstruct."),
    clip_range_micros: int | None = typer.Option(None, help="Clipping range c x 10^6."),
    quant_bits: int | None = typer.Option(None, help="Quantization bits (1..31)."),
    max_weight: int | None = typer.Option(None, help="Cap on a participant's FedAvg weight."),
    min_participants: int | None = typer.Option(None, help="Minimum roster and survivors."),
    commit_window: int | None = typer.Option(None, help="Seconds from roster to commit deadline."),
    unmask_window: int | None = typer.Option(None, help="Seconds from commit to unmask deadline."),
    reward_mode: int | None = typer.Option(None, help="0 = fixed per survivor, 1 = by weight."),
    cohort_size: int | None = typer.Option(
        None,
        help="Most members a round takes, sampled by the chain from the candidates (0 = all).",
    ),
    reward: str | None = typer.Option(
        None, help="FLR per survivor (mode 0) or per full-weight survivor (mode 1)."
    ),
    reward_cap: str | None = typer.Option(None, help="Most FLR credited per round."),
    stake: str | None = typer.Option(None, help="FLR a participant must stake to be rostered."),
    slash_bps: int | None = typer.Option(None, help="Basis points of the stake one slash takes."),
    unstake_delay: int | None = typer.Option(
        None, help="Seconds from unstake request to withdraw."
    ),
    slash_recipient: str | None = typer.Option(
        None, help="Treasury receiving slashed stake, or 'burn'."
    ),
    dp_mode: int | None = typer.Option(None, help="DP: 0 none, 1 DP-SGD, 2 distributed."),
    noise_multiplier: float | None = typer.Option(None, help="DP noise multiplier z."),
    dp_clip_norm: float | None = typer.Option(None, help="DP L2 clip norm."),
    dp_delta: float | None = typer.Option(None, help="delta of one round."),
    dp_sample_rate: float | None = typer.Option(None, help="DP-SGD Poisson sampling rate."),
    dp_steps: int | None = typer.Option(None, help="DP-SGD steps per participant per round."),
    epsilon_budget: float | None = typer.Option(None, help="The federation's epsilon budget."),
) -> None:
    """Propose new round parameters: the current ones with the given fields replaced."""
    from fedledger.chain import GovernorClient

    changes: dict[str, int] = {
        k: v
        for k, v in {
            "neighbours": neighbours,
            "threshold": threshold,
            "clip_range_micros": clip_range_micros,
            "quant_bits": quant_bits,
            "max_weight": max_weight,
            "min_participants": min_participants,
            "commit_window": commit_window,
            "unmask_window": unmask_window,
            "reward_mode": reward_mode,
            "cohort_size": cohort_size,
            "slash_bps": slash_bps,
            "unstake_delay": unstake_delay,
        }.items()
        if v is not None
    }
    for name, text in (("reward", reward), ("reward-cap", reward_cap), ("stake", stake)):
        if text is not None:
            field = {"reward": "reward_per_contribution", "reward-cap": "reward_cap"}.get(
                name, "min_stake"
            )
            changes[field] = parse_tokens(text, what=name)
    for name, value in changes.items():
        if value < 0:
            raise ConfigError(f"{name.replace('_', '-')}: must be >= 0, got {value}")
    recipient = _slash_recipient(slash_recipient)
    dp = _dp_given(
        dp_mode, noise_multiplier, dp_clip_norm, dp_delta, dp_sample_rate, dp_steps, epsilon_budget
    )
    if not changes and recipient is None and not dp:
        raise ConfigError("nothing to change: give at least one parameter option")
    sender = _account(key, key_file)
    _backend, _record, c = _attach(rpc, deployment)
    current = c.params.config()
    new = replace(current, **changes)
    new = _with_dp(current, new, dp, changes) if dp else new
    proposal = GovernorClient.params_proposal(c.params, new, description, slash_recipient=recipient)
    pid, tx = c.governor.submit(proposal, sender=sender)
    _echo(
        {
            "proposalId": str(pid),
            "tx": tx.tx_hash,
            "description": description,
            "changes": {k: str(v) for k, v in changes.items()},
            "slashRecipient": recipient,
            "config": _config_json(new),
            "voteStart": c.governor.proposal_snapshot(pid),
            "voteEnd": c.governor.proposal_deadline(pid),
        }
    )


def _slash_recipient(text: str | None) -> str | None:
    """The --slash-recipient option: None (unchanged), the zero address for 'burn', or an
    address (ConfigError otherwise)."""
    from eth_utils import is_address, to_checksum_address

    if text is None:
        return None
    if text == "burn":
        return ZERO_ADDRESS
    if is_address(text):
        return to_checksum_address(text)
    raise ConfigError(f"slash-recipient: {text!r} is not an address or 'burn'")


@gov_app.command("vote")
def vote(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    proposal: str = ProposalOpt,
    support: str = typer.Option(..., "--support", help="for | against | abstain"),
    reason: str = typer.Option("", "--reason", help="Optional reason, recorded on chain."),
) -> None:
    """Cast the sender's vote (its delegated voting power at the proposal's snapshot)."""
    from fedledger.chain import VoteType

    choice = SUPPORT.get(support.lower())
    if choice is None:
        raise ConfigError(f"support: {support!r} is not one of for, against, abstain")
    pid = _proposal_id(proposal)
    sender = _account(key, key_file)
    _backend, _record, c = _attach(rpc, deployment)
    tx = c.governor.vote(pid, VoteType(choice), reason=reason, sender=sender)
    cast = tx.named("VoteCast") + tx.named("VoteCastWithParams")
    weight = str(cast[0].args["weight"]) if cast else "0"
    _echo({"proposalId": str(pid), "support": support.lower(), "weight": weight, "tx": tx.tx_hash})


@gov_app.command("queue")
def queue(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    proposal: str = ProposalOpt,
) -> None:
    """Queue a succeeded proposal in the timelock (anyone may)."""
    pid, sender, c, found = _proposal_on_chain(rpc, deployment, key, key_file, proposal)
    tx = c.governor.queue_proposal(found, sender=sender)
    _echo({"proposalId": str(pid), "eta": c.governor.proposal_eta(pid), "tx": tx.tx_hash})


@gov_app.command("execute")
def execute(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    proposal: str = ProposalOpt,
) -> None:
    """Execute a queued proposal once the timelock delay has passed (anyone may)."""
    pid, sender, c, found = _proposal_on_chain(rpc, deployment, key, key_file, proposal)
    tx = c.governor.execute_proposal(found, sender=sender)
    _echo(
        {
            "proposalId": str(pid),
            "tx": tx.tx_hash,
            "config": _config_json(c.params.config()),
            "slashRecipient": c.params.slash_recipient(),
        }
    )


@gov_app.command("delegate")
def delegate(
    rpc: str = RpcOpt,
    deployment: Path = DeploymentOpt,
    key: str | None = KeyOpt,
    key_file: Path | None = KeyFileOpt,
    to: str | None = typer.Option(None, "--to", help="Delegatee (default: the sender itself)."),
) -> None:
    """Delegate the sender's RewardToken voting power (needed before voting)."""
    from eth_utils import is_address, to_checksum_address

    if to is not None and not is_address(to):
        raise ConfigError(f"to: {to!r} is not an address")
    sender = _account(key, key_file)
    _backend, _record, c = _attach(rpc, deployment)
    target = to_checksum_address(to) if to is not None else sender.address
    tx = c.token.delegate(target, sender=sender)
    _echo({"delegator": sender.address, "delegatee": target, "tx": tx.tx_hash})


@gov_app.command("show")
def show(rpc: str = RpcOpt, deployment: Path = DeploymentOpt) -> None:
    """Current parameters, slash recipient, governance settings and every proposal with state."""
    backend, record, c = _attach(rpc, deployment)
    proposals = c.governor.proposals(from_block=record.deploy_block)
    _echo(
        {
            "chainId": backend.chain_id,
            "block": backend.block_number,
            "config": _config_json(c.params.config()),
            "slashRecipient": c.params.slash_recipient(),
            "governance": {
                "votingDelay": c.governor.voting_delay(),
                "votingPeriod": c.governor.voting_period(),
                "timelockDelay": c.timelock.min_delay(),
            },
            "proposals": [p.to_json() for p in proposals],
        }
    )


def _proposal_on_chain(
    rpc: str, deployment: Path, key: str | None, key_file: Path | None, proposal: str
) -> tuple[int, LocalAccount, Contracts, Proposal]:
    """Proposal id, sender, contracts and the proposal as created on chain (queue, execute)."""
    pid = _proposal_id(proposal)
    sender = _account(key, key_file)
    _backend, record, c = _attach(rpc, deployment)
    return pid, sender, c, c.governor.find_proposal(pid, from_block=record.deploy_block).proposal


def _proposal_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise ConfigError(f"proposal: {text!r} is not a proposal id") from None
    if value <= 0:
        raise ConfigError(f"proposal: {text!r} is not a proposal id")
    return value


def register(app: typer.Typer) -> None:
    """Attach `fedledger gov ...` to the root app."""
    app.add_typer(gov_app, name="gov")


__all__ = ["gov_app", "parse_tokens", "register"]
