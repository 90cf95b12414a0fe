//! The shapes format version 3 wrote that version 4 changed: pools had no health settings,
//! type priority or geomatch. Read from older snapshots and journals and brought up to the
//! current shapes (each pool with the defaults: health reported only, default thresholds, no
//! type priority, geomatch `region`); never written.

use bincode::Decode;

use super::convert::health_image;
use super::image::StateImage;
use super::image::{AccountImage, NumberImage, OptOutSignalImage, PoolHeader, PoolImage};
use super::image_v5::{sticky, StickyImageV5};
use numpool_core::model::PoolSettings;

/// [`StateImage`] as version 3 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct StateImageV3 {
    /// The next pool uid to hand out.
    next_pool_uid: u64,
    /// Accounts in id order.
    accounts: Vec<AccountImageV3>,
}

/// [`AccountImage`] as version 3 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
struct AccountImageV3 {
    /// The account id.
    id: String,
    /// Its inventory (unchanged since version 3).
    numbers: Vec<NumberImage>,
    /// Its pools, in uid order.
    pools: Vec<PoolImageV3>,
    /// Its opt-out signals (unchanged since version 2).
    opt_out_signals: Vec<OptOutSignalImage>,
}

/// [`PoolImage`] as versions 1 to 3 wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Decode)]
pub(crate) struct PoolImageV3 {
    /// Identity and settings.
    header: PoolHeaderV3,
    /// Member numbers, ascending.
    members: Vec<u64>,
    /// Live mappings.
    sticky: Vec<StickyImageV5>,
}

/// [`PoolHeader`] as versions 1 to 3 wrote it, in snapshots and in `Record::PutPoolV3`.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, Decode)]
pub struct PoolHeaderV3 {
    /// The pool's uid.
    pub uid: u64,
    /// The pool id in its account.
    pub id: String,
    /// `Pool`, `CustomFrom` or `Reject`.
    pub fallback: String,
    /// `localized_sender_preferred`.
    pub localized: bool,
    /// `predictable_sender_preferred`.
    pub predictable: bool,
    /// `custom_from`.
    pub custom_from: Option<String>,
    /// `sticky_ttl_seconds`.
    pub sticky_ttl_seconds: u32,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Last change, Unix seconds.
    pub updated_at: u64,
}

impl From<PoolHeaderV3> for PoolHeader {
    /// Version 3 pools had the defaults of what version 4 added.
    fn from(old: PoolHeaderV3) -> Self {
        let defaults = PoolSettings::default();
        PoolHeader {
            uid: old.uid,
            id: old.id,
            fallback: old.fallback,
            localized: old.localized,
            predictable: old.predictable,
            custom_from: old.custom_from,
            sticky_ttl_seconds: old.sticky_ttl_seconds,
            created_at: old.created_at,
            updated_at: old.updated_at,
            skip_unhealthy: defaults.skip_unhealthy,
            health: health_image(&defaults.health),
            type_priority: Vec::new(),
            geomatch: defaults.geomatch.as_str().to_owned(),
        }
    }
}

impl From<PoolImageV3> for PoolImage {
    fn from(old: PoolImageV3) -> Self {
        PoolImage {
            header: old.header.into(),
            members: old.members,
            sticky: sticky(old.sticky),
            opt_outs: Vec::new(),
        }
    }
}

impl From<StateImageV3> for StateImage {
    fn from(old: StateImageV3) -> Self {
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
