//! The persisted shapes (DESIGN §6): the state image a snapshot holds and the journal's
//! records. Plain data with bincode's native derive, kept apart from the model types so that a
//! refactor of the model cannot silently change the on-disk format (the golden tests guard it).
//! This is format version 6; `image_v1` to `image_v5` keep the shapes older versions wrote,
//! which are still read.

use bincode::de::{Decode, Decoder};
use bincode::error::DecodeError;
use bincode::Encode;

use super::image_v1::{NumberImageV1, StateImageV1};
use super::image_v2::{NumberImageV2, StateImageV2};
use super::image_v3::{PoolHeaderV3, StateImageV3};
use super::image_v4::StateImageV4;
use super::image_v5::{StateImageV5, StickyImageV5};

/// Everything numpool keeps: inventories, pools and sticky tables of every account. Decoded
/// with the snapshot's format version as context: a version-1 payload is read in its own shape
/// and brought up to this one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode)]
pub struct StateImage {
    /// The next pool uid to hand out; uids are never reused.
    pub next_pool_uid: u64,
    /// Accounts in id order.
    pub accounts: Vec<AccountImage>,
}

impl StateImage {
    /// Sticky mappings it holds, across every account and pool.
    pub fn mappings(&self) -> u64 {
        self.accounts
            .iter()
            .flat_map(|a| &a.pools)
            .map(|p| p.sticky.len() as u64)
            .sum()
    }
}

impl Decode<u32> for StateImage {
    fn decode<D: Decoder<Context = u32>>(decoder: &mut D) -> Result<Self, DecodeError> {
        match *decoder.context() {
            1 => StateImageV1::decode(decoder).map(StateImage::from),
            2 => StateImageV2::decode(decoder).map(StateImage::from),
            3 => StateImageV3::decode(decoder).map(StateImage::from),
            4 => StateImageV4::decode(decoder).map(StateImage::from),
            5 => StateImageV5::decode(decoder).map(StateImage::from),
            _ => Ok(StateImage {
                next_pool_uid: u64::decode(decoder)?,
                accounts: Vec::decode(decoder)?,
            }),
        }
    }
}

/// One account's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, bincode::Decode)]
pub struct AccountImage {
    /// The account id.
    pub id: String,
    /// Its inventory, in number order.
    pub numbers: Vec<NumberImage>,
    /// Its pools, in uid order.
    pub pools: Vec<PoolImage>,
    /// Opt-out signals delivery receipts carried, by sender then recipient (format 2).
    pub opt_out_signals: Vec<OptOutSignalImage>,
}

/// An opt-out signal: a receipt said `to` wants nothing more from `sender` (err-code 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct OptOutSignalImage {
    /// The account's number the recipient wants nothing more from.
    pub sender: u64,
    /// The recipient.
    pub to: u64,
    /// When the last such receipt came, Unix seconds.
    pub at: u64,
}

/// An owned number.
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct NumberImage {
    /// E.164 digits as an integer.
    pub number: u64,
    /// The network, if set.
    pub network: Option<String>,
    /// The line type as its API name (`mobile`, `landline`, …), if set.
    pub kind: Option<String>,
    /// The weight.
    pub weight: u32,
    /// The status as its API name (`active`, `draining`, `suspended`).
    pub status: String,
    /// Messages per second as the bits of its `f64` (exact, and keeps the image `Eq`);
    /// `None` is unlimited (format 3).
    pub mps_bits: Option<u64>,
    /// Messages that may go at once (format 3).
    pub burst: u32,
    /// New conversations per UTC day; `None` is unlimited (format 3).
    pub daily_new_conversations: Option<u32>,
}

/// A pool's settings and identity: what create and update records carry.
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct PoolHeader {
    /// A stable id that survives renames; journal records point at pools by it.
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
    /// `skip_unhealthy` (format 4).
    pub skip_unhealthy: bool,
    /// `health` (format 4).
    pub health: HealthImage,
    /// `type_priority` as `(country code or "*", type names)` (format 4).
    pub type_priority: Vec<(String, Vec<String>)>,
    /// `geomatch` as its API name (format 4).
    pub geomatch: String,
}

/// A pool's health thresholds, ratios as the bits of their `f64` (exact, and `Eq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct HealthImage {
    /// `min_receipts`.
    pub min_receipts: u64,
    /// `min_deliverability`.
    pub min_deliverability_bits: u64,
    /// `max_spam_ratio`.
    pub max_spam_ratio_bits: u64,
    /// `probation_seconds`.
    pub probation_seconds: u64,
}

/// A pool with its numbers and mappings.
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct PoolImage {
    /// Identity and settings.
    pub header: PoolHeader,
    /// Member numbers, ascending.
    pub members: Vec<u64>,
    /// Live mappings.
    pub sticky: Vec<StickyImage>,
    /// Opted-out recipients, ascending (format 5).
    pub opt_outs: Vec<OptOutImage>,
}

