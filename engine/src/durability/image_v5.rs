//! The shapes format version 5 wrote that version 6 changed: a sticky mapping did not record
//! when it was made. Read from older snapshots and journals (`Record::StickyAssignV5`) and
//! brought up to the current shapes, each mapping's `since` being its last use, the earliest
//! time the data still shows; never written.

use bincode::Decode;

use super::image::{AccountImage, NumberImage, OptOutImage, OptOutSignalImage, PoolHeader};
use super::image::{PoolImage, StateImage, StickyImage};

/// [`StateImage`] as version 5 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct StateImageV5 {
    /// The next pool uid to hand out.
    next_pool_uid: u64,
    /// Accounts in id order.
    accounts: Vec<AccountImageV5>,
}

/// [`AccountImage`] as version 5 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct AccountImageV5 {
    /// The account id.
    id: String,
    /// Its inventory (unchanged since version 3).
    numbers: Vec<NumberImage>,
    /// Its pools, in uid order.
    pools: Vec<PoolImageV5>,
    /// Its opt-out signals (unchanged since version 2).
    opt_out_signals: Vec<OptOutSignalImage>,
}

/// [`PoolImage`] as version 5 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct PoolImageV5 {
    /// Identity and settings (unchanged since version 4).
    header: PoolHeader,
    /// Member numbers, ascending.
    members: Vec<u64>,
    /// Live mappings, without `since`.
    sticky: Vec<StickyImageV5>,
    /// Opted-out recipients (unchanged since version 5).
    opt_outs: Vec<OptOutImage>,
}

/// [`StickyImage`] as versions 1 to 5 wrote it, in snapshots and in `Record::StickyAssignV5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, Decode)]
pub struct StickyImageV5 {
    /// The recipient.
    pub to: u64,
    /// Its sender.
    pub sender: u64,
    /// Last use, Unix seconds.
    pub last_use: u32,
}

impl From<StickyImageV5> for StickyImage {
    /// When the mapping was made is unknown; its last use is the earliest time known.
    fn from(old: StickyImageV5) -> Self {
        StickyImage {
            to: old.to,
            sender: old.sender,
            since: old.last_use,
            last_use: old.last_use,
        }
    }
}

/// Mappings as an older version wrote them, in the current shape.
pub(crate) fn sticky(old: Vec<StickyImageV5>) -> Vec<StickyImage> {
    old.into_iter().map(Into::into).collect()
}

impl From<StateImageV5> for StateImage {
    fn from(old: StateImageV5) -> Self {
        StateImage {
            next_pool_uid: old.next_pool_uid,
            accounts: old
                .accounts
                .into_iter()
                .map(|account| AccountImage {
                    id: account.id,
                    numbers: account.numbers,
                    pools: account
                        .pools
                        .into_iter()
                        .map(|pool| PoolImage {
                            header: pool.header,
                            members: pool.members,
                            sticky: sticky(pool.sticky),
                            opt_outs: pool.opt_outs,
                        })
                        .collect(),
                    opt_out_signals: account.opt_out_signals,
                })
                .collect(),
        }
    }
}
