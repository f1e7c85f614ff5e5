// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ILedgerPrimer} from "./ILedgerPrimer.sol";
import {RoundConfig} from "./IRoundParams.sol";

/// @notice Where a round is in its life.
/// @dev None = no such round; Opened = seed fixed, roster pending; Rostered = commits open;
///      Finalized and Failed are terminal.
enum Stage {
    None,
    Opened,
    Rostered,
    Finalized,
    Failed
}

/// @notice Why a participant was slashed (the `reason` of `slash` and `ParticipantSlashed`).
/// @dev None is never accepted; NoUnmaskResponse = committed and survived, but sent no unmask
///      response although its shares were needed (docs/protocol.md 4.9); BadShare = an unmask
///      share it sent did not reconstruct to its owner's commitment.
enum SlashReason {
    None,
    NoUnmaskResponse,
    BadShare
}

/// @notice Everything the contract stores about a round (returned by `getRound`).
struct RoundInfo {
    Stage stage;
    bytes32 modelHash;
    bytes32 seed;
    RoundConfig config;
    bytes32 rosterHash;
    uint32 memberCount;
    uint32 committedCount;
    uint64 commitDeadline;
    uint64 unmaskDeadline;
    bytes32 aggregateHash;
    bytes32 revealHash;
    bytes32 newModelHash;
    uint48 openedBlock;
    bytes32 rosterRoot;
    uint64 committedWeight;
    uint32 survivorCount;
    uint64 totalWeight;
    bytes32 candidatesHash;
    uint32 candidateCount;
    uint48 candidatesBlock;
    bytes32 sampleSeed;
}

/// @notice One reward claim: the claimer's roster entry in `round` and its Merkle proof.
struct RewardClaim {
    uint256 round;
    uint256 index;
    bytes32 bundleHash;
    bytes32[] proof;
}

/// @notice A roster member named by someone else (an excluded committer in `finalize`): its
///         account, its roster index and leaf's bundle hash, and the leaf's Merkle proof.
struct RosterMember {
    address account;
    uint256 index;
    bytes32 bundleHash;
    bytes32[] proof;
}

/// @title IRoundLog
/// @notice The audit log of fedledger rounds: open, roster, commitments, finalize or fail.
/// @dev Committed weights and claimed flags are kept per account in a ledger of `LEDGER_WORDS`
///      ring words of seven rounds each (docs/protocol.md section 2.3); `prime` makes them
///      non-zero ahead of the first commit.
interface IRoundLog is ILedgerPrimer {
    /// @notice Emitted after round `round` was opened.
    /// @param round Round id (starts at 1).
    /// @param modelHash SHA-256 of the model the round trains from.
    /// @param seed Neighbour-graph seed derived from chain data.
    /// @param config Snapshot of the round parameters.
    event RoundOpened(uint256 indexed round, bytes32 modelHash, bytes32 seed, RoundConfig config);

    /// @notice Emitted after the roster of `round` was posted; commits are open.
    /// @param round Round id.
    /// @param rosterHash SHA-256 of the roster blob (signed key bundles).
    /// @param rosterRoot Root of the OpenZeppelin standard Merkle tree of (index, address, bundleHash).
    /// @param memberCount Number of roster members (leaves).
    /// @param commitDeadline Last timestamp at which `commit` is accepted.
    /// @param unmaskDeadline Last timestamp at which `finalize` is accepted.
    event RosterPosted(
        uint256 indexed round,
        bytes32 rosterHash,
        bytes32 rosterRoot,
        uint32 memberCount,
        uint64 commitDeadline,
        uint64 unmaskDeadline
    );

    /// @notice Emitted after the candidates of `round` (a round with a cohort size) were fixed.
    /// @param round Round id.
    /// @param candidatesHash SHA-256 of the candidates blob (every valid signed bundle advertised).
    /// @param candidateCount Number of candidates in the blob.
    /// @param cohortSize The snapshot's cohort size: the roster takes min(cohortSize, candidateCount).
    event CandidatesPosted(uint256 indexed round, bytes32 candidatesHash, uint32 candidateCount, uint32 cohortSize);

