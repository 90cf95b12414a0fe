//! The messages a [`PoolActor`](super::PoolActor) answers: every read and change of one pool.

use actix::Message;

use crate::durability::image::Record;
use crate::durability::StorageFailure;
use numpool_core::delivery::{HealthFigures, HealthState, ReceiptClass};
use numpool_core::model::{Msisdn, OptOut, OwnedNumber, PoolSettings};
use numpool_core::select::{Conversation, Pick, PickError, PickRequest};

/// One pick with owned arguments, so it can cross to the actor's thread. `from` and `network`
/// are rare, so the common job carries no heap allocation at all.
#[derive(Clone, Debug)]
pub(crate) struct PickJob {
    /// The recipient.
    pub(crate) to: Msisdn,
    /// The message's own sender, for the `CustomFrom` fallback.
    pub(crate) from: Option<Box<str>>,
    /// The recipient's network, if known.
    pub(crate) network: Option<Box<str>>,
    /// The message's SMS parts, charged to the sender's throughput.
    pub(crate) segments: u32,
}

impl PickJob {
    /// The owned copy of `request` that crosses to the actor.
    pub(crate) fn of(request: &PickRequest<'_>) -> Self {
        PickJob {
            to: request.to,
            from: request.from.map(Box::from),
            network: request.network.map(Box::from),
            segments: request.segments,
        }
    }

    /// The borrowed form the selection functions take.
    pub(crate) fn request(&self) -> PickRequest<'_> {
        PickRequest {
            to: self.to,
            from: self.from.as_deref(),
            network: self.network.as_deref(),
            segments: self.segments,
        }
    }
}

/// Several picks for one pool in one message: a pipelined burst costs one actor round trip.
#[derive(Debug)]
pub(crate) struct PickBatch(pub(crate) Vec<PickJob>);

impl Message for PickBatch {
    type Result = Vec<Result<Pick, PickRefusal>>;
}

/// Why one pick of a batch produced no sender.
#[derive(Debug, Clone)]
pub(crate) enum PickRefusal {
    /// The pool's rules, or the request, said no.
    Pick(PickError),
    /// The pick needed a record that could not be stored (or waited on one that was not): its
    /// answer is withdrawn, and so is any mapping it made.
    Storage(StorageFailure),
}

/// Adds numbers or refreshes the details of those already present; per number, whether new.
/// With `record` (membership changes of a durable pool) the actor journals it first and
/// applies the change once it is fsynced, so the journal has it in the actor's order.
#[derive(Debug)]
pub(crate) struct Upsert {
    /// The numbers as they now are.
    pub(crate) numbers: Vec<OwnedNumber>,
    /// The journal record of the change, if it must be journaled by the actor.
    pub(crate) record: Option<Record>,
}

impl Message for Upsert {
    type Result = Result<Vec<bool>, StorageFailure>;
}

/// Removes numbers; per number, whether it was there. `record` as for [`Upsert`].
#[derive(Debug)]
pub(crate) struct Remove {
    /// The numbers leaving.
    pub(crate) numbers: Vec<Msisdn>,
    /// The journal record of the change.
    pub(crate) record: Option<Record>,
}

impl Message for Remove {
    type Result = Result<Vec<bool>, StorageFailure>;
}

/// Replaces the pool's settings. `record` as for [`Upsert`].
#[derive(Debug)]
pub(crate) struct SetSettings {
    /// The new settings.
    pub(crate) settings: PoolSettings,
    /// The journal record of the change.
    pub(crate) record: Option<Record>,
}

impl Message for SetSettings {
    type Result = Result<(), StorageFailure>;
}

/// Reads the live mapping of a recipient.
#[derive(Debug)]
pub(crate) struct StickyGet(pub(crate) Msisdn);

impl Message for StickyGet {
    type Result = Option<Conversation>;
}

/// An inbound reply from `to` to `sender` (DESIGN §3.6): refreshes the last use of `to`'s
/// conversation if it is live and on `sender`, and answers it as it now is.
#[derive(Debug)]
pub(crate) struct Touch {
    /// The recipient who wrote.
    pub(crate) to: Msisdn,
    /// The pool's number they wrote to.
    pub(crate) sender: Msisdn,
}

impl Message for Touch {
    type Result = Option<Conversation>;
}

/// The live conversations of one sticky shard (on `sender` only, if given) in recipient
/// order, `skip` of them skipped and at most `take` returned, with how many the shard has:
/// a listing pages through the shards one message each, so it never holds the pool longer.
#[derive(Debug)]
pub(crate) struct ConversationSlice {
    /// The shard.
    pub(crate) shard: usize,
    /// Only conversations on this number, if given.
    pub(crate) sender: Option<Msisdn>,
    /// Conversations of the shard to skip.
    pub(crate) skip: usize,
    /// Most to return.
    pub(crate) take: usize,
}

