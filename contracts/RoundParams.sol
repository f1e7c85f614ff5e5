// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IRoundParams, RoundConfig} from "./interfaces/IRoundParams.sol";

/// @title RoundParams
/// @notice Holds the round configuration; its owner is the governance TimelockController.
contract RoundParams is IRoundParams, Ownable {
    RoundConfig private _config;

    /// @param owner_ The only account allowed to change the configuration (the timelock).
    /// @param initial The first configuration (validated like any update).
    constructor(address owner_, RoundConfig memory initial) Ownable(owner_) {
        _set(initial);
    }

    /// @notice Replace the configuration; running rounds keep their snapshot.
    /// @param newConfig The new configuration.
    function setConfig(RoundConfig calldata newConfig) external onlyOwner {
        _set(newConfig);
    }

    /// @inheritdoc IRoundParams
    function config() external view returns (RoundConfig memory) {
        return _config;
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
        if (c.commitWindow == 0) revert RoundParamsZeroCommitWindow();
        if (c.unmaskWindow == 0) revert RoundParamsZeroUnmaskWindow();
        if (c.rewardMode != 0) revert RoundParamsUnsupportedRewardMode(c.rewardMode);
        if (c.rewardPerContribution > c.rewardCap) {
            revert RoundParamsRewardAboveCap(c.rewardPerContribution, c.rewardCap);
        }
        _config = c;
        emit RoundParamsUpdated(c);
    }
}
