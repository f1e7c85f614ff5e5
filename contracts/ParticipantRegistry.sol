// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ILedgerPrimer} from "./interfaces/ILedgerPrimer.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {IRoundParams} from "./interfaces/IRoundParams.sol";

/// @title ParticipantRegistry
/// @notice Registrar-approved allowlist plus RewardToken stakes; RoundLog slashes through it.
/// @dev Governance (DEFAULT_ADMIN_ROLE) assigns registrars and weight caps, nothing else: the
///      slasher is fixed at deployment and no other role can be granted.
contract ParticipantRegistry is IParticipantRegistry, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to register and deregister participants.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    struct Participant {
        // Slot 0.
        bool registered;
        uint64 registeredAt;
        uint64 unlockAt; // 0 = stake active; else the whole stake is unlocking until this time
        uint64 freshAt; // when `fresh` was staked
        uint32 weightCap; // 0 = no cap of its own (the round's maxWeight applies)
        // Slot 1: the stake is `stake + fresh`.
        uint128 stake; // staked before `freshAt`
        uint128 fresh; // the latest top-up, staked at `freshAt`
    }

    IERC20 private immutable _token;
    IRoundParams private immutable _params;
    address private immutable _slasher;
    mapping(address account => Participant) private _participants;
    uint256 private _count;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (governance: grants and revokes registrars).
    /// @param registrar First holder of REGISTRAR_ROLE.
    /// @param token_ The RewardToken stakes are held in.
    /// @param params_ The governed parameters (minStake, unstakeDelay).
    /// @param slasher_ The only account that may slash, for good (RoundLog).
    constructor(address admin, address registrar, IERC20 token_, IRoundParams params_, address slasher_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
        _token = token_;
        _params = params_;
        _slasher = slasher_;
    }

    /// @notice Add `account` to the allowlist (it may also need a stake to be eligible), and
    ///         prime its weight ledger in RoundLog so that its commits never pay for a fresh slot.
    /// @param account The participant's address.
    function register(address account) external onlyRole(REGISTRAR_ROLE) {
        if (account == address(0)) revert ParticipantRegistryZeroAddress();
        Participant storage p = _participants[account];
        if (p.registered) revert ParticipantRegistryAlreadyRegistered(account);
        p.registered = true;
        p.registeredAt = uint64(block.timestamp);
        ++_count;
        emit ParticipantRegistered(account);
        address[] memory accounts = new address[](1);
        accounts[0] = account;
        ILedgerPrimer(_slasher).prime(accounts);
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
        if (_total(p) != 0 && p.unlockAt == 0) _startUnlock(account, p);
    }

    /// @notice Add `amount` RewardToken units to the caller's stake (needs a prior `approve`).
    ///         The top-up is at risk only in rounds rostered after this block; a further top-up
    ///         waits until this one is `unstakeDelay` old (`ParticipantRegistryStakeMaturing`).
    /// @param amount Token units to pull with `transferFrom`.
    function stake(uint256 amount) external {
        Participant storage p = _participants[msg.sender];
        if (!p.registered) revert ParticipantRegistryNotRegistered(msg.sender);
        if (amount == 0) revert ParticipantRegistryZeroAmount();
        if (p.unlockAt != 0) revert ParticipantRegistryUnstaking(msg.sender, p.unlockAt);
        uint128 settled = p.stake;
        uint128 previous = p.fresh;
        if (previous != 0) {
            // Every round that can still slash was rostered after the previous top-up once it is
            // unstakeDelay old (the slash window is shorter): only then may it join `stake`.
            uint64 maturesAt = p.freshAt + _params.config().unstakeDelay;
            if (block.timestamp < maturesAt) revert ParticipantRegistryStakeMaturing(msg.sender, maturesAt);
            settled += previous;
            p.stake = settled;
        }
        p.fresh = SafeCast.toUint128(amount);
        p.freshAt = uint64(block.timestamp);
        uint256 total = uint256(settled) + amount;
        SafeCast.toUint128(total);
        _token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount, total);
    }

    /// @notice Governance sets the largest FedAvg weight `account` may commit (0: none of its own).
    /// @dev Applies from the next roster: `postRoster` writes min(cap, maxWeight) into the slot.
    /// @param account The participant.
    /// @param cap The cap, or 0 to leave only the round's maxWeight.
    function setWeightCap(address account, uint32 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _participants[account].weightCap = cap;
        emit WeightCapSet(account, cap);
    }

    /// @notice Start unlocking the caller's whole stake; it stops counting for eligibility now and
    ///         can be withdrawn after `unstakeDelay` seconds.
    function requestUnstake() external {
        Participant storage p = _participants[msg.sender];
        if (_total(p) == 0) revert ParticipantRegistryNoStake(msg.sender);
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
        amount = _total(p);
        p.stake = 0;
        p.fresh = 0;
        p.unlockAt = 0;
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IParticipantRegistry
    function slash(address account, uint16 bps, address recipient, uint64 rosteredAt)
        external
        returns (uint256 amount)
    {
        if (msg.sender != _slasher) revert ParticipantRegistryUnauthorizedSlasher(msg.sender);
        Participant storage p = _participants[account];
        uint256 settled = p.stake;
        uint256 fresh = p.fresh;
        // The top-up counts only when it was staked no later than the roster's block timestamp.
        uint256 atRisk = p.freshAt <= rosteredAt ? settled + fresh : settled;
        amount = (atRisk * bps) / 10_000;
        // Take from the older stake first; amount <= atRisk <= settled + fresh.
        if (amount <= settled) {
            p.stake = uint128(settled - amount);
        } else {
            p.stake = 0;
            p.fresh = uint128(fresh - (amount - settled));
        }
        if (amount != 0) {
            if (recipient == address(0)) ERC20Burnable(address(_token)).burn(amount);
            else _token.safeTransfer(recipient, amount);
        }
        emit StakeSlashed(account, amount, settled + fresh - amount, recipient, atRisk);
    }

    /// @inheritdoc IParticipantRegistry
    function isRegistered(address account) external view returns (bool) {
        return _eligible(_participants[account], _params.config().minStake);
    }

    /// @inheritdoc IParticipantRegistry
    function isEligible(address account, uint256 minStake) external view returns (bool) {
        return _eligible(_participants[account], minStake);
    }

    /// @inheritdoc IParticipantRegistry
    function eligibleWeightCap(address account, uint256 minStake) external view returns (uint256 cap) {
        Participant storage p = _participants[account];
        if (!_eligible(p, minStake)) return 0;
        cap = p.weightCap;
        if (cap == 0) cap = type(uint32).max;
    }

    /// @inheritdoc IParticipantRegistry
    function eligibleWeightCapAt(address account, uint256 minStake, uint64 rosteredAt)
        external
        view
        returns (uint256 cap)
    {
        Participant storage p = _participants[account];
        if (!p.registered || p.unlockAt != 0) return 0;
        // The stake slot is read only when a stake is required (one cold read saved per commit).
        if (minStake != 0) {
            uint256 atRisk = p.freshAt <= rosteredAt ? _total(p) : p.stake;
            if (atRisk < minStake) return 0;
        }
        cap = p.weightCap;
        if (cap == 0) cap = type(uint32).max;
    }

    /// @notice The weight cap governance set for `account` (0: none of its own).
    /// @param account The address to look up.
    /// @return The cap.
    function weightCapOf(address account) external view returns (uint32) {
        return _participants[account].weightCap;
    }

    /// @notice The part of `account`'s stake a round rostered at `rosteredAt` may slash.
    /// @param account The address to look up.
    /// @param rosteredAt The round's roster time.
    /// @return Token units at risk in that round.
    function stakeAtRisk(address account, uint64 rosteredAt) external view returns (uint256) {
        Participant storage p = _participants[account];
        return p.freshAt <= rosteredAt ? _total(p) : p.stake;
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
        return (_total(p), p.unlockAt);
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

    /// @notice The only account that may slash (RoundLog), fixed at deployment.
    /// @return The slasher.
    function slasher() external view returns (address) {
        return _slasher;
    }

    /// @dev Only REGISTRAR_ROLE and DEFAULT_ADMIN_ROLE exist; granting anything else reverts.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role != REGISTRAR_ROLE && role != DEFAULT_ADMIN_ROLE) revert ParticipantRegistryRoleNotGrantable(role);
        return super._grantRole(role, account);
    }

    function _startUnlock(address account, Participant storage p) private {
        uint64 unlockAt = uint64(block.timestamp) + _params.config().unstakeDelay;
        p.unlockAt = unlockAt;
        emit UnstakeRequested(account, _total(p), unlockAt);
    }

    function _total(Participant storage p) private view returns (uint256) {
        return uint256(p.stake) + p.fresh;
    }

    function _eligible(Participant storage p, uint256 minStake) private view returns (bool) {
        return p.registered && p.unlockAt == 0 && _total(p) >= minStake;
    }
}
