// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Round configuration, snapshotted into every round at open.
/// @dev Storage: the first ten fields pack into one slot, the two reward amounts into the second,
///      the stake fields with dpMode, noise multiplier and clip norm into the third, the rest of the
///      differential-privacy fields into the fourth (docs/protocol.md section 3.3).
struct RoundConfig {
    /// Neighbours per participant in the SecAgg+ graph (k).
    uint16 neighbours;
    /// Shares needed to reconstruct a secret (t), 1 <= t <= k.
    uint16 threshold;
    /// Clipping range c in millionths: values are clipped to [-c, c], c = clipRangeMicros / 1e6.
    uint32 clipRangeMicros;
    /// Bits of the quantized range per coordinate, 1..31.
    uint8 quantBits;
    /// Cap on a participant's FedAvg example weight (and the largest weight `commit` accepts).
    uint32 maxWeight;
    /// Minimum roster size and minimum survivors, >= 2.
    uint16 minParticipants;
    /// Seconds from roster to commit deadline.
    uint32 commitWindow;
    /// Seconds from commit deadline to unmask (finalize) deadline.
    uint32 unmaskWindow;
    /// 0 = fixed reward per contribution; 1 = proportional to the committed example weight.
    uint8 rewardMode;
    /// Most members a round takes: when more candidates advertised, the chain samples this many
    /// (docs/protocol.md 2.3); 0 = every candidate. Else >= max(minParticipants, threshold + 1).
    uint32 cohortSize;
    /// Mode 0: token units per survivor. Mode 1: token units for a full-weight (maxWeight) survivor.
    uint128 rewardPerContribution;
    /// Most token units credited per round in total.
    uint128 rewardCap;
    /// RewardToken units a participant must have staked (and not be unstaking) to be rostered.
    uint128 minStake;
    /// Share of the stake taken by one slash, in basis points (0..10000).
    uint16 slashBps;
    /// Seconds from an unstake request (or deregistration) until the stake can be withdrawn.
    uint32 unstakeDelay;
    /// Differential privacy: 0 = none, 1 = record-level DP-SGD in each participant,
    /// 2 = participant-level distributed DP (discrete Gaussian noise shared by the survivors).
    uint8 dpMode;
    /// Noise multiplier z in thousandths: noise standard deviation = z * clip norm.
    uint32 noiseMultiplierMillis;
    /// L2 clip norm in millionths (per example in mode 1, per update in mode 2).
    uint32 dpClipNormMicros;
    /// Mode 1: Poisson sampling rate of each DP-SGD step in millionths (0 in other modes).
    uint32 dpSampleRatePpm;
    /// Mode 1: DP-SGD steps per participant per round (0 in other modes).
    uint32 dpStepsPerRound;
    /// delta of one round's (epsilon, delta) guarantee, in units of 10^-18.
    uint64 dpDeltaAtto;
    /// epsilon one round costs in millionths: the accountant's value for the fields above,
    /// rounded up (computed off chain; every auditor recomputes it).
    uint64 epsilonCostMicros;
    /// The federation's epsilon budget in millionths: RoundLog opens no round whose cost would
    /// take the spent epsilon above it.
    uint64 epsilonBudgetMicros;
}

/// @title IRoundParams
/// @notice The governed round parameters.
interface IRoundParams {
    /// @notice Emitted after the configuration was replaced.
    /// @param config The new configuration.
    event RoundParamsUpdated(RoundConfig config);

    /// @notice Emitted after the receiver of slashed stake was changed.
    /// @param recipient The new receiver; address(0) means slashed stake is burned.
    event SlashRecipientUpdated(address recipient);

