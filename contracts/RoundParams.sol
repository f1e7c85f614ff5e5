// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IRoundParams, RoundConfig} from "./interfaces/IRoundParams.sol";

/// @title RoundParams
/// @notice Holds the round configuration and the slash recipient; its owner is the governance
///         TimelockController.
contract RoundParams is IRoundParams, Ownable {
    RoundConfig private _config;
    address private _slashRecipient;

    /// @param owner_ The only account allowed to change the configuration (the timelock).
    /// @param initial The first configuration (validated like any update).
    /// @param slashRecipient_ The first receiver of slashed stake (address(0): burn).
    constructor(address owner_, RoundConfig memory initial, address slashRecipient_) Ownable(owner_) {
        _set(initial);
        _slashRecipient = slashRecipient_;
        emit SlashRecipientUpdated(slashRecipient_);
    }

    /// @notice Replace the configuration; running rounds keep their snapshot.
    /// @param newConfig The new configuration.
    function setConfig(RoundConfig calldata newConfig) external onlyOwner {
        _set(newConfig);
    }

    /// @notice Change where slashed stake goes; applies to every later slash.
    /// @param recipient The treasury, or address(0) to burn slashed stake.
    function setSlashRecipient(address recipient) external onlyOwner {
        _slashRecipient = recipient;
        emit SlashRecipientUpdated(recipient);
    }

    /// @inheritdoc IRoundParams
    function config() external view returns (RoundConfig memory) {
        return _config;
    }

    /// @inheritdoc IRoundParams
    function slashRecipient() external view returns (address) {
        return _slashRecipient;
    }

    function _set(RoundConfig memory c) private {
        if (c.neighbours == 0) revert RoundParamsZeroNeighbours();
        if (c.threshold == 0 || c.threshold > c.neighbours) {
            revert RoundParamsThresholdOutOfRange(c.threshold, c.neighbours);
        }
        if (c.clipRangeMicros == 0) revert RoundParamsZeroClipRange();
        if (c.quantBits == 0 || c.quantBits > 31) revert RoundParamsQuantBitsOutOfRange(c.quantBits);
        if (c.maxWeight == 0) revert RoundParamsZeroMaxWeight();
        if (c.minParticipants < 2) revert RoundParamsTooFewMinParticipants(c.minParticipants);
        if (c.cohortSize != 0) {
            uint256 roster = Math.max(c.minParticipants, uint256(c.threshold) + 1);
            if (c.cohortSize < roster) revert RoundParamsCohortTooSmall(c.cohortSize, roster);
        }
        if (c.commitWindow == 0) revert RoundParamsZeroCommitWindow();
        if (c.unmaskWindow == 0) revert RoundParamsZeroUnmaskWindow();
        if (c.rewardMode > 1) revert RoundParamsUnsupportedRewardMode(c.rewardMode);
        if (c.rewardPerContribution > c.rewardCap) {
            revert RoundParamsRewardAboveCap(c.rewardPerContribution, c.rewardCap);
        }
        if (c.slashBps > 10_000) revert RoundParamsSlashBpsOutOfRange(c.slashBps);
        // A member rostered at time T can be slashed until T + commitWindow + 2 * unmaskWindow
        // (RoundLog's slash deadline); its stake must stay locked at least that long.
        uint64 required = uint64(c.commitWindow) + 2 * uint64(c.unmaskWindow);
        if (c.unstakeDelay < required) revert RoundParamsUnstakeDelayTooShort(c.unstakeDelay, required);
        _checkPrivacy(c);
        _config = c;
        emit RoundParamsUpdated(c);
    }

    /// @dev The DP fields (docs/protocol.md section 3.3). The contract cannot run an RDP accountant:
    ///      it bounds the mechanism's parameters and trusts no one with the cost, which every
    ///      auditor recomputes from them (check `privacy_cost`).
    function _checkPrivacy(RoundConfig memory c) private pure {
        if (c.dpMode > 2) revert RoundParamsUnsupportedDpMode(c.dpMode);
        if (c.dpMode == 0) {
            if (c.epsilonCostMicros != 0) revert RoundParamsEpsilonCostWithoutDp(c.epsilonCostMicros);
            return;
        }
        if (c.noiseMultiplierMillis == 0) revert RoundParamsZeroNoiseMultiplier();
        if (c.dpClipNormMicros == 0) revert RoundParamsZeroDpClipNorm();
        if (c.dpDeltaAtto == 0 || c.dpDeltaAtto >= 1e18) revert RoundParamsDeltaOutOfRange(c.dpDeltaAtto);
        if (c.epsilonCostMicros == 0) revert RoundParamsZeroEpsilonCost();
        if (c.epsilonCostMicros > c.epsilonBudgetMicros) {
            revert RoundParamsEpsilonCostAboveBudget(c.epsilonCostMicros, c.epsilonBudgetMicros);
        }
        if (c.dpMode == 1) {
            if (c.dpSampleRatePpm == 0 || c.dpSampleRatePpm > 1e6) {
                revert RoundParamsSampleRateOutOfRange(c.dpSampleRatePpm);
            }
            if (c.dpStepsPerRound == 0) revert RoundParamsZeroDpSteps();
        }
    }
}
