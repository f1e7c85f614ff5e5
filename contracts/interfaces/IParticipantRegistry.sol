// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IParticipantRegistry
/// @notice The allowlist and stakes of accounts that may take part in fedledger rounds.
/// @dev RoundLog depends on `isRegistered`, `eligibleWeightCapAt` and `slash`.
interface IParticipantRegistry {
    /// @notice Emitted after `account` was added to the allowlist.
    /// @param account The participant's address.
    event ParticipantRegistered(address indexed account);

    /// @notice Emitted after `account` was removed from the allowlist.
    /// @param account The participant's address.
    event ParticipantDeregistered(address indexed account);

    /// @notice Emitted after `account` added `amount` to its stake.
    /// @param account The participant.
    /// @param amount RewardToken units pulled from the participant.
    /// @param stake The participant's stake afterwards.
    event Staked(address indexed account, uint256 amount, uint256 stake);

    /// @notice Emitted after `account`'s whole stake started unlocking (by request or deregistration).
    /// @param account The participant.
    /// @param stake The stake that is unlocking (still slashable until withdrawn).
    /// @param unlockAt First timestamp at which `withdrawStake` succeeds.
    event UnstakeRequested(address indexed account, uint256 stake, uint64 unlockAt);

    /// @notice Emitted after `account` withdrew what was left of its stake.
    /// @param account The participant.
    /// @param amount RewardToken units returned.
    event StakeWithdrawn(address indexed account, uint256 amount);

    /// @notice Emitted after `amount` of `account`'s stake was slashed.
    /// @param account The participant.
    /// @param amount RewardToken units taken: floor(atRisk * bps / 10000).
    /// @param stake The participant's stake afterwards.
    /// @param recipient Where the units went (address(0): burned).
    /// @param atRisk The part of the stake held before the round's roster (the slash base).
    event StakeSlashed(address indexed account, uint256 amount, uint256 stake, address recipient, uint256 atRisk);

    /// @notice Emitted after governance set `account`'s weight cap.
    /// @param account The participant.
    /// @param cap Largest FedAvg weight it may commit (0: only the round's maxWeight applies).
    event WeightCapSet(address indexed account, uint32 cap);

    /// @notice Only RoundLog (fixed at deployment) may slash.
    /// @param caller The caller.
    error ParticipantRegistryUnauthorizedSlasher(address caller);

    /// @notice Only the registrar and admin roles exist here; no other role can be granted.
    /// @param role The role given.
    error ParticipantRegistryRoleNotGrantable(bytes32 role);

    /// @notice A top-up must wait until the previous one is older than the unstake delay (so
    ///         that each round's slash can tell stake held at its roster from stake added later).
    /// @param account The caller.
    /// @param maturesAt When the previous top-up stops being recent.
    error ParticipantRegistryStakeMaturing(address account, uint64 maturesAt);

    /// @notice `account` is already registered.
    /// @param account The address that was given.
    error ParticipantRegistryAlreadyRegistered(address account);

    /// @notice `account` is not registered.
    /// @param account The address that was given.
    error ParticipantRegistryNotRegistered(address account);

    /// @notice `address(0)` cannot be a participant.
    error ParticipantRegistryZeroAddress();

    /// @notice A stake of zero units.
    error ParticipantRegistryZeroAmount();

    /// @notice `account` has nothing staked.
    /// @param account The caller.
    error ParticipantRegistryNoStake(address account);

    /// @notice `account`'s stake is unlocking; it can only be withdrawn.
    /// @param account The caller.
    /// @param unlockAt When the withdrawal opens.
    error ParticipantRegistryUnstaking(address account, uint64 unlockAt);

    /// @notice `account` has not requested an unstake.
    /// @param account The caller.
    error ParticipantRegistryNotUnstaking(address account);

    /// @notice The unstake delay has not passed yet.
    /// @param account The caller.
    /// @param unlockAt When the withdrawal opens.
    error ParticipantRegistryStakeLocked(address account, uint64 unlockAt);

    /// @notice Whether `account` may be rostered now: allowlisted, not unstaking, and staked at
    ///         least the current `minStake`.
    /// @param account The address to look up.
    /// @return True when eligible.
    function isRegistered(address account) external view returns (bool);

    /// @notice Like `isRegistered`, against a given stake requirement (a round's snapshot).
    /// @param account The address to look up.
    /// @param minStake The stake required.
    /// @return True when eligible.
    function isEligible(address account, uint256 minStake) external view returns (bool);

    /// @notice `isEligible` and the account's weight cap in one read (for `postRoster`).
    /// @param account The address to look up.
    /// @param minStake The stake required.
    /// @return cap 0 when not eligible; else the account's weight cap, or type(uint32).max when
    ///         governance set none.
    function eligibleWeightCap(address account, uint256 minStake) external view returns (uint256 cap);

    /// @notice `eligibleWeightCap` for a round rostered at `rosteredAt` (for RoundLog's `commit`):
    ///         only the stake held since then (the stake that round may slash) counts.
    /// @param account The address to look up.
    /// @param minStake The stake required.
    /// @param rosteredAt The round's roster time.
    /// @return cap 0 when not registered, unlocking, or holding less than `minStake` since
    ///         `rosteredAt`; else the account's weight cap, or type(uint32).max when none is set.
    function eligibleWeightCapAt(address account, uint256 minStake, uint64 rosteredAt)
        external
        view
        returns (uint256 cap);

    /// @notice Take `bps` basis points (rounded down) of the part of `account`'s stake it held
    ///         at `rosteredAt`, and send them to `recipient`, or burn them when it is
    ///         address(0) (the slasher, RoundLog, only).
    /// @param account The participant.
    /// @param bps Basis points, 0..10000.
    /// @param recipient Receiver of the slashed units, or address(0).
    /// @param rosteredAt Timestamp of the round's roster block; stake added later is safe.
    /// @return amount RewardToken units taken.
    function slash(address account, uint16 bps, address recipient, uint64 rosteredAt)
        external
        returns (uint256 amount);
}
