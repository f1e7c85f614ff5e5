// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardToken} from "./interfaces/IRewardToken.sol";
import {IRoundLog, RoundInfo, Stage} from "./interfaces/IRoundLog.sol";
import {IRoundParams, RoundConfig} from "./interfaces/IRoundParams.sol";

/// @title RoundLog
/// @notice One SecAgg+ round at a time: open, roster, commitments, finalize or fail, rewards, slashes.
contract RoundLog is IRoundLog, AccessControl {
    /// @notice Role allowed to open, roster, finalize and fail rounds.
    bytes32 public constant AGGREGATOR_ROLE = keccak256("AGGREGATOR_ROLE");

    /// @dev Marks "in roster, not committed yet". Written by postRoster so that commit turns a
    ///      non-zero slot into another non-zero value (~5k gas) instead of filling a fresh one (~22k).
    bytes32 private constant _ROSTERED = bytes32(uint256(1));
    /// @dev The low 32 bits of a commitment slot hold the committed weight.
    uint256 private constant _WEIGHT_MASK = 0xffffffff;

    /// @notice Slash reason: committed, but did not answer the unmask stage when its shares were needed.
    uint8 public constant SLASH_NO_UNMASK_RESPONSE = 1;
    /// @notice Slash reason: a share it sent in the unmask stage did not reconstruct to its commitment.
    uint8 public constant SLASH_BAD_SHARE = 2;

    struct Round {
        // Slot 0: everything commit() reads or writes.
        Stage stage;
        uint32 memberCount;
        uint32 committedCount;
        uint64 commitDeadline;
        uint64 unmaskDeadline;
        uint48 openedBlock;
        // Slots 1-2.
        RoundConfig config;
        bytes32 modelHash;
        bytes32 seed;
        bytes32 rosterHash;
        bytes32 aggregateHash;
        bytes32 revealHash;
        bytes32 newModelHash;
    }

    IParticipantRegistry private immutable _registry;
    IRoundParams private immutable _params;
    IRewardToken private immutable _token;

    mapping(uint256 round => Round) private _rounds;
    mapping(uint256 round => mapping(address account => bytes32)) private _commitments;
    mapping(uint256 round => mapping(address account => bool)) private _slashed;
    mapping(address account => uint256) private _accrued;
    uint256 private _currentRound;
    bytes32 private _latestModelHash;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants and revokes the aggregator).
    /// @param aggregator First holder of AGGREGATOR_ROLE.
    /// @param registry_ The participant allowlist.
    /// @param params_ The governed round parameters.
    /// @param token_ The reward token (this contract must hold its MINTER_ROLE).
    constructor(
        address admin,
        address aggregator,
        IParticipantRegistry registry_,
        IRoundParams params_,
        IRewardToken token_
    ) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(AGGREGATOR_ROLE, aggregator);
        _registry = registry_;
        _params = params_;
        _token = token_;
    }

    /// @inheritdoc IRoundLog
    function openRound(bytes32 modelHash) external onlyRole(AGGREGATOR_ROLE) returns (uint256 round) {
        uint256 previous = _currentRound;
        if (previous != 0) {
            Stage s = _rounds[previous].stage;
            if (s == Stage.Opened || s == Stage.Rostered) revert RoundLogRoundInProgress(previous);
        }
        bytes32 latest = _latestModelHash;
        if (latest != bytes32(0) && modelHash != latest) revert RoundLogModelMismatch(latest, modelHash);

        round = previous + 1;
        RoundConfig memory c = _params.config();
        bytes32 seed = keccak256(abi.encode(blockhash(block.number - 1), block.chainid, address(this), round));
        // Until the roster arrives, commitDeadline is the roster deadline and unmaskDeadline the
        // expiry, so a round whose aggregator vanished after opening can still be expired.
        uint64 rosterDeadline = uint64(block.timestamp) + c.commitWindow;

        _currentRound = round;
        Round storage r = _rounds[round];
        r.stage = Stage.Opened;
        r.commitDeadline = rosterDeadline;
        r.unmaskDeadline = rosterDeadline + c.unmaskWindow;
        r.openedBlock = uint48(block.number);
        r.config = c;
        r.modelHash = modelHash;
        r.seed = seed;
        emit RoundOpened(round, modelHash, seed, c);
    }

    /// @inheritdoc IRoundLog
    function postRoster(uint256 round, bytes32 rosterHash, address[] calldata members)
        external
        onlyRole(AGGREGATOR_ROLE)
    {
        Round storage r = _roundIn(round, Stage.Opened);
        uint64 rosterDeadline = r.commitDeadline;
        if (block.timestamp > rosterDeadline) revert RoundLogRosterClosed(round, rosterDeadline);
        uint256 n = members.length;
        uint256 required = _max(r.config.minParticipants, uint256(r.config.threshold) + 1);
        if (n < required) revert RoundLogTooFewMembers(round, n, required);

        mapping(address => bytes32) storage slots = _commitments[round];
        uint256 minStake = r.config.minStake;
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address a = members[i];
            if (a <= previous) revert RoundLogNotAscending(i, a);
            if (!_registry.isEligible(a, minStake)) revert RoundLogNotRegistered(a);
            slots[a] = _ROSTERED;
            previous = a;
        }
        uint64 commitDeadline = uint64(block.timestamp) + r.config.commitWindow;
        uint64 unmaskDeadline = commitDeadline + r.config.unmaskWindow;
        r.stage = Stage.Rostered;
        r.memberCount = uint32(n);
        r.commitDeadline = commitDeadline;
        r.unmaskDeadline = unmaskDeadline;
        r.rosterHash = rosterHash;
        emit RosterPosted(round, rosterHash, members, commitDeadline, unmaskDeadline);
    }

    /// @inheritdoc IRoundLog
    function commit(uint256 round, bytes32 maskedUpdateHash, bytes32 seedCommitment, uint32 weight) external {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Rostered) _revertStage(round, r.stage);
        if (block.timestamp > r.commitDeadline) revert RoundLogCommitClosed(round, r.commitDeadline);
        bytes32 current = _commitments[round][msg.sender];
        if (current != _ROSTERED) _revertCommitRefused(round, current);
        uint32 maxWeight = r.config.maxWeight;
        if (weight == 0 || weight > maxWeight) revert RoundLogWeightOutOfRange(round, weight, maxWeight);
        // One slot: the digest of both hashes with its low 32 bits replaced by the weight.
        uint256 digest = uint256(keccak256(abi.encode(maskedUpdateHash, seedCommitment)));
        _commitments[round][msg.sender] = bytes32((digest & ~_WEIGHT_MASK) | weight);
        unchecked {
            ++r.committedCount; // bounded by memberCount
        }
        emit UpdateCommitted(round, msg.sender, maskedUpdateHash, seedCommitment, weight);
    }

    /// @inheritdoc IRoundLog
    function finalize(
        uint256 round,
        bytes32 aggregateHash,
        bytes32 revealHash,
        bytes32 newModelHash,
        address[] calldata survivors
    ) external onlyRole(AGGREGATOR_ROLE) {
        Round storage r = _roundIn(round, Stage.Rostered);
        if (r.committedCount < r.memberCount && block.timestamp <= r.commitDeadline) {
            revert RoundLogCommitsPending(round, r.committedCount, r.memberCount, r.commitDeadline);
        }
        if (block.timestamp > r.unmaskDeadline) revert RoundLogUnmaskClosed(round, r.unmaskDeadline);
        if (newModelHash == bytes32(0)) revert RoundLogZeroModelHash();
        uint256 n = survivors.length;
        uint256 required = _max(r.config.minParticipants, r.config.threshold);
        if (n < required) revert RoundLogTooFewSurvivors(round, n, required);

        uint256 totalWeight = _checkSurvivors(round, survivors);
        r.stage = Stage.Finalized;
        r.aggregateHash = aggregateHash;
        r.revealHash = revealHash;
        r.newModelHash = newModelHash;
        _latestModelHash = newModelHash;
        emit RoundFinalized(round, aggregateHash, revealHash, newModelHash, survivors, totalWeight);
        _credit(round, r.config, survivors, totalWeight);
    }

    /// @inheritdoc IRoundLog
    function slash(uint256 round, address account, uint8 reasonCode, bytes32 evidenceHash)
        external
        onlyRole(AGGREGATOR_ROLE)
        returns (uint256 amount)
    {
        Round storage r = _roundIn(round, Stage.Finalized);
        uint64 deadline = r.unmaskDeadline + r.config.unmaskWindow;
        if (block.timestamp > deadline) revert RoundLogSlashClosed(round, deadline);
        if (reasonCode != SLASH_NO_UNMASK_RESPONSE && reasonCode != SLASH_BAD_SHARE) {
            revert RoundLogUnknownSlashReason(reasonCode);
        }
        if (evidenceHash != r.revealHash) revert RoundLogEvidenceMismatch(round, r.revealHash, evidenceHash);
        if (!_isCommitment(_commitments[round][account])) revert RoundLogNotCommitted(round, account);
        if (_slashed[round][account]) revert RoundLogAlreadySlashed(round, account);
        _slashed[round][account] = true;
        address recipient = _params.slashRecipient();
        amount = _registry.slash(account, r.config.slashBps, recipient);
        emit ParticipantSlashed(round, account, reasonCode, evidenceHash, amount, recipient);
    }

    /// @inheritdoc IRoundLog
    function failRound(uint256 round, string calldata reason) external onlyRole(AGGREGATOR_ROLE) {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Opened && r.stage != Stage.Rostered) _revertStage(round, r.stage);
        r.stage = Stage.Failed;
        emit RoundFailed(round, reason);
    }

    /// @inheritdoc IRoundLog
    function expireRound(uint256 round) external {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Opened && r.stage != Stage.Rostered) _revertStage(round, r.stage);
        if (block.timestamp <= r.unmaskDeadline) revert RoundLogNotExpired(round, r.unmaskDeadline);
        r.stage = Stage.Failed;
        emit RoundFailed(round, "expired");
    }

    /// @inheritdoc IRoundLog
    function claimRewards() external returns (uint256 amount) {
        amount = _accrued[msg.sender];
        if (amount == 0) revert RoundLogNothingToClaim(msg.sender);
        _accrued[msg.sender] = 0;
        _token.mint(msg.sender, amount);
        emit RewardsClaimed(msg.sender, amount);
    }

    /// @inheritdoc IRoundLog
    function getRound(uint256 round) external view returns (RoundInfo memory info) {
        Round storage r = _rounds[round];
        if (r.stage == Stage.None) revert RoundLogUnknownRound(round);
        // Field by field: a struct literal of this size is too deep for the legacy code generator.
        info.stage = r.stage;
        info.modelHash = r.modelHash;
        info.seed = r.seed;
        info.config = r.config;
        info.rosterHash = r.rosterHash;
        info.memberCount = r.memberCount;
        info.committedCount = r.committedCount;
        info.commitDeadline = r.commitDeadline;
        info.unmaskDeadline = r.unmaskDeadline;
        info.aggregateHash = r.aggregateHash;
        info.revealHash = r.revealHash;
        info.newModelHash = r.newModelHash;
        info.openedBlock = r.openedBlock;
    }

    /// @inheritdoc IRoundLog
    function commitmentOf(uint256 round, address account) external view returns (bytes32) {
        return _commitments[round][account];
    }

    /// @inheritdoc IRoundLog
    function isSlashed(uint256 round, address account) external view returns (bool) {
        return _slashed[round][account];
    }

    /// @inheritdoc IRoundLog
    function currentRound() external view returns (uint256) {
        return _currentRound;
    }

    /// @inheritdoc IRoundLog
    function latestModelHash() external view returns (bytes32) {
        return _latestModelHash;
    }

    /// @inheritdoc IRoundLog
    function accruedRewards(address account) external view returns (uint256) {
        return _accrued[account];
    }

    /// @notice The registry, parameter store and token this log is wired to.
    /// @return registry_ ParticipantRegistry address.
    /// @return params_ RoundParams address.
    /// @return token_ RewardToken address.
    function wiring() external view returns (address registry_, address params_, address token_) {
        return (address(_registry), address(_params), address(_token));
    }

    function _roundIn(uint256 round, Stage wanted) private view returns (Round storage r) {
        r = _rounds[round];
        if (r.stage != wanted) _revertStage(round, r.stage);
    }

    function _revertStage(uint256 round, Stage stage) private pure {
        if (stage == Stage.None) revert RoundLogUnknownRound(round);
        revert RoundLogWrongStage(round, uint8(stage));
    }

    /// @dev Failure path only, so the registry lookup costs nothing on a successful commit.
    function _revertCommitRefused(uint256 round, bytes32 current) private view {
        if (current != bytes32(0)) revert RoundLogAlreadyCommitted(round, msg.sender);
        if (!_registry.isRegistered(msg.sender)) revert RoundLogNotRegistered(msg.sender);
        revert RoundLogNotInRoster(round, msg.sender);
    }

    function _isCommitment(bytes32 slot) private pure returns (bool) {
        return slot != bytes32(0) && slot != _ROSTERED;
    }

    /// @dev Checks the survivors are strictly ascending and committed; returns their total weight.
    function _checkSurvivors(uint256 round, address[] calldata survivors) private view returns (uint256 total) {
        mapping(address => bytes32) storage slots = _commitments[round];
        address previous = address(0);
        uint256 n = survivors.length;
        for (uint256 i = 0; i < n; ++i) {
            address a = survivors[i];
            if (a <= previous) revert RoundLogNotAscending(i, a);
            bytes32 slot = slots[a];
            if (!_isCommitment(slot)) revert RoundLogNotCommitted(round, a);
            total += uint256(slot) & _WEIGHT_MASK;
            previous = a;
        }
    }

    /// @dev Credits each survivor by the round's reward rule (docs/protocol.md section 3.1).
    ///      Mode 0: min(R, floor(cap / n)) each. Mode 1: floor(R * w / maxWeight) each, or
    ///      floor(cap * w / W) each when R * W > cap * maxWeight (W = total weight). Remainders
    ///      of the integer divisions are never minted.
    function _credit(uint256 round, RoundConfig storage c, address[] calldata survivors, uint256 totalWeight)
        private
    {
        uint256 n = survivors.length;
        uint256 reward = c.rewardPerContribution;
        uint256 cap = c.rewardCap;
        if (c.rewardMode == 0) {
            uint256 each = reward * n > cap ? cap / n : reward;
            if (each == 0) return;
            for (uint256 i = 0; i < n; ++i) {
                _accrue(survivors[i], round, each);
            }
            return;
        }
        // Mode 1: amount = floor(w * num / den), one fraction for the whole round.
        uint256 maxWeight = c.maxWeight;
        if (reward * totalWeight > cap * maxWeight) _creditByWeight(round, survivors, cap, totalWeight);
        else _creditByWeight(round, survivors, reward, maxWeight);
    }

    function _creditByWeight(uint256 round, address[] calldata survivors, uint256 num, uint256 den) private {
        mapping(address => bytes32) storage slots = _commitments[round];
        uint256 n = survivors.length;
        for (uint256 i = 0; i < n; ++i) {
            address a = survivors[i];
            uint256 amount = ((uint256(slots[a]) & _WEIGHT_MASK) * num) / den;
            if (amount != 0) _accrue(a, round, amount);
        }
    }

    function _accrue(address account, uint256 round, uint256 amount) private {
        _accrued[account] += amount;
        emit RewardAccrued(account, round, amount);
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }
}
