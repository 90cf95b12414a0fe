//! The pool actor (DESIGN §3.3): owns one pool's [`PoolState`] and applies every pick and change
//! to it in order, so concurrent picks for one recipient always agree.

use std::error::Error;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, MessageResult};

use std::sync::Arc;

use super::messages::{
    CopyShard, GetStats, PickBatch, Remove, SetSettings, StickyDel, StickyGet, StickyMapping, Stop,
    Upsert,
};
use crate::clock::unix_now_u32;
use crate::durability::image::{Record, StickyImage};
use crate::durability::Durability;
use numpool_core::model::Msisdn;
use numpool_core::select::{pick, Pick, PickError, PickStats, PoolState, Reason, Sender};
use numpool_core::sticky::SHARDS;

/// Mailbox size: callers may have many batches in flight at once; a bigger mailbox lets them
/// queue instead of parking on a full one.
const MAILBOX_CAPACITY: usize = 4_096;
/// One sticky shard is swept for expired and dead mappings this often, so a full pass over a
/// pool's table takes `SHARDS` times as long and never stalls it for more than one shard.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// Where a pool's sticky changes are journaled.
pub(crate) struct PoolJournal {
    /// The shared journal.
    pub(crate) storage: Arc<Durability>,
    /// The pool's uid, which records name it by (it survives renames).
    pub(crate) uid: u64,
}

/// One pool.
pub(crate) struct PoolActor {
    /// The pool's members, index and sticky table.
    state: PoolState,
    /// Journal for sticky changes; `None` when numpool runs without a data directory.
    journal: Option<PoolJournal>,
    /// The shard the next sweep visits.
    next_sweep_shard: usize,
    /// Pick counters, read by `INFO` and `/metrics`.
    stats: PickStats,
}

impl PoolActor {
    /// An actor owning `state`, journaling to `journal`.
    pub(crate) fn new(state: PoolState, journal: Option<PoolJournal>) -> Self {
        PoolActor {
            state,
            journal,
            next_sweep_shard: 0,
            stats: PickStats::default(),
        }
    }
}

impl Actor for PoolActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        ctx.run_interval(SWEEP_EVERY, |actor, _| {
            actor
                .state
                .sweep_shard(actor.next_sweep_shard, unix_now_u32());
            actor.next_sweep_shard = (actor.next_sweep_shard + 1) % SHARDS;
        });
    }
}

impl Handler<PickBatch> for PoolActor {
    type Result = <PickBatch as actix::Message>::Result;

    fn handle(&mut self, batch: PickBatch, _: &mut Self::Context) -> Self::Result {
        // One clock read per batch: last-use stamps are coarse anyway.
        let now = unix_now_u32();
        let outcomes: Vec<_> = batch
            .0
            .iter()
            .map(|job| {
                let outcome = pick(&mut self.state, &job.request(), now);
                self.stats.count(&outcome);
                outcome
            })
            .collect();
        if let Some(journal) = &self.journal {
            let records: Vec<Record> = batch
                .0
                .iter()
                .zip(&outcomes)
                .filter_map(|(job, outcome)| {
                    new_assignment(&self.state, outcome).map(|sender| Record::StickyAssign {
                        uid: journal.uid,
                        mapping: StickyImage {
                            to: job.to.get(),
                            sender: sender.get(),
                            last_use: now,
                        },
                    })
                })
                .collect();
            if let Err(err) = journal.storage.append_sticky(&records) {
                tracing::error!(
                    error = &err as &dyn Error,
                    "journaling sticky assignments failed"
                );
            }
        }
        outcomes
    }
}

impl Handler<Upsert> for PoolActor {
    type Result = Vec<bool>;

    fn handle(&mut self, msg: Upsert, _: &mut Self::Context) -> Self::Result {
        self.state.upsert(msg.0)
    }
}

impl Handler<Remove> for PoolActor {
    type Result = Vec<bool>;

    fn handle(&mut self, msg: Remove, _: &mut Self::Context) -> Self::Result {
        self.state.remove(&msg.0)
    }
}

impl Handler<SetSettings> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: SetSettings, _: &mut Self::Context) {
        self.state.set_settings(msg.0);
    }
}

impl Handler<StickyGet> for PoolActor {
    type Result = Option<numpool_core::model::Msisdn>;

    fn handle(&mut self, msg: StickyGet, _: &mut Self::Context) -> Self::Result {
        self.state.sticky_get(msg.0, unix_now_u32())
    }
}

impl Handler<StickyDel> for PoolActor {
    type Result = bool;

    fn handle(&mut self, msg: StickyDel, _: &mut Self::Context) -> Self::Result {
        let removed = self.state.sticky_del(msg.0, unix_now_u32());
        if let (true, Some(journal)) = (removed, &self.journal) {
            let record = Record::StickyRemove {
                uid: journal.uid,
                to: msg.0.get(),
            };
            if let Err(err) = journal.storage.append_sticky(&[record]) {
                tracing::error!(
                    error = &err as &dyn Error,
                    "journaling a sticky removal failed"
                );
            }
        }
        removed
    }
}

impl Handler<GetStats> for PoolActor {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        let mut stats = self.stats.clone();
        stats.sticky_entries = self.state.sticky_len() as u64;
        MessageResult(stats)
    }
}

impl Handler<CopyShard> for PoolActor {
    type Result = Vec<StickyMapping>;

    fn handle(&mut self, msg: CopyShard, _: &mut Self::Context) -> Self::Result {
        self.state
            .sticky_entries(msg.0)
            .map(|(to, sender, last_use)| StickyMapping {
                to,
                sender,
                last_use,
            })
            .collect()
    }
}

/// The sender a pick newly recorded in the sticky table, if it did: a predictable pool's
/// choice of a pool number (sticky hits change nothing durable; custom_from is never recorded).
fn new_assignment(state: &PoolState, outcome: &Result<Pick, PickError>) -> Option<Msisdn> {
    match outcome {
        Ok(Pick {
            sender: Sender::Number(number),
            reason,
        }) if state.settings().predictable_sender_preferred && *reason != Reason::Sticky => {
            Some(*number)
        }
        _ => None,
    }
}

impl Handler<Stop> for PoolActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        use actix::ActorContext;
        ctx.stop();
    }
}
