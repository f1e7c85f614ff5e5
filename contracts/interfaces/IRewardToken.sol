// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IRewardToken
/// @notice The minting hook RoundLog uses to pay contributors.
interface IRewardToken {
    /// @notice Only the minter fixed at deployment (RoundLog) may mint.
    /// @param caller The caller.
    error RewardTokenUnauthorizedMinter(address caller);

    /// @notice The genesis holder and amount lists differ in length.
    /// @param holders Number of holders.
    /// @param amounts Number of amounts.
    error RewardTokenGenesisMismatch(uint256 holders, uint256 amounts);

    /// @notice Mint `amount` token units to `to` (the minter only).
    /// @param to Recipient.
    /// @param amount Token units.
    function mint(address to, uint256 amount) external;

    /// @notice The only account that may mint, fixed at deployment (RoundLog).
    /// @return The minter.
    function minter() external view returns (address);
}
