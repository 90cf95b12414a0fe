//! The objects of DESIGN §3.1 (accounts, owned numbers, pools) and their validation. Every
//! type here holds only values that passed its checks, so the engine behind it never re-checks.

mod account;
pub mod classify;
mod ids;
mod keyword;
mod limits;
mod msisdn;
mod number;
mod opt_out;
mod pool;
pub mod regions;
mod status;
mod table;
mod type_priority;

use thiserror::Error;

pub use account::{Account, BadSecretDigest};
pub use ids::{AccountId, Country, CustomFrom, IdError, Network, PoolId, SenderId};
pub use keyword::{Keyword, KeywordAction};
pub use limits::{Limits, Mps, MAX_MPS};
pub use msisdn::{Msisdn, MsisdnError};
pub use number::{NumberPatch, NumberSpec, NumberType, OwnedNumber, MAX_WEIGHT};
pub use opt_out::{OptOut, OptOutReason};
pub use pool::{Fallback, Geomatch, OutagePolicy, PoolRecord, PoolSettings};
pub use status::NumberStatus;
pub use table::TableError;
pub use type_priority::TypePriority;

use classify::UnknownCallingCode;

/// A value from outside that fails validation; each variant names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    /// A number that is not 7–15 E.164 digits.
    #[error("invalid number {number:?}: {reason}")]
    Number {
        /// The text as given.
        number: String,
        /// What is wrong with it.
        reason: MsisdnError,
    },
    /// A well-formed number whose calling code libphonenumber does not know.
    #[error(transparent)]
    UnknownCallingCode(#[from] UnknownCallingCode),
    /// A malformed identifier or short string.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A weight outside 1 to [`MAX_WEIGHT`].
    #[error("weight must be between 1 and {MAX_WEIGHT}, found {0}")]
    Weight(u32),
    /// A rate that is not a finite decimal in `(0, MAX_MPS]`, as given.
    #[error("mps must be a decimal greater than 0 and at most {MAX_MPS}, found {0}")]
    Mps(String),
    /// A burst of 0.
    #[error("burst must be an integer of at least 1, found {0}")]
    Burst(u32),
    /// A health threshold out of its range.
    #[error("{field} must be {range}")]
    Threshold {
        /// The threshold's name.
        field: &'static str,
        /// Its range, in words.
        range: &'static str,
    },
    /// A country code libphonenumber knows no region for.
    #[error("{0} is not a region libphonenumber knows")]
    UnknownRegion(Country),
    /// A type priority that lists a type twice, or none.
    #[error("type_priority for {key} must list each type at most once and at least one")]
    TypePriority {
        /// The country code, or `*`.
        key: String,
    },
}