    /// @notice Emitted after `postRoster` fixed the sample seed of a round with a cohort size.
    /// @param round Round id.
    /// @param sampleSeed keccak256(abi.encode(seed, candidatesHash, blockhash(candidatesBlock))).
    /// @param candidatesBlock The block of `postCandidates`, whose hash the seed uses.
    event CohortSampled(uint256 indexed round, bytes32 sampleSeed, uint48 candidatesBlock);

    /// @notice Emitted after `participant` committed its masked update in `round`.
    /// @param round Round id.
    /// @param participant The committing roster member (msg.sender).
    /// @param maskedUpdateHash SHA-256 of the masked-update blob.
    /// @param seedCommitment Commitment to the participant's self-mask seed.
    /// @param weight The participant's FedAvg example weight, min(examples, maxWeight).
    event UpdateCommitted(
        uint256 indexed round,
        address indexed participant,
        bytes32 maskedUpdateHash,
        bytes32 seedCommitment,
        uint32 weight
    );

    /// @notice Emitted after `round` was finalized.
    /// @param round Round id.
    /// @param aggregateHash SHA-256 of the aggregate blob.
    /// @param revealHash SHA-256 of the reveal blob.
    /// @param newModelHash SHA-256 of the new model.
    /// @param excluded Roster indexes of committers left out of the sum, strictly ascending.
    /// @param survivorCount Committers minus the excluded.
    /// @param totalWeight Sum of the survivors' committed weights (equals the aggregate's weight element).
    event RoundFinalized(
        uint256 indexed round,
        bytes32 aggregateHash,
        bytes32 revealHash,
        bytes32 newModelHash,
        uint256[] excluded,
        uint32 survivorCount,
        uint256 totalWeight
    );

    /// @notice Emitted after `round` failed (by the aggregator or by expiry).
    /// @param round Round id.
    /// @param reason Human-readable cause ("expired" for `expireRound`).
    event RoundFailed(uint256 indexed round, string reason);

    /// @notice Emitted after `participant` claimed (was minted) its reward for `round`.
    /// @param participant The survivor.
    /// @param round Round id.
    /// @param index The survivor's roster index.
    /// @param amount Token units minted (may be 0 when the reward rule rounds it down).
    event RewardClaimed(address indexed participant, uint256 indexed round, uint256 index, uint256 amount);

    /// @notice Emitted after `account`'s stake was slashed for its conduct in `round`.
    /// @param round The finalized round the evidence is about.
    /// @param account The slashed participant (it committed in `round`).
    /// @param reasonCode Why (see `SlashReason`; 1 = no unmask response, 2 = bad share).
    /// @param evidenceHash The round's revealHash: the reveal blob lists responders and bad-share senders.
    /// @param amount RewardToken units taken (only of the stake held at roster time).
    /// @param recipient Where they went (address(0): burned).
    event ParticipantSlashed(
        uint256 indexed round,
        address indexed account,
        SlashReason reasonCode,
        bytes32 evidenceHash,
        uint256 amount,
        address recipient
    );

    /// @notice Emitted after governance named the next aggregator.
    /// @param current The aggregator until `effectiveAt`.
    /// @param next The aggregator from `effectiveAt` on.
    /// @param effectiveAt First timestamp at which `next` acts (now + 2 * unstakeDelay).
    event AggregatorChangeScheduled(address indexed current, address indexed next, uint64 effectiveAt);

    /// @notice Emitted after opening `round` charged its epsilon cost to the federation's budget.
    /// @param round Round id.
    /// @param costMicros The round's epsilon cost (its snapshot's epsilonCostMicros).
    /// @param spentMicros Epsilon spent by all rounds so far, this one included.
    /// @param budgetMicros The budget in force (the snapshot's epsilonBudgetMicros).
    event PrivacyBudgetSpent(uint256 indexed round, uint64 costMicros, uint64 spentMicros, uint64 budgetMicros);

