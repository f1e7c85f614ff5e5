// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IRewardToken
/// @notice The minting hook RoundLog uses to pay contributors.
interface IRewardToken {
    /// @notice Mint `amount` token units to `to` (MINTER_ROLE only).
    /// @param to Recipient.
    /// @param amount Token units.
    function mint(address to, uint256 amount) external;
}
