// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";

/// @title ParticipantRegistry
/// @notice Admin-approved allowlist of participants (a stake requirement comes later).
contract ParticipantRegistry is IParticipantRegistry, AccessControl {
    /// @notice Role allowed to register and deregister participants.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @dev One struct per account so stake fields can be appended without a new mapping.
    struct Participant {
        bool registered;
        uint64 registeredAt;
    }

    mapping(address account => Participant) private _participants;
    uint256 private _count;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants and revokes registrars).
    /// @param registrar First holder of REGISTRAR_ROLE.
    constructor(address admin, address registrar) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
    }

    /// @notice Add `account` to the allowlist.
    /// @param account The participant's address.
    function register(address account) external onlyRole(REGISTRAR_ROLE) {
        if (account == address(0)) revert ParticipantRegistryZeroAddress();
        Participant storage p = _participants[account];
        if (p.registered) revert ParticipantRegistryAlreadyRegistered(account);
        p.registered = true;
        p.registeredAt = uint64(block.timestamp);
        ++_count;
        emit ParticipantRegistered(account);
    }

    /// @notice Remove `account` from the allowlist; rosters already posted keep it.
    /// @param account The participant's address.
    function deregister(address account) external onlyRole(REGISTRAR_ROLE) {
        Participant storage p = _participants[account];
        if (!p.registered) revert ParticipantRegistryNotRegistered(account);
        p.registered = false;
        p.registeredAt = 0;
        --_count;
        emit ParticipantDeregistered(account);
    }

    /// @inheritdoc IParticipantRegistry
    function isRegistered(address account) external view returns (bool) {
        return _participants[account].registered;
    }

    /// @notice When `account` was registered (0 when it is not).
    /// @param account The address to look up.
    /// @return Block timestamp of the registration.
    function registeredAt(address account) external view returns (uint64) {
        return _participants[account].registeredAt;
    }

    /// @notice Number of accounts registered now.
    /// @return The count.
    function participantCount() external view returns (uint256) {
        return _count;
    }
}