    /// @notice The caller is not the aggregator in force.
    /// @param caller The caller.
    error RoundLogUnauthorizedAggregator(address caller);
    /// @notice The aggregator cannot be the zero address.
    error RoundLogZeroAggregator();
    /// @notice No round with this id exists.
    /// @param round The id given.
    error RoundLogUnknownRound(uint256 round);
    /// @notice The round is not in the stage this call needs.
    /// @param round Round id.
    /// @param current The round's stage.
    /// @param expected The stage the call needs (`Rostered` for `failRound` and `expireRound`,
    ///        which also accept `Opened`).
    error RoundLogWrongStage(uint256 round, Stage current, Stage expected);
    /// @notice Another round is still open or rostered.
    /// @param round The round in progress.
    error RoundLogRoundInProgress(uint256 round);
    /// @notice The model chain is continuous: a round must start from the latest finalized model.
    /// @param expected The latest finalized model hash.
    /// @param given The model hash given.
    error RoundLogModelMismatch(bytes32 expected, bytes32 given);
    /// @notice The roster came after the roster deadline (open time + commit window).
    /// @param round Round id.
    /// @param deadline The roster deadline.
    error RoundLogRosterClosed(uint256 round, uint64 deadline);
    /// @notice Too few roster members: needs max(minParticipants, threshold + 1).
    /// @param round Round id.
    /// @param count Members given.
    /// @param required Members needed.
    error RoundLogTooFewMembers(uint256 round, uint256 count, uint256 required);
    /// @notice The account is not in the participant registry.
    /// @param account The account.
    error RoundLogNotRegistered(address account);
    /// @notice The Merkle proof does not show (index, account, bundleHash) in this round's roster.
    /// @param round Round id.
    /// @param account The account.
    /// @param index The roster index claimed.
    error RoundLogNotInRoster(uint256 round, address account, uint256 index);
    /// @notice A roster index at or above the round's member count.
    /// @param round Round id.
    /// @param index The index given.
    /// @param memberCount The round's member count.
    error RoundLogIndexOutOfRange(uint256 round, uint256 index, uint32 memberCount);
    /// @notice The roster root is zero or the member count does not fit.
    /// @param round Round id.
    error RoundLogEmptyRoster(uint256 round);
    /// @notice The survivor's reward for this round was claimed already.
    /// @param round Round id.
    /// @param index The roster index.
    error RoundLogAlreadyClaimed(uint256 round, uint256 index);
    /// @notice Excluded committers get no reward.
    /// @param round Round id.
    /// @param index The roster index.
    error RoundLogExcluded(uint256 round, uint256 index);
    /// @notice `finalize` takes at most `MAX_EXCLUDED` excluded committers.
    /// @param count Indexes given.
    /// @param limit The bound.
    error RoundLogTooManyExcluded(uint256 count, uint256 limit);
    /// @notice The account already committed in this round.
    /// @param round Round id.
    /// @param account The account.
    error RoundLogAlreadyCommitted(uint256 round, address account);
    /// @notice The commit deadline has passed.
    /// @param round Round id.
    /// @param deadline The commit deadline.
    error RoundLogCommitClosed(uint256 round, uint64 deadline);
    /// @notice Finalize came while roster members may still commit.
    /// @param round Round id.
    /// @param committed Commitments so far.
    /// @param members Roster size.
    /// @param deadline The commit deadline.
    error RoundLogCommitsPending(uint256 round, uint32 committed, uint32 members, uint64 deadline);
    /// @notice The unmask deadline has passed; the round can only fail now.
    /// @param round Round id.
    /// @param deadline The unmask deadline.
    error RoundLogUnmaskClosed(uint256 round, uint64 deadline);
    /// @notice The roster member at `index` has no commitment in this round.
    /// @param round Round id.
    /// @param index The roster index.
    error RoundLogNotCommitted(uint256 round, uint256 index);
    /// @notice A list of roster indexes is not strictly ascending.
    /// @param position Position of the first offending entry.
    /// @param index The offending entry.
    error RoundLogIndexNotAscending(uint256 position, uint256 index);
    /// @notice Too few survivors: needs max(minParticipants, threshold).
    /// @param round Round id.
    /// @param count Survivors given.
    /// @param required Survivors needed.
    error RoundLogTooFewSurvivors(uint256 round, uint256 count, uint256 required);
    /// @notice `expireRound` came before the round's unmask deadline.
    /// @param round Round id.
    /// @param deadline The unmask deadline.
    error RoundLogNotExpired(uint256 round, uint64 deadline);
    /// @notice A finalized round must name a new model (zero would break the model chain).
    error RoundLogZeroModelHash();
    /// @notice A committed weight must be in 1..cap, cap = min(the round's maxWeight, the
    ///         member's weight cap in the registry at roster time, 2^31 - 1 = MAX_LEDGER_WEIGHT).
    /// @param round Round id.
    /// @param weight The weight given.
    /// @param maxWeight The member's cap in this round.
    error RoundLogWeightOutOfRange(uint256 round, uint32 weight, uint32 maxWeight);
    /// @notice The slash window of the round (until unmaskDeadline + unmaskWindow) has passed.
    /// @param round Round id.
    /// @param deadline The last second a slash was accepted.
    error RoundLogSlashClosed(uint256 round, uint64 deadline);
    /// @notice `SlashReason.None` is not a reason (values above `BadShare` fail ABI decoding).
    /// @param reason The reason given.
    error RoundLogUnknownSlashReason(SlashReason reason);
    /// @notice The evidence of a slash must be the round's reveal blob.
    /// @param round Round id.
    /// @param expected The round's revealHash.
    /// @param given The evidence hash given.
    error RoundLogEvidenceMismatch(uint256 round, bytes32 expected, bytes32 given);
    /// @notice An account is slashed at most once per round.
    /// @param round Round id.
    /// @param account The account.
    error RoundLogAlreadySlashed(uint256 round, address account);
    /// @notice Opening a round would take the spent epsilon above the federation's budget.
    /// @param spentMicros Epsilon spent by earlier rounds, in millionths.
    /// @param costMicros The new round's cost.
    /// @param budgetMicros The budget in force.
    error RoundLogPrivacyBudgetExhausted(uint64 spentMicros, uint64 costMicros, uint64 budgetMicros);
    /// @notice `postCandidates` in a round whose snapshot has cohortSize 0 (every candidate is rostered).
    /// @param round Round id.
    error RoundLogNoCohortSampling(uint256 round);
    /// @notice The candidates of a round are posted once.
    /// @param round Round id.
    error RoundLogCandidatesAlreadyPosted(uint256 round);
    /// @notice The candidates hash must not be zero.
    /// @param round Round id.
    error RoundLogEmptyCandidates(uint256 round);
    /// @notice A round with a cohort size needs `postCandidates` before `postRoster`.
    /// @param round Round id.
    error RoundLogCandidatesMissing(uint256 round);
    /// @notice `postRoster` must come in a block after the candidates' block (its hash seeds the sample).
    /// @param round Round id.
    /// @param candidatesBlock The block of `postCandidates`.
    error RoundLogSampleSeedPending(uint256 round, uint48 candidatesBlock);
    /// @notice The candidates' block hash is no longer readable (older than 256 blocks): the round
    ///         can only fail.
    /// @param round Round id.
    /// @param candidatesBlock The block of `postCandidates`.
    error RoundLogSampleSeedExpired(uint256 round, uint48 candidatesBlock);
    /// @notice A sampled roster has exactly min(cohortSize, candidateCount) members.
    /// @param round Round id.
    /// @param memberCount Members given.
    /// @param expected Members the sample takes.
    error RoundLogCohortSizeMismatch(uint256 round, uint32 memberCount, uint256 expected);
    /// @notice The round's ledger tag (round / 7 + 1) no longer fits in 32 bits below the primed tag.
    /// @param round Round id.
    error RoundLogLedgerExhausted(uint256 round);
    /// @notice An empty claim list.
    /// @param account The caller.
    error RoundLogNothingToClaim(address account);