/// A recipient's opt-out of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct OptOutImage {
    /// The recipient.
    pub to: u64,
    /// When, Unix seconds.
    pub at: u64,
    /// Why: 0 keyword, 1 receipt, 2 api ([`OptOutImage::REASONS`]).
    pub reason: u8,
}

impl OptOutImage {
    /// The reasons by their stored code.
    pub const REASONS: [&'static str; 3] = ["keyword", "receipt", "api"];
}

/// One sticky mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub struct StickyImage {
    /// The recipient.
    pub to: u64,
    /// Its sender.
    pub sender: u64,
    /// When it was made, Unix seconds (format 6).
    pub since: u32,
    /// Last use, Unix seconds.
    pub last_use: u32,
}

/// One journal record: a mutation, applied in order on top of the snapshot. Every record sets
/// state rather than adjusting it, so replaying a record whose effect a snapshot already holds
/// changes nothing (a snapshot may be captured while its journal is already being written).
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub enum Record {
    /// Numbers added to or updated in an inventory, as format version 1 wrote it (no status:
    /// each number is active). Replayed from older journals, no longer written.
    UpsertNumbers {
        /// The account.
        account: String,
        /// The numbers as they now are.
        numbers: Vec<NumberImageV1>,
    },
    /// A number released from an inventory (and so from every pool of the account).
    DeleteNumber {
        /// The account.
        account: String,
        /// The number.
        number: u64,
    },
    /// A pool created, or its settings or id changed, as format version 3 wrote it (no health
    /// settings, type priority or geomatch). Replayed from older journals, no longer written.
    PutPoolV3 {
        /// The account.
        account: String,
        /// The pool as it then was.
        header: PoolHeaderV3,
    },
    /// A pool deleted.
    DeletePool {
        /// The account.
        account: String,
        /// The pool's uid.
        uid: u64,
    },
    /// Numbers joined a pool.
    AddMembers {
        /// The account.
        account: String,
        /// The pool's uid.
        uid: u64,
        /// The numbers.
        numbers: Vec<u64>,
        /// When, Unix seconds (the pool's `updated_at`).
        at: u64,
    },
    /// Numbers left a pool.
    RemoveMembers {
        /// The account.
        account: String,
        /// The pool's uid.
        uid: u64,
        /// The numbers.
        numbers: Vec<u64>,
        /// When, Unix seconds.
        at: u64,
    },
    /// A recipient was assigned a sender, as format version 5 wrote it (no `since`).
    /// Replayed from older journals, no longer written.
    StickyAssignV5 {
        /// The pool's uid (uids are unique across accounts).
        uid: u64,
        /// The mapping.
        mapping: StickyImageV5,
    },
    /// A recipient's mapping was deleted (`STICKY.DEL`).
    StickyRemove {
        /// The pool's uid.
        uid: u64,
        /// The recipient.
        to: u64,
    },
    /// Numbers added to or updated in an inventory, as format version 2 wrote it (status, no
    /// limits: each number is unlimited). Replayed from older journals, no longer written.
    PutNumbersV2 {
        /// The account.
        account: String,
        /// The numbers as they now are.
        numbers: Vec<NumberImageV2>,
    },
    /// A receipt's opt-out signal, fsynced like the opt-outs it is for.
    OptOutSignal {
        /// The account.
        account: String,
        /// The signal.
        signal: OptOutSignalImage,
    },
    /// Numbers added to or updated in an inventory (status and limits included). Appended
    /// after the older records, so journals written before it still decode.
    PutNumbers {
        /// The account.
        account: String,
        /// The numbers as they now are.
        numbers: Vec<NumberImage>,
    },
    /// A pool created, or its settings or id changed (health settings, type priority and
    /// geomatch included). Appended after the older records, so journals written before it
    /// still decode.
    PutPool {
        /// The account.
        account: String,
        /// The pool as it now is.
        header: PoolHeader,
    },
    /// A recipient opted out of a pool (or its opt-out's time and reason changed); fsynced
    /// before the answer, like every admin change.
    OptOutPut {
        /// The pool's uid.
        uid: u64,
        /// The opt-out.
        opt_out: OptOutImage,
    },
    /// A recipient's opt-out of a pool lifted.
    OptOutRemove {
        /// The pool's uid.
        uid: u64,
        /// The recipient.
        to: u64,
    },
    /// A recipient was assigned a sender (when included). Appended after the older records,
    /// so journals written before it still decode.
    StickyAssign {
        /// The pool's uid (uids are unique across accounts).
        uid: u64,
        /// The mapping.
        mapping: StickyImage,
    },
    /// Cluster mode's pool record on the admin log: [`Record::PutPool`] and the one setting
    /// only a cluster uses, `cluster_unavailable` (`retry` or `local`). Never journaled: a
    /// sidecar in cluster mode keeps no data directory.
    PutPoolCluster {
        /// The account.
        account: String,
        /// The pool as it now is.
        header: PoolHeader,
        /// Its `cluster_unavailable`.
        cluster_unavailable: String,
    },
}
