"""fedledger.chain: contracts' artifacts, backends, typed clients, events and deployment."""

from fedledger.chain.accounts import TEST_MNEMONIC, derive_accounts, mnemonic_accounts
from fedledger.chain.backend import ChainBackend, EmbeddedChain, RpcChain, connect
from fedledger.chain.datatypes import (
    DEFAULT_GOVERNANCE,
    DEFAULT_ROUND_CONFIG,
    DecodedEvent,
    GovernanceSettings,
    RoundConfig,
    RoundInfo,
    Stage,
    TxResult,
    production_governance,
)
from fedledger.chain.deploy import Contracts, Deployment, deploy_all
from fedledger.chain.events import fetch_events
from fedledger.chain.governor import (
    GovernorClient,
    Proposal,
    ProposalRecord,
    ProposalState,
    TimelockClient,
    VoteType,
)
from fedledger.chain.merkle import RosterTree, StandardMerkleTree
from fedledger.chain.params import RoundParamsClient
from fedledger.chain.registry import RegistryClient
from fedledger.chain.reward_token import RewardTokenClient
from fedledger.chain.rewards import reward_amounts, slash_amount
from fedledger.chain.round_log import MemberProof, RoundLogClient, SlashReason
from fedledger.chain.tx import fund

__all__ = [
    "DEFAULT_GOVERNANCE",
    "DEFAULT_ROUND_CONFIG",
    "TEST_MNEMONIC",
    "ChainBackend",
    "Contracts",
    "DecodedEvent",
    "Deployment",
    "EmbeddedChain",
    "GovernanceSettings",
    "GovernorClient",
    "MemberProof",
    "Proposal",
    "ProposalRecord",
    "ProposalState",
    "RegistryClient",
    "RewardTokenClient",
    "RosterTree",
    "RoundConfig",
    "RoundInfo",
    "RoundLogClient",
    "RoundParamsClient",
    "RpcChain",
    "SlashReason",
    "Stage",
    "StandardMerkleTree",
    "TimelockClient",
    "TxResult",
    "VoteType",
    "connect",
    "deploy_all",
    "derive_accounts",
    "fetch_events",
    "fund",
    "mnemonic_accounts",
    "production_governance",
    "reward_amounts",
    "slash_amount",
]