impl Message for ConversationSlice {
    type Result = (Vec<Conversation>, usize);
}

/// Counts the conversations (sticky mappings) on each of these members; 0 for a number the
/// pool no longer holds.
#[derive(Debug)]
pub(crate) struct Conversations(pub(crate) Vec<Msisdn>);

impl Message for Conversations {
    type Result = Vec<u32>;
}

/// A receipt for one of the pool's members, with the account-wide window it left (DESIGN
/// §3.3: the inventory owns health and pushes it to the pools holding the number, each of
/// which judges it under its own thresholds).
#[derive(Debug)]
pub(crate) struct Observe {
    /// The member the receipt is for.
    pub(crate) number: Msisdn,
    /// What it said.
    pub(crate) class: ReceiptClass,
    /// The member's window after it.
    pub(crate) figures: HealthFigures,
    /// When it came, Unix seconds.
    pub(crate) now: u64,
}

impl Message for Observe {
    type Result = ();
}

/// One member as the pool sees it: its conversations and its health state under the pool's
/// thresholds; `None` when the pool does not hold the number.
#[derive(Debug)]
pub(crate) struct Member(pub(crate) Msisdn);

impl Message for Member {
    type Result = Option<MemberView>;
}

/// What [`Member`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemberView {
    /// Conversations (sticky mappings) on it.
    pub(crate) conversations: u32,
    /// Its health state under the pool's thresholds.
    pub(crate) health: HealthState,
    /// Since when, Unix seconds; `None` while it has never left healthy.
    pub(crate) since: Option<u64>,
}

/// Opts a recipient out of the pool (`Some`) or lifts its opt-out (`None`), journaled and
/// fsynced first; with `only_if_mapped_to`, only when the recipient's conversation is on that
/// number (a receipt's opt-out signal). Whether it changed anything.
#[derive(Debug)]
pub(crate) struct SetOptOut {
    /// The recipient.
    pub(crate) to: Msisdn,
    /// The opt-out to record, or `None` to lift it.
    pub(crate) opt_out: Option<OptOut>,
    /// The sender the recipient's mapping must be on for the change to apply.
    pub(crate) only_if_mapped_to: Option<Msisdn>,
    /// Most opt-outs the pool may hold (`max_opt_outs_per_pool`): a new one past it is refused
    /// and nothing is journaled.
    pub(crate) max: usize,
}

impl Message for SetOptOut {
    type Result = Result<Result<bool, OptOutsFull>, StorageFailure>;
}

/// A new opt-out refused: the pool already holds as many as it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OptOutsFull {
    /// How many it holds.
    pub(crate) held: usize,
}

/// A page of the pool's opt-outs in recipient order, and how many there are.
#[derive(Debug)]
pub(crate) struct OptOutPage {
    /// Opt-outs to skip.
    pub(crate) skip: usize,
    /// Most to return.
    pub(crate) take: usize,
}

impl Message for OptOutPage {
    type Result = (Vec<(Msisdn, OptOut)>, usize);
}

/// One recipient's opt-out, if it has one.
#[derive(Debug)]
pub(crate) struct GetOptOut(pub(crate) Msisdn);

impl Message for GetOptOut {
    type Result = Option<OptOut>;
}

/// Drops the mapping of a recipient; whether a live one went.
#[derive(Debug)]
pub(crate) struct StickyDel(pub(crate) Msisdn);

impl Message for StickyDel {
    type Result = Result<bool, StorageFailure>;
}

/// Caches a mapping the cluster committed (cluster mode, DESIGN §10): a won claim, a lost one's
/// winner, or one another sidecar made. Not journaled: the cluster's bucket holds it. Whether
/// it was adopted: only if its sender would keep the conversation here.
#[derive(Debug)]
pub(crate) struct Adopt(pub(crate) Conversation);

impl Message for Adopt {
    type Result = bool;
}

/// Drops a recipient's mapping if it is still on `sender` (cluster mode): a tentative mapping
/// whose claim failed, or a mapping the cluster deleted or expired.
#[derive(Debug)]
pub(crate) struct Withdraw {
    /// The recipient.
    pub(crate) to: Msisdn,
    /// The sender it must still be on.
    pub(crate) sender: Msisdn,
}

impl Message for Withdraw {
    type Result = ();
}

/// Copies the live mappings of one sticky shard, for a snapshot: one shard per message, so a
/// snapshot never holds a pool for longer than one shard's copy.
#[derive(Debug)]
pub(crate) struct CopyShard(pub(crate) usize);

impl Message for CopyShard {
    type Result = Vec<Conversation>;
}

/// Stops the actor (its pool was deleted); its mappings go with it.
#[derive(Debug)]
pub(crate) struct Stop;

impl Message for Stop {
    type Result = ();
}
