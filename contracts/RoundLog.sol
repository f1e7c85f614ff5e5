// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRewardToken} from "./interfaces/IRewardToken.sol";
import {ILedgerPrimer} from "./interfaces/ILedgerPrimer.sol";
import {IRoundLog, RewardClaim, RosterMember, RoundInfo, SlashReason, Stage} from "./interfaces/IRoundLog.sol";
import {IRoundParams, RoundConfig} from "./interfaces/IRoundParams.sol";

/// @title RoundLog
/// @notice One SecAgg+ round at a time: open, roster, commitments, finalize or fail, rewards, slashes.
/// @dev The owner (governance's timelock) can do one thing here: name the next aggregator, who
///      takes over only after `2 * unstakeDelay`. Minting and slashing go through this contract's
///      rules only: it is the token's and the registry's immutable minter and slasher.
contract RoundLog is IRoundLog, Ownable {
    /// @notice The most committers `finalize` may exclude (its cost grows with this list only).
    uint256 public constant MAX_EXCLUDED = 256;
    /// @notice Ring words per account in the weight ledger; each holds seven consecutive rounds.
    uint256 public constant LEDGER_WORDS = 8;
    /// @notice The largest weight the ledger stores (31 bits; the 32nd is the entry's claimed flag).
    uint32 public constant MAX_LEDGER_WEIGHT = 2 ** 31 - 1;
    // Ledger word layout: entry j (bits 32*j .. 32*j+31) is round r with r % 7 == j: 31 bits of
    // weight, then the claimed flag; bits 224..255 hold the tag r / 7 + 1 (0: never written).
    uint256 private constant _ROUNDS_PER_WORD = 7;
    uint256 private constant _TAG_SHIFT = 224;
    uint256 private constant _ENTRY_MASK = 0xffffffff;
    uint256 private constant _CLAIMED = 0x80000000;
    // The tag of a primed word: no round has it, so the first commit into the word overwrites it.
    uint256 private constant _PRIMED_TAG = 0xffffffff;
    // The weights and the claimed flags of all seven entries of a word.
    uint256 private constant _ALL_WEIGHTS = 0x7fffffff7fffffff7fffffff7fffffff7fffffff7fffffff7fffffff;
    uint256 private constant _ALL_CLAIMED = 0x80000000800000008000000080000000800000008000000080000000;

    struct Round {
        // Slot 0: everything commit() reads or writes besides the root.
        Stage stage;
        uint32 memberCount;
        uint32 committedCount;
        uint40 commitDeadline;
        uint40 rosteredAt;
        uint64 committedWeight;
        uint32 maxWeight;
        bool stakeRequired; // config.minStake != 0: only then does commit read it
        // Slot 1.
        bytes32 rosterRoot;
        // Slot 2: set at open and finalize.
        uint64 unmaskDeadline;
        uint48 openedBlock;
        uint32 survivorCount;
        uint64 totalWeight;
        // Slot 3: a survivor's reward is floor(weight * rewardNum / rewardDen), or rewardNum when
        // rewardDen is 0 (fixed mode), fixed at finalize.
        uint128 rewardNum;
        uint128 rewardDen;
        // Slot 4: set by postCandidates (rounds with a cohort size only).
        uint32 candidateCount;
        uint48 candidatesBlock;
        RoundConfig config;
        bytes32 modelHash;
        bytes32 seed;
        bytes32 rosterHash;
        bytes32 aggregateHash;
        bytes32 revealHash;
        bytes32 newModelHash;
        bytes32 candidatesHash;
        bytes32 sampleSeed;
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
    // Every account's committed weights and claimed flags: round r sits in ring word
    // (r / 7) % LEDGER_WORDS. Once primed (or written once), a commit only rewrites a non-zero
    // word (~5k gas), never a fresh one (~22k): docs/protocol.md section 2.3.
    mapping(address account => mapping(uint256 slot => uint256)) private _ledger;
    // A ring word about to be reused while it still held an unclaimed weight, by its tag: no
    // reward is ever forfeited.
    mapping(address account => mapping(uint256 tag => uint256)) private _archive;
    // Bit i%256 of word i/256: roster index i was excluded by finalize.
    mapping(uint256 round => mapping(uint256 word => uint256)) private _excluded;
    mapping(uint256 round => mapping(address account => bool)) private _slashed;
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
        r.commitDeadline = uint40(rosterDeadline);
        r.unmaskDeadline = rosterDeadline + c.unmaskWindow;
        r.openedBlock = uint48(block.number);
        r.config = c;
        r.modelHash = modelHash;
        r.seed = seed;
        emit RoundOpened(round, modelHash, seed, c);
    }

    /// @inheritdoc IRoundLog
    function postRoster(uint256 round, bytes32 rosterHash, bytes32 rosterRoot, uint32 memberCount)
        external
        onlyAggregator
    {
        Round storage r = _roundIn(round, Stage.Opened);
        uint64 rosterDeadline = r.commitDeadline;
        if (block.timestamp > rosterDeadline) revert RoundLogRosterClosed(round, rosterDeadline);
        if (rosterRoot == bytes32(0)) revert RoundLogEmptyRoster(round);
        uint256 required = Math.max(r.config.minParticipants, uint256(r.config.threshold) + 1);
        if (memberCount < required) revert RoundLogTooFewMembers(round, memberCount, required);
        if (r.config.cohortSize != 0) _sample(r, round, memberCount);

        uint64 commitDeadline = uint64(block.timestamp) + r.config.commitWindow;
        uint64 unmaskDeadline = commitDeadline + r.config.unmaskWindow;
        r.stage = Stage.Rostered;
        r.memberCount = memberCount;
        r.commitDeadline = uint40(commitDeadline);
        r.rosteredAt = uint40(block.timestamp);
        r.maxWeight = r.config.maxWeight;
        r.stakeRequired = r.config.minStake != 0;
        r.rosterRoot = rosterRoot;
        r.unmaskDeadline = unmaskDeadline;
        r.rosterHash = rosterHash;
        emit RosterPosted(round, rosterHash, rosterRoot, memberCount, commitDeadline, unmaskDeadline);
    }

    /// @inheritdoc IRoundLog
    function postCandidates(uint256 round, bytes32 candidatesHash, uint32 candidateCount)
        external
        onlyAggregator
    {
        Round storage r = _roundIn(round, Stage.Opened);
        uint32 cohortSize = r.config.cohortSize;
        if (cohortSize == 0) revert RoundLogNoCohortSampling(round);
        if (r.candidatesBlock != 0) revert RoundLogCandidatesAlreadyPosted(round);
        uint64 rosterDeadline = r.commitDeadline;
        if (block.timestamp > rosterDeadline) revert RoundLogRosterClosed(round, rosterDeadline);
        if (candidatesHash == bytes32(0)) revert RoundLogEmptyCandidates(round);
        uint256 required = Math.max(r.config.minParticipants, uint256(r.config.threshold) + 1);
        if (candidateCount < required) revert RoundLogTooFewMembers(round, candidateCount, required);

        r.candidateCount = candidateCount;
        r.candidatesBlock = uint48(block.number);
        r.candidatesHash = candidatesHash;
        emit CandidatesPosted(round, candidatesHash, candidateCount, cohortSize);
    }

    /// @inheritdoc IRoundLog
    function commit(
        uint256 round,
        bytes32 maskedUpdateHash,
        bytes32 seedCommitment,
        uint32 weight,
        uint256 index,
        bytes32 bundleHash,
        bytes32[] calldata proof
    ) external {
        Round storage r = _rounds[round];
        if (r.stage != Stage.Rostered) _revertStage(round, r.stage, Stage.Rostered);
        if (block.timestamp > r.commitDeadline) revert RoundLogCommitClosed(round, r.commitDeadline);
        if (index >= r.memberCount) revert RoundLogIndexOutOfRange(round, index, r.memberCount);
        if (!MerkleProof.verifyCalldata(proof, r.rosterRoot, _leaf(index, msg.sender, bundleHash))) {
            revert RoundLogNotInRoster(round, msg.sender, index);
        }
        uint32 maxWeight = _weightCap(r);
        if (weight == 0 || weight > maxWeight) revert RoundLogWeightOutOfRange(round, weight, maxWeight);
        _recordWeight(round, weight);
        unchecked {
            // Bounded by memberCount < 2^32 and memberCount * (2^32 - 1) < 2^64.
            ++r.committedCount;
            r.committedWeight += weight;
        }
        emit UpdateCommitted(round, msg.sender, maskedUpdateHash, seedCommitment, weight);
    }

    /// @inheritdoc IRoundLog
    function finalize(
        uint256 round,
        bytes32 aggregateHash,
        bytes32 revealHash,
        bytes32 newModelHash,
        RosterMember[] calldata excluded
    ) external onlyAggregator {
        Round storage r = _roundIn(round, Stage.Rostered);
        if (r.committedCount < r.memberCount && block.timestamp <= r.commitDeadline) {
            revert RoundLogCommitsPending(round, r.committedCount, r.memberCount, r.commitDeadline);
        }
        if (block.timestamp > r.unmaskDeadline) revert RoundLogUnmaskClosed(round, r.unmaskDeadline);
        if (newModelHash == bytes32(0)) revert RoundLogZeroModelHash();
        if (excluded.length > MAX_EXCLUDED) revert RoundLogTooManyExcluded(excluded.length, MAX_EXCLUDED);
        uint256 n = r.committedCount - excluded.length;
        uint256 required = Math.max(r.config.minParticipants, r.config.threshold);
        if (n < required) revert RoundLogTooFewSurvivors(round, n, required);

        (uint256 excludedWeight, uint256[] memory indexes) = _exclude(r, round, excluded);
        uint256 totalWeight = r.committedWeight - excludedWeight;
        r.stage = Stage.Finalized;
        r.survivorCount = uint32(n);
        r.totalWeight = uint64(totalWeight);
        r.aggregateHash = aggregateHash;
        r.revealHash = revealHash;
        r.newModelHash = newModelHash;
        _latestModelHash = newModelHash;
        _fixReward(r, n, totalWeight);
        emit RoundFinalized(round, aggregateHash, revealHash, newModelHash, indexes, uint32(n), totalWeight);
    }

    /// @inheritdoc IRoundLog
    function slash(
        uint256 round,
        address account,
        RewardClaim calldata member,
        SlashReason reason,
        bytes32 evidenceHash
    ) external onlyAggregator returns (uint256 amount) {
        Round storage r = _roundIn(round, Stage.Finalized);
        uint64 deadline = r.unmaskDeadline + r.config.unmaskWindow;
        if (block.timestamp > deadline) revert RoundLogSlashClosed(round, deadline);
        if (reason == SlashReason.None) revert RoundLogUnknownSlashReason(reason);
        if (evidenceHash != r.revealHash) revert RoundLogEvidenceMismatch(round, r.revealHash, evidenceHash);
        if (member.round != round) revert RoundLogUnknownRound(member.round);
        _checkMember(r, round, account, member.index, member.bundleHash, member.proof);
        if ((_entryOf(account, round) & MAX_LEDGER_WEIGHT) == 0) revert RoundLogNotCommitted(round, member.index);
        if (_slashed[round][account]) revert RoundLogAlreadySlashed(round, account);
        _slashed[round][account] = true;
        address recipient = _params.slashRecipient();
        // The roster was posted at commitDeadline - commitWindow: only stake held then is at risk.
        amount = _registry.slash(account, r.config.slashBps, recipient, r.rosteredAt);
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
    function claim(RewardClaim[] calldata claims) external returns (uint256 amount) {
        uint256 n = claims.length;
        if (n == 0) revert RoundLogNothingToClaim(msg.sender);
        for (uint256 i = 0; i < n; ++i) {
            amount += _claimOne(claims[i]);
        }
        if (amount != 0) _token.mint(msg.sender, amount);
    }

    /// @inheritdoc ILedgerPrimer
    function prime(address[] calldata accounts) external {
        uint256 n = accounts.length;
        for (uint256 i = 0; i < n; ++i) {
            mapping(uint256 => uint256) storage ring = _ledger[accounts[i]];
            for (uint256 slot = 0; slot < LEDGER_WORDS; ++slot) {
                if (ring[slot] == 0) ring[slot] = _PRIMED_TAG << _TAG_SHIFT;
            }
        }
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
        info.rosterRoot = r.rosterRoot;
        info.committedWeight = r.committedWeight;
        info.survivorCount = r.survivorCount;
        info.totalWeight = r.totalWeight;
        info.aggregateHash = r.aggregateHash;
        info.revealHash = r.revealHash;
        info.newModelHash = r.newModelHash;
        info.openedBlock = r.openedBlock;
        info.candidatesHash = r.candidatesHash;
        info.candidateCount = r.candidateCount;
        info.candidatesBlock = r.candidatesBlock;
        info.sampleSeed = r.sampleSeed;
    }

    /// @inheritdoc IRoundLog
    function weightOf(uint256 round, address account) external view returns (uint32) {
        return uint32(_entryOf(account, round) & MAX_LEDGER_WEIGHT);
    }

    /// @inheritdoc IRoundLog
    function isExcluded(uint256 round, uint256 index) external view returns (bool) {
        return _bit(_excluded[round], index);
    }

    /// @inheritdoc IRoundLog
    function isClaimed(uint256 round, address account) external view returns (bool) {
        return _entryOf(account, round) & _CLAIMED != 0;
    }

    /// @inheritdoc IRoundLog
    function claimable(uint256 round, address account, uint256 index) external view returns (uint256) {
        Round storage r = _rounds[round];
        uint256 entry = _entryOf(account, round);
        uint256 w = entry & MAX_LEDGER_WEIGHT;
        if (r.stage != Stage.Finalized || w == 0) return 0;
        if (_bit(_excluded[round], index) || entry & _CLAIMED != 0) return 0;
        return _rewardFor(r, w);
    }

    /// @inheritdoc IRoundLog
    function ledgerWords(uint256 round, address account) external view returns (uint256 ringWord, uint256 archiveWord) {
        (uint256 tag, uint256 slot,) = _position(round);
        return (_ledger[account][slot], _archive[account][tag]);
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

    /// @dev Fixes the sample seed of a round with a cohort size. The candidates were fixed in an
    ///      earlier block whose hash nobody knew when they were posted, so the aggregator cannot
    ///      steer the sample by choosing whom to list (docs/threat-model.md). Which candidates the
    ///      seed picks is checked off chain (audit check `cohort_sample`): the chain stores no member.
    function _sample(Round storage r, uint256 round, uint32 memberCount) private {
        uint48 candidatesBlock = r.candidatesBlock;
        if (candidatesBlock == 0) revert RoundLogCandidatesMissing(round);
        if (block.number <= candidatesBlock) revert RoundLogSampleSeedPending(round, candidatesBlock);
        bytes32 anchor = blockhash(candidatesBlock);
        if (anchor == bytes32(0)) revert RoundLogSampleSeedExpired(round, candidatesBlock);
        uint256 expected = Math.min(r.config.cohortSize, r.candidateCount);
        if (memberCount != expected) revert RoundLogCohortSizeMismatch(round, memberCount, expected);
        bytes32 sampleSeed = keccak256(abi.encode(r.seed, r.candidatesHash, anchor));
        r.sampleSeed = sampleSeed;
        emit CohortSampled(round, sampleSeed, candidatesBlock);
    }

    /// @dev min(the round's maxWeight, the caller's registry cap, MAX_LEDGER_WEIGHT); reverts when the caller is not
    ///      eligible with the stake it held since the roster was posted.
    function _weightCap(Round storage r) private view returns (uint32) {
        uint256 minStake = r.stakeRequired ? r.config.minStake : 0;
        uint256 cap = _registry.eligibleWeightCapAt(msg.sender, minStake, r.rosteredAt);
        if (cap == 0) revert RoundLogNotRegistered(msg.sender);
        return uint32(Math.min(Math.min(cap, r.maxWeight), MAX_LEDGER_WEIGHT));
    }

    /// @dev Writes the caller's weight for `round` into its ledger, once. A ring word still
    ///      tagged with an older group of rounds (or primed) is overwritten, after it was copied
    ///      to the archive if any of its weights is unclaimed: the only fresh write, and the
    ///      only case in which a primed account's commit writes a slot that was zero.
    function _recordWeight(uint256 round, uint32 weight) private {
        (uint256 tag, uint256 slot, uint256 shift) = _position(round);
        if (tag >= _PRIMED_TAG) revert RoundLogLedgerExhausted(round);
        mapping(uint256 => uint256) storage ring = _ledger[msg.sender];
        uint256 word = ring[slot];
        uint256 wordTag = word >> _TAG_SHIFT;
        if (wordTag == tag) {
            if ((word >> shift) & _ENTRY_MASK != 0) revert RoundLogAlreadyCommitted(round, msg.sender);
            ring[slot] = word | (uint256(weight) << shift);
            return;
        }
        // Adding 0x7fffffff to a 31-bit weight sets bit 31 exactly when the weight is non-zero.
        if (((word & _ALL_WEIGHTS) + _ALL_WEIGHTS) & ~word & _ALL_CLAIMED != 0) {
            _archive[msg.sender][wordTag] = word;
        }
        ring[slot] = (tag << _TAG_SHIFT) | (uint256(weight) << shift);
    }

    /// @dev Where `round` lives in every account's ledger: its tag, ring slot and entry shift.
    function _position(uint256 round) private pure returns (uint256 tag, uint256 slot, uint256 shift) {
        uint256 group = round / _ROUNDS_PER_WORD;
        tag = group + 1;
        slot = group % LEDGER_WORDS;
        shift = (round % _ROUNDS_PER_WORD) << 5;
    }

    /// @dev `account`'s 32-bit ledger entry for `round` (weight and claimed flag; 0: none kept).
    function _entryOf(address account, uint256 round) private view returns (uint256) {
        (uint256 tag, uint256 slot, uint256 shift) = _position(round);
        uint256 word = _ledger[account][slot];
        if (word >> _TAG_SHIFT != tag) word = _archive[account][tag];
        return (word >> shift) & _ENTRY_MASK;
    }

    /// @dev OpenZeppelin's standard Merkle tree leaf of (index, account, bundleHash).
    function _leaf(uint256 index, address account, bytes32 bundleHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, bundleHash))));
    }

    /// @dev Reverts unless `proof` shows (index, account, bundleHash) in the round's roster.
    function _checkMember(
        Round storage r,
        uint256 round,
        address account,
        uint256 index,
        bytes32 bundleHash,
        bytes32[] calldata proof
    ) private view {
        if (index >= r.memberCount) revert RoundLogIndexOutOfRange(round, index, r.memberCount);
        if (!MerkleProof.verifyCalldata(proof, r.rosterRoot, _leaf(index, account, bundleHash))) {
            revert RoundLogNotInRoster(round, account, index);
        }
    }

    function _bit(mapping(uint256 => uint256) storage bits, uint256 index) private view returns (bool) {
        return (bits[index >> 8] >> (index & 255)) & 1 == 1;
    }

    /// @dev Marks the excluded (strictly ascending by index, each proven in the roster and
    ///      committed) and returns their total weight and their indexes.
    function _exclude(Round storage r, uint256 round, RosterMember[] calldata excluded)
        private
        returns (uint256 total, uint256[] memory indexes)
    {
        mapping(uint256 => uint256) storage bits = _excluded[round];
        uint256 n = excluded.length;
        indexes = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            RosterMember calldata m = excluded[i];
            uint256 index = m.index;
            if (i != 0 && index <= indexes[i - 1]) revert RoundLogIndexNotAscending(i, index);
            _checkMember(r, round, m.account, index, m.bundleHash, m.proof);
            uint256 w = _entryOf(m.account, round) & MAX_LEDGER_WEIGHT;
            if (w == 0) revert RoundLogNotCommitted(round, index);
            bits[index >> 8] |= 1 << (index & 255);
            indexes[i] = index;
            total += w;
        }
    }

    /// @dev Fixes the round's reward rule (docs/protocol.md section 3.1) once, at finalize.
    ///      Mode 0: min(R, floor(cap / n)) each. Mode 1: floor(R * w / maxWeight) each, or
    ///      floor(cap * w / W) each when R * W > cap * maxWeight (W = total weight). Remainders
    ///      of the integer divisions are never minted.
    function _fixReward(Round storage r, uint256 n, uint256 totalWeight) private {
        uint256 reward = r.config.rewardPerContribution;
        uint256 cap = r.config.rewardCap;
        if (n == 0) return; // nothing to claim (possible only when minParticipants and threshold are 0)
        if (r.config.rewardMode == 0) {
            r.rewardNum = uint128(reward * n > cap ? cap / n : reward);
            return;
        }
        uint256 maxWeight = r.config.maxWeight;
        if (reward * totalWeight > cap * maxWeight) {
            r.rewardNum = uint128(cap);
            r.rewardDen = uint128(totalWeight);
        } else {
            r.rewardNum = uint128(reward);
            r.rewardDen = uint128(maxWeight);
        }
    }

    function _rewardFor(Round storage r, uint256 weight) private view returns (uint256) {
        uint256 den = r.rewardDen;
        return den == 0 ? r.rewardNum : (weight * r.rewardNum) / den;
    }

    /// @dev One round of `claim`: a finalized round the caller survived and has not claimed.
    function _claimOne(RewardClaim calldata c) private returns (uint256 amount) {
        uint256 round = c.round;
        Round storage r = _roundIn(round, Stage.Finalized);
        uint256 index = c.index;
        _checkMember(r, round, msg.sender, index, c.bundleHash, c.proof);
        (uint256 tag, uint256 slot, uint256 shift) = _position(round);
        mapping(uint256 => uint256) storage ring = _ledger[msg.sender];
        uint256 word = ring[slot];
        bool inRing = word >> _TAG_SHIFT == tag;
        if (!inRing) word = _archive[msg.sender][tag];
        uint256 w = (word >> shift) & MAX_LEDGER_WEIGHT;
        if (w == 0) revert RoundLogNotCommitted(round, index);
        if (_bit(_excluded[round], index)) revert RoundLogExcluded(round, index);
        if ((word >> shift) & _CLAIMED != 0) revert RoundLogAlreadyClaimed(round, index);
        word |= _CLAIMED << shift;
        if (inRing) ring[slot] = word;
        else _archive[msg.sender][tag] = word;
        amount = _rewardFor(r, w);
        emit RewardClaimed(msg.sender, round, index, amount);
    }
}
