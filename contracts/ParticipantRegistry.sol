// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRoundParams} from "./interfaces/IRoundParams.sol";

/// @title ParticipantRegistry
/// @notice Registrar-approved allowlist plus RewardToken stakes; RoundLog slashes through it.
contract ParticipantRegistry is IParticipantRegistry, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to register and deregister participants.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role allowed to slash stakes (held by RoundLog).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    struct Participant {
        bool registered;
        uint64 registeredAt;
        uint64 unlockAt; // 0 = stake active; else the whole stake is unlocking until this time
        uint128 stake;
    }

    IERC20 private immutable _token;
    IRoundParams private immutable _params;
    mapping(address account => Participant) private _participants;
    uint256 private _count;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants and revokes registrars and slashers).
    /// @param registrar First holder of REGISTRAR_ROLE.
    /// @param token_ The RewardToken stakes are held in.
    /// @param params_ The governed parameters (minStake, unstakeDelay).
    constructor(address admin, address registrar, IERC20 token_, IRoundParams params_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
        _token = token_;
        _params = params_;
    }

    /// @notice Add `account` to the allowlist (it may also need a stake to be eligible).
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

    /// @notice Remove `account` from the allowlist; rosters already posted keep it. Its stake, if
    ///         any, starts unlocking (still slashable until withdrawn).
    /// @param account The participant's address.
    function deregister(address account) external onlyRole(REGISTRAR_ROLE) {
        Participant storage p = _participants[account];
        if (!p.registered) revert ParticipantRegistryNotRegistered(account);
        p.registered = false;
        p.registeredAt = 0;
        --_count;
        emit ParticipantDeregistered(account);
        if (p.stake != 0 && p.unlockAt == 0) _startUnlock(account, p);
    }

    /// @notice Add `amount` RewardToken units to the caller's stake (needs a prior `approve`).
    /// @param amount Token units to pull with `transferFrom`.
    function stake(uint256 amount) external {
        Participant storage p = _participants[msg.sender];
        if (!p.registered) revert ParticipantRegistryNotRegistered(msg.sender);
        if (amount == 0) revert ParticipantRegistryZeroAmount();
        if (p.unlockAt != 0) revert ParticipantRegistryUnstaking(msg.sender, p.unlockAt);
        uint128 total = SafeCast.toUint128(uint256(p.stake) + amount);
        p.stake = total;
        _token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount, total);
    }

    /// @notice Start unlocking the caller's whole stake; it stops counting for eligibility now and
    ///         can be withdrawn after `unstakeDelay` seconds.
    function requestUnstake() external {
        Participant storage p = _participants[msg.sender];
        if (p.stake == 0) revert ParticipantRegistryNoStake(msg.sender);
        if (p.unlockAt != 0) revert ParticipantRegistryUnstaking(msg.sender, p.unlockAt);
        _startUnlock(msg.sender, p);
    }

    /// @notice Return what is left of the caller's unlocked stake.
    /// @return amount Token units returned.
    function withdrawStake() external returns (uint256 amount) {
        Participant storage p = _participants[msg.sender];
        uint64 unlockAt = p.unlockAt;
        if (unlockAt == 0) revert ParticipantRegistryNotUnstaking(msg.sender);
        if (block.timestamp < unlockAt) revert ParticipantRegistryStakeLocked(msg.sender, unlockAt);
        amount = p.stake;
        p.stake = 0;
        p.unlockAt = 0;
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IParticipantRegistry
    function slash(address account, uint16 bps, address recipient)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 amount)
    {
        Participant storage p = _participants[account];
        uint128 before = p.stake;
        amount = (uint256(before) * bps) / 10_000;
        uint128 left = before - uint128(amount);
        p.stake = left;
        if (amount != 0) {
            if (recipient == address(0)) ERC20Burnable(address(_token)).burn(amount);
            else _token.safeTransfer(recipient, amount);
        }
        emit StakeSlashed(account, amount, left, recipient);
    }

    /// @inheritdoc IParticipantRegistry
    function isRegistered(address account) external view returns (bool) {
        return _eligible(_participants[account], _params.config().minStake);
    }

    /// @inheritdoc IParticipantRegistry
    function isEligible(address account, uint256 minStake) external view returns (bool) {
        return _eligible(_participants[account], minStake);
    }

    /// @notice Whether `account` is on the allowlist (regardless of stake).
    /// @param account The address to look up.
    /// @return True when approved by a registrar.
    function isApproved(address account) external view returns (bool) {
        return _participants[account].registered;
    }

    /// @notice The stake of `account` and when it unlocks.
    /// @param account The address to look up.
    /// @return amount Token units staked (including an unlocking stake).
    /// @return unlockAt 0 while the stake is active, else when it can be withdrawn.
    function stakeOf(address account) external view returns (uint256 amount, uint64 unlockAt) {
        Participant storage p = _participants[account];
        return (p.stake, p.unlockAt);
    }

    /// @notice When `account` was registered (0 when it is not).
    /// @param account The address to look up.
    /// @return Block timestamp of the registration.
    function registeredAt(address account) external view returns (uint64) {
        return _participants[account].registeredAt;
    }

    /// @notice Number of accounts on the allowlist now.
    /// @return The count.
    function participantCount() external view returns (uint256) {
        return _count;
    }

    /// @notice The token and parameter store this registry uses.
    /// @return token_ RewardToken address.
    /// @return params_ RoundParams address.
    function wiring() external view returns (address token_, address params_) {
        return (address(_token), address(_params));
    }

    function _startUnlock(address account, Participant storage p) private {
        uint64 unlockAt = uint64(block.timestamp) + _params.config().unstakeDelay;
        p.unlockAt = unlockAt;
        emit UnstakeRequested(account, p.stake, unlockAt);
    }

    function _eligible(Participant storage p, uint256 minStake) private view returns (bool) {
        return p.registered && p.unlockAt == 0 && p.stake >= minStake;
    }
}
