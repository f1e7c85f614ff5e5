// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IParticipantRegistry
/// @notice The allowlist of accounts that may take part in fedledger rounds.
/// @dev `isRegistered` is the only function RoundLog depends on; a later stake requirement
///      narrows what it returns without changing its signature.
interface IParticipantRegistry {
    /// @notice Emitted after `account` was added to the allowlist.
    /// @param account The participant's address.
    event ParticipantRegistered(address indexed account);

    /// @notice Emitted after `account` was removed from the allowlist.
    /// @param account The participant's address.
    event ParticipantDeregistered(address indexed account);

    /// @notice `account` is already registered.
    /// @param account The address that was given.
    error ParticipantRegistryAlreadyRegistered(address account);

    /// @notice `account` is not registered.
    /// @param account The address that was given.
    error ParticipantRegistryNotRegistered(address account);

    /// @notice `address(0)` cannot be a participant.
    error ParticipantRegistryZeroAddress();

    /// @notice Whether `account` may take part in a round now.
    /// @param account The address to look up.
    /// @return True when registered.
    function isRegistered(address account) external view returns (bool);
}
