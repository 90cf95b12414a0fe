//! The shapes format version 2 wrote that version 3 changed: owned numbers had no throughput
//! limits. Read from older snapshots and journals and brought up to the current shapes (every
//! number unlimited); never written.

use bincode::Decode;

use super::image::{AccountImage, NumberImage, OptOutSignalImage, StateImage};
use super::image_v3::PoolImageV3;

/// [`StateImage`] as version 2 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct StateImageV2 {
    /// The next pool uid to hand out.
    next_pool_uid: u64,
    /// Accounts in id order.
    accounts: Vec<AccountImageV2>,
}

/// [`AccountImage`] as version 2 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct AccountImageV2 {
    /// The account id.
    id: String,
    /// Its inventory, in number order.
    numbers: Vec<NumberImageV2>,
    /// Its pools (unchanged until version 4).
    pools: Vec<PoolImageV3>,
    /// Its opt-out signals (unchanged since version 2).
    opt_out_signals: Vec<OptOutSignalImage>,
}

/// [`NumberImage`] as version 2 wrote it, in snapshots and in `Record::PutNumbersV2`.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, Decode)]
pub struct NumberImageV2 {
    /// E.164 digits as an integer.
    pub number: u64,
    /// The network, if set.
    pub network: Option<String>,
    /// The line type as its API name, if set.
    pub kind: Option<String>,
    /// The weight.
    pub weight: u32,
    /// The status as its API name.
    pub status: String,
}

impl From<NumberImageV2> for NumberImage {
    /// Version 2 had no limits: every number was unlimited, with a burst of 1.
    fn from(old: NumberImageV2) -> Self {
        NumberImage {
            number: old.number,
            network: old.network,
            kind: old.kind,
            weight: old.weight,
            status: old.status,
            mps_bits: None,
            burst: 1,
            daily_new_conversations: None,
        }
    }
}

impl From<StateImageV2> for StateImage {
    fn from(old: StateImageV2) -> Self {
        StateImage {
            next_pool_uid: old.next_pool_uid,
            accounts: old
                .accounts
                .into_iter()
                .map(|account| AccountImage {
                    id: account.id,
                    numbers: account.numbers.into_iter().map(Into::into).collect(),
                    pools: account.pools.into_iter().map(Into::into).collect(),
                    opt_out_signals: account.opt_out_signals,
                })
                .collect(),
        }
    }
}
