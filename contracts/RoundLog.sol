// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardToken} from "./interfaces/IRewardToken.sol";
import {IRoundLog, RoundInfo, SlashReason, Stage} from "./interfaces/IRoundLog.sol";
import {IRoundParams, RoundConfig} from "./interfaces/IRoundParams.sol";

/// @title RoundLog
/// @notice One SecAgg+ round at a time: open, roster, commitments, finalize or fail, rewards, slashes.
/// @dev The owner (governance's timelock) can do one thing here: name the next aggregator, who
///      takes over only after `2 * unstakeDelay`. Minting and slashing go through this contract's
///      rules only: it is the token's and the registry's immutable minter and slasher.
contract RoundLog is IRoundLog, Ownable {
    /// @dev A roster slot below 2^64 marks "in roster, not committed yet": `(cap << 32) | 1`, cap =
    ///      min(maxWeight, the member's own cap). postRoster writes it so that commit turns a
    ///      non-zero slot into another non-zero value (~5k gas) instead of filling a fresh one
    ///      (~22k), and reads the member's cap from it instead of the config.
    uint256 private constant _ROSTERED = 1;
    uint256 private constant _MARKER_LIMIT = 1 << 64;
    /// @dev The low 32 bits of a commitment slot hold the committed weight.
    uint256 private constant _WEIGHT_MASK = 0xffffffff;

    struct Round {
        // Slot 0: everything commit() reads or writes.
        Stage stage;
        uint32 memberCount;
        uint32 committedCount;
        uint64 commitDeadline;
        uint64 unmaskDeadline;
        uint48 openedBlock;
        // Slots 1-4 (RoundConfig packs into four slots).
        RoundConfig config;
        bytes32 modelHash;
        bytes32 seed;
        bytes32 rosterHash;
        bytes32 aggregateHash;
        bytes32 revealHash;
        bytes32 newModelHash;
    }

    // The aggregator in force until `_aggregatorChangeAt` (0: no change pending), then `_nextAggregator`.
    address private _aggregator;
    uint64 private _aggregatorChangeAt;
    address private _nextAggregator;
    // Epsilon (millionths) charged by every round opened so far; shares the slot above.
    uint64 private _epsilonSpent;

    IParticipantRegistry private immutable _registry;
    IRoundParams private immutable _params;
    IRewardToken private immutable _token;

    mapping(uint256 round => Round) private _rounds;
    mapping(uint256 round => mapping(address account => bytes32)) private _commitments;
    mapping(uint256 round => mapping(address account => bool)) private _slashed;
    mapping(address account => uint256) private _accrued;
    uint256 private _currentRound;
    bytes32 private _latestModelHash;

    /// @param owner_ Governance (the timelock): may only schedule an aggregator change.
    /// @param aggregator_ The first aggregator.
    /// @param registry_ The participant allowlist (its immutable slasher must be this contract).
    /// @param params_ The governed round parameters.
    /// @param token_ The reward token (its immutable minter must be this contract).
    constructor(
        address owner_,
        address aggregator_,
        IParticipantRegistry registry_,
        IRoundParams params_,
        IRewardToken token_
    ) Ownable(owner_) {
        if (aggregator_ == address(0)) revert RoundLogZeroAggregator();
        _aggregator = aggregator_;
        _registry = registry_;
        _params = params_;
        _token = token_;
    }

    /// @dev Reverts with `RoundLogUnauthorizedAggregator` for anyone but the aggregator in force.
    modifier onlyAggregator() {
        if (msg.sender != _currentAggregator()) revert RoundLogUnauthorizedAggregator(msg.sender);
        _;
    }

    /// @inheritdoc IRoundLog
    function openRound(bytes32 modelHash) external onlyAggregator returns (uint256 round) {
        uint256 previous = _currentRound;
        if (previous != 0) {
            Stage s = _rounds[previous].stage;
            if (s == Stage.Opened || s == Stage.Rostered) revert RoundLogRoundInProgress(previous);
        }
        bytes32 latest = _latestModelHash;
        if (latest != bytes32(0) && modelHash != latest) revert RoundLogModelMismatch(latest, modelHash);

        round = previous + 1;
        RoundConfig memory c = _params.config();
        if (c.epsilonCostMicros != 0) _spendPrivacy(round, c.epsilonCostMicros, c.epsilonBudgetMicros);
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
    function postRoster(uint256 round, bytes32 rosterHash, address[] calldata members) external onlyAggregator {
        Round storage r = _roundIn(round, Stage.Opened);
        uint64 rosterDeadline = r.commitDeadline;
        if (block.timestamp > rosterDeadline) revert RoundLogRosterClosed(round, rosterDeadline);
        uint256 n = members.length;
        uint256 required = Math.max(r.config.minParticipants, uint256(r.config.threshold) + 1);
        if (n < required) revert RoundLogTooFewMembers(round, n, required);

        mapping(address => bytes32) storage slots = _commitments[round];
        uint256 minStake = r.config.minStake;
        uint256 maxWeight = r.config.maxWeight;
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address a = members[i];
            if (a <= previous) revert RoundLogNotAscending(i, a);
            uint256 cap = _registry.eligibleWeightCap(a, minStake);
            if (cap == 0) revert RoundLogNotRegistered(a);
            // commit finds the member's cap here and need not read the config.
            slots[a] = bytes32((Math.min(cap, maxWeight) << 32) | _ROSTERED);
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
        if (r.stage != Stage.Rostered) _revertStage(round, r.stage, Stage.Rostered);
        if (block.timestamp > r.commitDeadline) revert RoundLogCommitClosed(round, r.commitDeadline);
        uint256 current = uint256(_commitments[round][msg.sender]);
        unchecked {
            // One comparison for "not 0 and below 2^64": 0 wraps to the top.
            if (current - 1 >= _MARKER_LIMIT - 1) _revertCommitRefused(round, current);
        }
        uint32 maxWeight = uint32(current >> 32);
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
    ) external onlyAggregator {
        Round storage r = _roundIn(round, Stage.Rostered);
        if (r.committedCount < r.memberCount && block.timestamp <= r.commitDeadline) {
            revert RoundLogCommitsPending(round, r.committedCount, r.memberCount, r.commitDeadline);
        }
        if (block.timestamp > r.unmaskDeadline) revert RoundLogUnmaskClosed(round, r.unmaskDeadline);
        if (newModelHash == bytes32(0)) revert RoundLogZeroModelHash();
        uint256 n = survivors.length;
        uint256 required = Math.max(r.config.minParticipants, r.config.threshold);
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
    function slash(uint256 round, address account, SlashReason reason, bytes32 evidenceHash)
        external
        onlyAggregator
        returns (uint256 amount)
    {
        Round storage r = _roundIn(round, Stage.Finalized);
        uint64 deadline = r.unmaskDeadline + r.config.unmaskWindow;
        if (block.timestamp > deadline) revert RoundLogSlashClosed(round, deadline);
        if (reason == SlashReason.None) revert RoundLogUnknownSlashReason(reason);
        if (evidenceHash != r.revealHash) revert RoundLogEvidenceMismatch(round, r.revealHash, evidenceHash);
        if (!_isCommitment(_commitments[round][account])) revert RoundLogNotCommitted(round, account);
        if (_slashed[round][account]) revert RoundLogAlreadySlashed(round, account);
        _slashed[round][account] = true;
        address recipient = _params.slashRecipient();
        // The roster was posted at commitDeadline - commitWindow: only stake held then is at risk.
        uint64 rosteredAt = r.commitDeadline - r.config.commitWindow;
        amount = _registry.slash(account, r.config.slashBps, recipient, rosteredAt);
        emit ParticipantSlashed(round, account, reason, evidenceHash, amount, recipient);
    }

    /// @inheritdoc IRoundLog
    function changeAggregator(address next) external onlyOwner {
        if (next == address(0)) revert RoundLogZeroAggregator();
        address current = _currentAggregator();
        uint64 effectiveAt = uint64(block.timestamp) + 2 * uint64(_params.config().unstakeDelay);
        _aggregator = current;
        _aggregatorChangeAt = effectiveAt;
        _nextAggregator = next;
        emit AggregatorChangeScheduled(current, next, effectiveAt);
    }

    /// @inheritdoc IRoundLog
    function failRound(uint256 round, string calldata reason) external onlyAggregator {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Opened && r.stage != Stage.Rostered) _revertStage(round, r.stage, Stage.Rostered);
        r.stage = Stage.Failed;
        emit RoundFailed(round, reason);
    }

    /// @inheritdoc IRoundLog
    function expireRound(uint256 round) external {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Opened && r.stage != Stage.Rostered) _revertStage(round, r.stage, Stage.Rostered);
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
    function epsilonSpent() external view returns (uint64) {
        return _epsilonSpent;
    }

    /// @inheritdoc IRoundLog
    function accruedRewards(address account) external view returns (uint256) {
        return _accrued[account];
    }

    /// @inheritdoc IRoundLog
    function aggregator() external view returns (address) {
        return _currentAggregator();
    }

    /// @inheritdoc IRoundLog
    function pendingAggregator() external view returns (address next, uint64 effectiveAt) {
        uint64 at = _aggregatorChangeAt;
        if (at == 0 || block.timestamp >= at) return (address(0), 0);
        return (_nextAggregator, at);
    }

    /// @notice The registry, parameter store and token this log is wired to.
    /// @return registry_ ParticipantRegistry address.
    /// @return params_ RoundParams address.
    /// @return token_ RewardToken address.
    function wiring() external view returns (address registry_, address params_, address token_) {
        return (address(_registry), address(_params), address(_token));
    }

    /// @dev One slot read while no change is pending (aggregator and change time share a slot).
    function _currentAggregator() private view returns (address) {
        uint64 at = _aggregatorChangeAt;
        if (at != 0 && block.timestamp >= at) return _nextAggregator;
        return _aggregator;
    }

    /// @dev Charged at open and never refunded: a round that fails later may already have
    ///      released noised updates or a noised sum.
    function _spendPrivacy(uint256 round, uint64 cost, uint64 budget) private {
        uint64 spent = _epsilonSpent;
        if (uint256(spent) + cost > budget) revert RoundLogPrivacyBudgetExhausted(spent, cost, budget);
        spent += cost;
        _epsilonSpent = spent;
        emit PrivacyBudgetSpent(round, cost, spent, budget);
    }

    function _roundIn(uint256 round, Stage wanted) private view returns (Round storage r) {
        r = _rounds[round];
        if (r.stage != wanted) _revertStage(round, r.stage, wanted);
    }

    function _revertStage(uint256 round, Stage current, Stage expected) private pure {
        if (current == Stage.None) revert RoundLogUnknownRound(round);
        revert RoundLogWrongStage(round, current, expected);
    }

    /// @dev Failure path only, so the registry lookup costs nothing on a successful commit.
    function _revertCommitRefused(uint256 round, uint256 current) private view {
        if (current != 0) revert RoundLogAlreadyCommitted(round, msg.sender);
        if (!_registry.isRegistered(msg.sender)) revert RoundLogNotRegistered(msg.sender);
        revert RoundLogNotInRoster(round, msg.sender);
    }

    /// @dev A commitment (not 0 = outside the roster, not a roster marker below 2^64).
    function _isCommitment(bytes32 slot) private pure returns (bool) {
        return uint256(slot) >= _MARKER_LIMIT;
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
}