    /// @notice Open the next round on `modelHash` (aggregator only).
    /// @param modelHash SHA-256 of the starting model; must equal `latestModelHash` once set.
    /// @return round The new round id.
    function openRound(bytes32 modelHash) external returns (uint256 round);

    /// @notice Post the roster of the open round (aggregator only); opens commits. Costs the
    ///         same for any roster size: members prove membership when they commit.
    /// @param round Round id.
    /// @param rosterHash SHA-256 of the roster blob.
    /// @param rosterRoot Root of the OpenZeppelin standard Merkle tree whose leaves are
    ///        keccak256(bytes.concat(keccak256(abi.encode(uint256 index, address member, bytes32 bundleHash)))),
    ///        members indexed 0..memberCount-1 in ascending address order.
    /// @param memberCount Number of leaves.
    function postRoster(uint256 round, bytes32 rosterHash, bytes32 rosterRoot, uint32 memberCount) external;

    /// @notice Fix the candidates of the open round before its sample seed exists (aggregator
    ///         only; rounds whose snapshot has a non-zero cohortSize). `postRoster` then takes,
    ///         from a later block, the min(cohortSize, candidateCount) candidates with the smallest
    ///         keccak256(sampleSeed || address) (docs/protocol.md 2.3).
    /// @param round Round id.
    /// @param candidatesHash SHA-256 of the candidates blob.
    /// @param candidateCount Number of candidates (>= the roster minimum).
    function postCandidates(uint256 round, bytes32 candidatesHash, uint32 candidateCount) external;

