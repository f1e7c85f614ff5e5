// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ILedgerPrimer
/// @notice The one RoundLog function ParticipantRegistry calls when it registers an account.
interface ILedgerPrimer {
    /// @notice Make every still-zero word of each account's weight ledger non-zero (anyone may
    ///         call; a no-op for words already written). A primed account's commits then never
    ///         pay for a fresh storage slot: the one-off cost is paid here (~22k gas per word).
    /// @param accounts The accounts to prime.
    function prime(address[] calldata accounts) external;
}