    /// @notice k must be at least 1.
    error RoundParamsZeroNeighbours();
    /// @notice t must satisfy 1 <= t <= k.
    /// @param threshold The t given.
    /// @param neighbours The k given.
    error RoundParamsThresholdOutOfRange(uint16 threshold, uint16 neighbours);
    /// @notice The clipping range must be positive.
    error RoundParamsZeroClipRange();
    /// @notice Quantization bits must be in 1..31.
    /// @param quantBits The value given.
    error RoundParamsQuantBitsOutOfRange(uint8 quantBits);
    /// @notice The weight cap must be positive.
    error RoundParamsZeroMaxWeight();
    /// @notice At least two participants are needed for secure aggregation.
    /// @param minParticipants The value given.
    error RoundParamsTooFewMinParticipants(uint16 minParticipants);
    /// @notice The commit window must be positive.
    error RoundParamsZeroCommitWindow();
    /// @notice The unmask window must be positive.
    error RoundParamsZeroUnmaskWindow();
    /// @notice Reward mode must be 0 (fixed) or 1 (by weight).
    /// @param rewardMode The value given.
    error RoundParamsUnsupportedRewardMode(uint8 rewardMode);
    /// @notice The per-contribution reward exceeds the per-round cap.
    /// @param rewardPerContribution The value given.
    /// @param rewardCap The cap given.
    error RoundParamsRewardAboveCap(uint128 rewardPerContribution, uint128 rewardCap);
    /// @notice Slash basis points must be at most 10000.
    /// @param slashBps The value given.
    error RoundParamsSlashBpsOutOfRange(uint16 slashBps);
    /// @notice The unstake delay must outlast a round's slash window: >= commitWindow + 2 * unmaskWindow.
    /// @param unstakeDelay The value given.
    /// @param required The least accepted value.
    error RoundParamsUnstakeDelayTooShort(uint32 unstakeDelay, uint64 required);
    /// @notice dpMode must be 0 (none), 1 (DP-SGD) or 2 (distributed DP).
    /// @param dpMode The value given.
    error RoundParamsUnsupportedDpMode(uint8 dpMode);
    /// @notice Without DP a round costs no epsilon: epsilonCostMicros must be 0 when dpMode is 0.
    /// @param epsilonCostMicros The value given.
    error RoundParamsEpsilonCostWithoutDp(uint64 epsilonCostMicros);
    /// @notice With DP on, the noise multiplier must be positive.
    error RoundParamsZeroNoiseMultiplier();
    /// @notice With DP on, the L2 clip norm must be positive.
    error RoundParamsZeroDpClipNorm();
    /// @notice With DP on, delta must satisfy 0 < delta < 1 (0 < dpDeltaAtto < 10^18).
    /// @param dpDeltaAtto The value given.
    error RoundParamsDeltaOutOfRange(uint64 dpDeltaAtto);
    /// @notice With DP on, a round must cost a positive epsilon.
    error RoundParamsZeroEpsilonCost();
    /// @notice One round may not cost more than the whole budget.
    /// @param epsilonCostMicros The per-round cost given.
    /// @param epsilonBudgetMicros The budget given.
    error RoundParamsEpsilonCostAboveBudget(uint64 epsilonCostMicros, uint64 epsilonBudgetMicros);
    /// @notice Mode 1 needs a sampling rate in 1..10^6 ppm.
    /// @param dpSampleRatePpm The value given.
    error RoundParamsSampleRateOutOfRange(uint32 dpSampleRatePpm);
    /// @notice Mode 1 needs at least one DP-SGD step per round.
    error RoundParamsZeroDpSteps();
    /// @notice A cohort must be able to hold a roster: cohortSize is 0 (no sampling) or at least
    ///         max(minParticipants, threshold + 1), RoundLog's roster minimum.
    /// @param cohortSize The value given.
    /// @param required The least non-zero value accepted.
    error RoundParamsCohortTooSmall(uint32 cohortSize, uint256 required);

    /// @notice The current configuration.
    /// @return The configuration new rounds snapshot.
    function config() external view returns (RoundConfig memory);

    /// @notice Where slashed stake goes (address(0): burned).
    /// @return The receiver.
    function slashRecipient() external view returns (address);
}
