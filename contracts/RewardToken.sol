// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IRewardToken} from "./interfaces/IRewardToken.sol";

/// @title RewardToken
/// @notice Contributor rewards, stake and governance voting power (ERC20Votes, block-number clock).
/// @dev No roles: the minter (RoundLog) is fixed at deployment, so no vote can create tokens
///      outside RoundLog's reward rule. Burnable so that slashed stake can be destroyed when
///      governance names no treasury.
contract RewardToken is IRewardToken, ERC20, ERC20Burnable, ERC20Permit, ERC20Votes {
    address private immutable _minter;

    /// @param minter_ The only account that may mint, for good (RoundLog's address).
    /// @param holders Genesis allocations: who gets tokens at deployment (self-delegated, so
    ///        their votes count from the start).
    /// @param amounts Token units for each of `holders`.
    constructor(address minter_, address[] memory holders, uint256[] memory amounts)
        ERC20("fedledger reward", "FLR")
        ERC20Permit("fedledger reward")
    {
        if (holders.length != amounts.length) revert RewardTokenGenesisMismatch(holders.length, amounts.length);
        _minter = minter_;
        for (uint256 i = 0; i < holders.length; ++i) {
            _delegate(holders[i], holders[i]);
            _mint(holders[i], amounts[i]);
        }
    }

    /// @inheritdoc IRewardToken
    function mint(address to, uint256 amount) external {
        if (msg.sender != _minter) revert RewardTokenUnauthorizedMinter(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc IRewardToken
    function minter() external view returns (address) {
        return _minter;
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
