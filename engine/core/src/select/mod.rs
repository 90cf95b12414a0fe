//! The selection rules of DESIGN §3.2 as plain functions over one pool's [`PoolState`]: no
//! actors, no I/O, so they can be unit-tested, property-tested and benchmarked directly.

mod candidates;
#[cfg(test)]
mod geomatch_tests;
#[cfg(test)]
mod health_tests;
mod index;
mod ineligible;
#[cfg(test)]
mod opt_out_tests;
mod pick;
mod state;
mod stats;
#[cfg(test)]
mod tests;
mod throughput;
#[cfg(test)]
mod throughput_tests;

use std::fmt;

use thiserror::Error;

pub use ineligible::Ineligible;
pub use pick::pick;
pub use state::{Conversation, PoolState};
pub use stats::PickStats;
pub use throughput::Now;

use crate::model::classify::UnknownCallingCode;
use crate::model::{Country, IdError, Msisdn, SenderId};

/// Most SMS parts one message may have: concatenated SMS numbers its parts in one byte.
pub const MAX_SEGMENTS: u32 = 255;

/// One pick's input.
#[derive(Clone, Copy, Debug)]
pub struct PickRequest<'a> {
    /// The recipient.
    pub to: Msisdn,
    /// The message's own sender, used by the `CustomFrom` fallback.
    pub from: Option<&'a str>,
    /// The recipient's network, if the caller knows it.
    pub network: Option<&'a str>,
    /// The message's SMS parts (1 to [`MAX_SEGMENTS`]): what a number with `mps` is charged.
    pub segments: u32,
}

impl PickRequest<'_> {
    /// A request for `to` with no `from` or network: the common case.
    pub fn to(to: Msisdn) -> Self {
        PickRequest {
            to,
            from: None,
            network: None,
            segments: 1,
        }
    }
}

/// Who a message is sent from.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Sender {
    /// A pool number.
    Number(Msisdn),
    /// An alphanumeric sender ID (the `CustomFrom` fallback).
    Alphanumeric(SenderId),
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sender::Number(n) => n.fmt(f),
            Sender::Alphanumeric(id) => id.fmt(f),
        }
    }
}

/// Why a sender was chosen.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Reason {
    /// The recipient's recorded mapping.
    Sticky,
    /// A number in the recipient's NANP area (on its network where possible).
    Area,
    /// A number in the recipient's geocoding region: its US state or Canadian province, or
    /// the city or county the prefix is in elsewhere (on its network where possible).
    Region,
    /// A number in the recipient's country on its network.
    Network,
    /// A number in the recipient's country.
    Country,
    /// Any pool number (non-localized pool, or the `Pool` fallback).
    Any,
    /// An alphanumeric sender ID (the `CustomFrom` fallback).
    CustomFrom,
}

impl Reason {
    /// Every reason, for counters.
    pub const ALL: [Reason; 7] = [
        Reason::Sticky,
        Reason::Area,
        Reason::Region,
        Reason::Network,
        Reason::Country,
        Reason::Any,
        Reason::CustomFrom,
    ];

    /// The name used by the protocols (`WITHREASON`, REST `reason`, metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Sticky => "sticky",
            Reason::Area => "area",
            Reason::Region => "region",
            Reason::Network => "network",
            Reason::Country => "country",
            Reason::Any => "any",
            Reason::CustomFrom => "custom_from",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A successful pick.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Pick {
    /// Who to send from.
    pub sender: Sender,
    /// Why.
    pub reason: Reason,
    /// Milliseconds to wait before sending (rounded up): the sender's booked slot under its
    /// `mps`; 0 almost always.
    pub wait_ms: u32,
}

/// Why a pool refused to pick (DESIGN §3.2 rule 5): an answer, not a malformed request.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Error)]
pub enum Rejection {
    /// The pool has no numbers at all.
    #[error("pool has no numbers")]
    EmptyPool,
    /// Fallback `Reject` and no number for the recipient's country.
    #[error("no number for country {0}")]
    NoNumberForCountry(Country),
    /// Fallback `CustomFrom`, no number for the country, and neither a request `from` nor a
    /// pool `custom_from`.
    #[error("no number for country {0} and no sender ID: give FROM or set the pool's custom_from")]
    NoCustomFrom(Country),
    /// The pool has numbers in the recipient's country, but none takes new conversations.
    #[error("no eligible number for country {0}: every number there is {1}")]
    NoneEligibleInCountry(Country, Ineligible),
    /// The pool has numbers, but none takes new conversations.
    #[error("no eligible number: every number in the pool is {0}")]
    NoneEligible(Ineligible),
}

/// A pick that did not produce a sender.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum PickError {
    /// Rule 1: the recipient's calling code is unknown.
    #[error(transparent)]
    InvalidRecipient(#[from] UnknownCallingCode),
    /// The request's `from` is not a valid sender ID.
    #[error(transparent)]
    InvalidSender(IdError),
    /// The pool's rules refuse this recipient.
    #[error(transparent)]
    Rejected(Rejection),
    /// Rule 2: the recipient opted out of the pool; no fallback applies.
    #[error("recipient opted out")]
    OptedOut,
}
