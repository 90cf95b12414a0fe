//! The shapes format version 1 wrote that version 2 changed: owned numbers had no status and
//! accounts no opt-out signals. Read from older snapshots and journals and brought up to the
//! current shapes (every number active, no signal); never written.

use bincode::Decode;

use super::image::{AccountImage, NumberImage, StateImage};
use super::image_v2::NumberImageV2;
use super::image_v3::PoolImageV3;
use numpool_core::model::NumberStatus;

/// [`StateImage`] as version 1 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct StateImageV1 {
    /// The next pool uid to hand out.
    next_pool_uid: u64,
    /// Accounts in id order.
    accounts: Vec<AccountImageV1>,
}

/// [`AccountImage`] as version 1 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct AccountImageV1 {
    /// The account id.
    id: String,
    /// Its inventory, in number order.
    numbers: Vec<NumberImageV1>,
    /// Its pools (unchanged until version 4).
    pools: Vec<PoolImageV3>,
}

/// [`NumberImage`] as version 1 wrote it, in snapshots and in `Record::UpsertNumbers`.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, Decode)]
pub struct NumberImageV1 {
    /// E.164 digits as an integer.
    pub number: u64,
    /// The network, if set.
    pub network: Option<String>,
    /// The line type as its API name, if set.
    pub kind: Option<String>,
    /// The weight.
    pub weight: u32,
}

impl From<NumberImageV1> for NumberImage {
    /// Version 1 had no status (every number was active) and no limits.
    fn from(old: NumberImageV1) -> Self {
        NumberImage::from(NumberImageV2 {
            number: old.number,
            network: old.network,
            kind: old.kind,
            weight: old.weight,
            status: NumberStatus::Active.as_str().to_owned(),
        })
    }
}

impl From<StateImageV1> for StateImage {
    fn from(old: StateImageV1) -> Self {
        StateImage {
            next_pool_uid: old.next_pool_uid,
            accounts: old
                .accounts
                .into_iter()
                .map(|account| AccountImage {
                    id: account.id,
                    numbers: account.numbers.into_iter().map(Into::into).collect(),
                    pools: account.pools.into_iter().map(Into::into).collect(),
                    opt_out_signals: Vec::new(),
                })
                .collect(),
        }
    }
}
