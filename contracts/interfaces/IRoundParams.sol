// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Round configuration, snapshotted into every round at open.
/// @dev Storage: the first nine fields pack into one slot, the two reward amounts into the second,
///      the stake fields into the third.
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

    /// @notice The current configuration.
    /// @return The configuration new rounds snapshot.
    function config() external view returns (RoundConfig memory);

    /// @notice Where slashed stake goes (address(0): burned).
    /// @return The receiver.
    function slashRecipient() external view returns (address);
}
