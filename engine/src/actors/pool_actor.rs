//! The pool actor (DESIGN §3.3): owns one pool's [`PoolState`] and applies every pick and change
//! to it in order, so concurrent picks for one recipient always agree.

use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler};

use super::messages::{
    GetStats, PickBatch, PoolStats, Remove, SetSettings, StickyDel, StickyGet, Stop, Upsert,
};
use crate::clock::unix_now_u32;
use crate::select::{pick, PoolState};
use crate::sticky::SHARDS;

/// Mailbox size: callers may have many batches in flight at once; a bigger mailbox lets them
/// queue instead of parking on a full one.
const MAILBOX_CAPACITY: usize = 4_096;
/// One sticky shard is swept for expired and dead mappings this often, so a full pass over a
/// pool's table takes `SHARDS` times as long and never stalls it for more than one shard.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// One pool.
pub struct PoolActor {
    /// The pool's members, index and sticky table.
    state: PoolState,
    /// The shard the next sweep visits.
    next_sweep_shard: usize,
    /// Pick counters, read by `INFO` and `/metrics`.
    stats: PoolStats,
}

impl PoolActor {
    /// An actor owning `state`.
    pub fn new(state: PoolState) -> Self {
        PoolActor {
            state,
            next_sweep_shard: 0,
            stats: PoolStats::default(),
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
        batch
            .0
            .iter()
            .map(|job| {
                let outcome = pick(&mut self.state, &job.request(), now);
                self.stats.count(&outcome);
                outcome
            })
            .collect()
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
    type Result = Option<crate::model::Msisdn>;

    fn handle(&mut self, msg: StickyGet, _: &mut Self::Context) -> Self::Result {
        self.state.sticky_get(msg.0, unix_now_u32())
    }
}

impl Handler<StickyDel> for PoolActor {
    type Result = bool;

    fn handle(&mut self, msg: StickyDel, _: &mut Self::Context) -> Self::Result {
        self.state.sticky_del(msg.0, unix_now_u32())
    }
}

impl Handler<GetStats> for PoolActor {
    type Result = PoolStats;

    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        PoolStats {
            sticky_entries: self.state.sticky_len() as u64,
            ..self.stats.clone()
        }
    }
}

impl Handler<Stop> for PoolActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        use actix::ActorContext;
        ctx.stop();
    }
}