    /// @notice Commit the caller's masked update (roster members only, once, before the deadline,
    ///         while eligible with the stake held since the roster was posted).
    /// @param round Round id.
    /// @param maskedUpdateHash SHA-256 of the masked-update blob.
    /// @param seedCommitment Commitment to the self-mask seed.
    /// @param weight The caller's FedAvg example weight, 1..min(maxWeight, its registry weight cap,
    ///        2^31 - 1). Stored in the caller's ledger: an account commits at most once per round.
    /// @param index The caller's roster index.
    /// @param bundleHash The caller's bundle hash in the roster leaf.
    /// @param proof Merkle proof of the caller's leaf under the round's roster root.
    function commit(
        uint256 round,
        bytes32 maskedUpdateHash,
        bytes32 seedCommitment,
        uint32 weight,
        uint256 index,
        bytes32 bundleHash,
        bytes32[] calldata proof
    ) external;

    /// @notice Finalize a round (aggregator only). Survivors are the committers minus `excluded`;
    ///         their count and total weight were kept as commits arrived, so the cost does not
    ///         grow with the roster. Each survivor then claims its reward (`claim`).
    /// @param round Round id.
    /// @param aggregateHash SHA-256 of the aggregate blob.
    /// @param revealHash SHA-256 of the reveal blob.
    /// @param newModelHash SHA-256 of the new model.
    /// @param excluded The committers left out of the sum (their blob was missing or malformed),
    ///        each with its roster proof (its weight is kept by account), strictly ascending by
    ///        index, at most `MAX_EXCLUDED`.
    function finalize(
        uint256 round,
        bytes32 aggregateHash,
        bytes32 revealHash,
        bytes32 newModelHash,
        RosterMember[] calldata excluded
    ) external;

    /// @notice Mark the open round failed (aggregator only).
    /// @param round Round id.
    /// @param reason Why.
    function failRound(uint256 round, string calldata reason) external;

    /// @notice Fail a round whose unmask deadline passed without finalize (anyone).
    /// @param round Round id.
    function expireRound(uint256 round) external;

    /// @notice Slash `account`'s stake by the round's `slashBps` (aggregator only; finalized rounds,
    ///         committed accounts, once per round, until unmaskDeadline + unmaskWindow). Only the
    ///         stake the account held when the roster was posted is at risk.
    /// @param round The finalized round.
    /// @param account A participant that committed in `round`.
    /// @param member `account`'s roster entry (round, index, bundle hash, Merkle proof).
    /// @param reason Why (not `None`).
    /// @param evidenceHash Must equal the round's revealHash.
    /// @return amount RewardToken units taken.
    function slash(
        uint256 round,
        address account,
        RewardClaim calldata member,
        SlashReason reason,
        bytes32 evidenceHash
    ) external returns (uint256 amount);

