//! Per-account limits (DESIGN §5): how many pools an account may have, how many numbers its
//! inventory may hold, how many numbers one pool may hold and how many opt-outs. They are
//! checked where the change is applied (under the account's admin lock, or in the pool's actor
//! for opt-outs), so concurrent calls cannot pass them together; a change that would pass one
//! is refused whole.

use std::fmt;

use thiserror::Error;

use numpool_core::model::{AccountId, PoolId};

/// The limits every account is held to (the `[limits]` keys of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLimits {
    /// `max_pools_per_account`: most pools one account may have.
    pub pools: usize,
    /// `max_numbers_per_account`: most numbers one account's inventory may hold.
    pub numbers: usize,
    /// `max_numbers_per_pool`: most numbers one pool may hold.
    pub numbers_per_pool: usize,
    /// `max_opt_outs_per_pool`: most recipients one pool may hold opted out.
    pub opt_outs_per_pool: usize,
}

impl Default for AccountLimits {
    /// The configuration's defaults, defined once, with its keys.
    fn default() -> Self {
        crate::config::Limits::default().account()
    }
}

/// Which limit a change would have passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The account's pools.
    Pools,
    /// The account's inventory.
    Numbers,
    /// The numbers of this pool.
    NumbersPerPool(PoolId),
    /// The opt-outs of this pool.
    OptOutsPerPool(PoolId),
}

impl Limit {
    /// The configuration key that sets it.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Limit::Pools => "max_pools_per_account",
            Limit::Numbers => "max_numbers_per_account",
            Limit::NumbersPerPool(_) => "max_numbers_per_pool",
            Limit::OptOutsPerPool(_) => "max_opt_outs_per_pool",
        }
    }
}

impl fmt::Display for Limit {
    /// What the limit counts, as a sentence names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Pools => f.write_str("pools in the account"),
            Limit::Numbers => f.write_str("numbers in the account's inventory"),
            Limit::NumbersPerPool(pool) => write!(f, "numbers in pool '{pool}'"),
            Limit::OptOutsPerPool(pool) => write!(f, "opt-outs of pool '{pool}'"),
        }
    }
}

/// A change refused because it would pass a limit; nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "limit {key} = {value} for account {account}: {limit} would be {would_be} ({current} now)",
    key = limit.key()
)]
pub struct LimitExceeded {
    /// The limit.
    pub(crate) limit: Limit,
    /// Its configured value.
    pub(crate) value: usize,
    /// The account it holds.
    pub(crate) account: AccountId,
    /// What it counts now.
    pub(crate) current: usize,
    /// What it would count after the change.
    pub(crate) would_be: usize,
}

impl AccountLimits {
    /// The value of `limit`.
    fn value(&self, limit: &Limit) -> usize {
        match limit {
            Limit::Pools => self.pools,
            Limit::Numbers => self.numbers,
            Limit::NumbersPerPool(_) => self.numbers_per_pool,
            Limit::OptOutsPerPool(_) => self.opt_outs_per_pool,
        }
    }

    /// Whether `adding` more to the `current` that `limit` counts stays within it. Adding
    /// nothing always does, so an account over a lowered limit still updates and removes.
    pub(crate) fn check(
        &self,
        account: &AccountId,
        limit: Limit,
        current: usize,
        adding: usize,
    ) -> Result<(), LimitExceeded> {
        let value = self.value(&limit);
        let would_be = current.saturating_add(adding);
        if adding == 0 || would_be <= value {
            return Ok(());
        }
        Err(LimitExceeded {
            limit,
            value,
            account: account.clone(),
            current,
            would_be,
        })
    }

    /// The limits `current` (counted as `limit` counts) is already over, for the warning at a
    /// start whose data was stored under higher limits.
    pub(crate) fn over(&self, limit: &Limit, current: usize) -> Option<usize> {
        let value = self.value(limit);
        (current > value).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_limit_passes_and_one_over_names_it() {
        let limits = AccountLimits {
            pools: 2,
            numbers: 10,
            numbers_per_pool: 5,
            opt_outs_per_pool: 3,
        };
        let account = AccountId::new("abcd1234").unwrap();
        assert!(limits.check(&account, Limit::Pools, 1, 1).is_ok());
        let refused = limits.check(&account, Limit::Pools, 2, 1).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "limit max_pools_per_account = 2 for account abcd1234: pools in the account would be 3 (2 now)"
        );
        let pool = PoolId::new("p").unwrap();
        let refused = limits
            .check(&account, Limit::NumbersPerPool(pool), 3, 3)
            .unwrap_err();
        assert_eq!((refused.value, refused.would_be), (5, 6));
        // Already over a lowered limit: adding nothing (updates, removals) still passes.
        assert!(limits.check(&account, Limit::Numbers, 12, 0).is_ok());
        assert!(limits.check(&account, Limit::Numbers, 12, 1).is_err());
        assert_eq!(limits.over(&Limit::Numbers, 12), Some(10));
        assert_eq!(limits.over(&Limit::Numbers, 10), None);
    }
}
