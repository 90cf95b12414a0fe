//! The shapes format version 4 wrote that version 5 changed: pools had no opt-outs (and, as
//! until version 5, mappings no `since`). Read from
//! older snapshots and brought up to the current shapes (no pool has an opt-out); never
//! written.

use bincode::Decode;

use super::image::StateImage;
use super::image::{AccountImage, NumberImage, OptOutSignalImage, PoolHeader, PoolImage};
use super::image_v5::{sticky, StickyImageV5};

/// [`StateImage`] as version 4 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct StateImageV4 {
    /// The next pool uid to hand out.
    next_pool_uid: u64,
    /// Accounts in id order.
    accounts: Vec<AccountImageV4>,
}

/// [`AccountImage`] as version 4 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct AccountImageV4 {
    /// The account id.
    id: String,
    /// Its inventory (unchanged since version 3).
    numbers: Vec<NumberImage>,
    /// Its pools, in uid order.
    pools: Vec<PoolImageV4>,
    /// Its opt-out signals (unchanged since version 2).
    opt_out_signals: Vec<OptOutSignalImage>,
}

/// [`PoolImage`] as version 4 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct PoolImageV4 {
    /// Identity and settings (unchanged since version 4).
    header: PoolHeader,
    /// Member numbers, ascending.
    members: Vec<u64>,
    /// Live mappings.
    sticky: Vec<StickyImageV5>,
}

impl From<PoolImageV4> for PoolImage {
    /// Version 4 pools had no opt-outs.
    fn from(old: PoolImageV4) -> Self {
        PoolImage {
            header: old.header,
            members: old.members,
            sticky: sticky(old.sticky),
            opt_outs: Vec::new(),
        }
    }
}

impl From<StateImageV4> for StateImage {
    fn from(old: StateImageV4) -> Self {
        StateImage {
            next_pool_uid: old.next_pool_uid,
            accounts: old
                .accounts
                .into_iter()
                .map(|account| AccountImage {
                    id: account.id,
                    numbers: account.numbers,
                    pools: account.pools.into_iter().map(Into::into).collect(),
                    opt_out_signals: account.opt_out_signals,
                })
                .collect(),
        }
    }
}