    /// @notice Name the next aggregator (owner, i.e. governance, only). It takes over
    ///         `2 * unstakeDelay` seconds from now, so a participant that does not trust it can
    ///         request an unstake within one delay and withdraw before it acts. A later call
    ///         replaces a change still pending.
    /// @param next The next aggregator.
    function changeAggregator(address next) external;

    /// @notice The aggregator in force now.
    /// @return The address allowed to open, roster, finalize, fail and slash.
    function aggregator() external view returns (address);

    /// @notice The aggregator change pending, if any.
    /// @return next The next aggregator (zero when none is pending).
    /// @return effectiveAt When it takes over (0 when none is pending).
    function pendingAggregator() external view returns (address next, uint64 effectiveAt);

    /// @notice Mint to the caller its rewards for the rounds in `claims` (each a finalized round
    ///         the caller survived and has not claimed): O(1) per round, one mint in all.
    /// @param claims The caller's roster entry and proof for each round.
    /// @return amount Token units minted.
    function claim(RewardClaim[] calldata claims) external returns (uint256 amount);

    /// @notice Everything stored about `round`.
    /// @param round Round id.
    /// @return The round record.
    function getRound(uint256 round) external view returns (RoundInfo memory);

    /// @notice The weight `account` committed in `round` (0: not committed, or no longer kept:
    ///         a ledger word is dropped without archiving only when every weight in it was claimed).
    /// @param round Round id.
    /// @param account The committer.
    /// @return The weight.
    function weightOf(uint256 round, address account) external view returns (uint32);

    /// @notice Whether roster member `index` of `round` was excluded by `finalize`.
    /// @param round Round id.
    /// @param index Roster index.
    /// @return True when excluded.
    function isExcluded(uint256 round, uint256 index) external view returns (bool);

    /// @notice Whether `account` claimed its reward for `round` (false also once the entry is no
    ///         longer kept, see `weightOf` and `ledgerWords`).
    /// @param round Round id.
    /// @param account The survivor.
    /// @return True after the claim.
    function isClaimed(uint256 round, address account) external view returns (bool);

    /// @notice The reward `account`, at roster index `index`, may claim for finalized `round`
    ///         (0 when it did not survive, already claimed, or the round is not finalized). The
    ///         view does not check that `index` is `account`'s: `claim` proves it.
    /// @param round Round id.
    /// @param account The survivor.
    /// @param index Its roster index (for the excluded bitmap).
    /// @return Token units.
    function claimable(uint256 round, address account, uint256 index) external view returns (uint256);

    /// @notice The raw ledger words for `account` and `round`: the ring word its round maps to
    ///         (tag in bits 224..255, see docs/protocol.md 2.3) and the archived word of the
    ///         round's tag (0 when none was archived).
    /// @param round Round id.
    /// @param account The account.
    /// @return ringWord `_ledger[account][(round / 7) % LEDGER_WORDS]`.
    /// @return archiveWord `_archive[account][round / 7 + 1]`.
    function ledgerWords(uint256 round, address account) external view returns (uint256 ringWord, uint256 archiveWord);

    /// @notice Whether `account` was slashed for `round`.
    /// @param round Round id.
    /// @param account The participant.
    /// @return True after a slash.
    function isSlashed(uint256 round, address account) external view returns (bool);

    /// @notice Id of the latest round opened (0 before the first).
    /// @return The round id.
    function currentRound() external view returns (uint256);

    /// @notice Model hash of the latest finalized round (0 before the first).
    /// @return The hash.
    function latestModelHash() external view returns (bytes32);

    /// @notice Epsilon spent by every round opened so far (failed ones included), in millionths.
    /// @return The spent epsilon; the budget is `RoundParams.config().epsilonBudgetMicros`.
    function epsilonSpent() external view returns (uint64);

}
