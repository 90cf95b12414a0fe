//! The pool actor (DESIGN §3.3): owns one pool's [`PoolState`] and applies every pick and change
//! to it in order, so concurrent picks for one recipient always agree.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::fut::{self, ActorFutureExt as _};
use actix::{
    Actor, AsyncContext, AtomicResponse, Context, Handler, MessageResult, ResponseActFuture,
};

use super::counters::PoolCounters;
use super::messages::{
    Adopt, ConversationSlice, Conversations, CopyShard, GetOptOut, Member, MemberView, Observe,
    OptOutPage, OptOutsFull, PickBatch, PickRefusal, Remove, SetOptOut, SetSettings, StickyDel,
    StickyGet, Stop, Touch, Upsert, Withdraw,
};
use crate::clock::{unix_now, unix_now_micros, unix_now_u32};
use crate::durability::convert::opt_out_image;
use crate::durability::image::{Record, StickyImage};
use crate::durability::{Durability, StorageFailure, Ticket};
use numpool_core::model::Msisdn;
use numpool_core::select::{pick, Conversation, Now, Pick, PickError, PoolState, Reason, Sender};
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
    /// Pick counters and the sticky table's size, published for `INFO` and `/metrics` to read
    /// without a message.
    counters: Arc<PoolCounters>,
    /// The pool's latest journal submission not yet known to be stored: a sticky hit may be on
    /// a mapping it holds, so the hit's answer waits for it too.
    pending: Option<Ticket>,
}

impl PoolActor {
    /// An actor owning `state`, journaling to `journal`, publishing to `counters`.
    pub(crate) fn new(
        state: PoolState,
        journal: Option<PoolJournal>,
        counters: Arc<PoolCounters>,
    ) -> Self {
        let actor = PoolActor {
            state,
            journal,
            next_sweep_shard: 0,
            counters,
            pending: None,
        };
        actor.publish_sticky();
        actor
    }

    /// Publishes the sticky table's size, after anything that may have changed it.
    fn publish_sticky(&self) {
        let len = self.state.sticky_len() as u64;
        self.counters.update(|stats| stats.sticky_entries = len);
    }

    /// Journals `record` (fsynced) if there is one; completes when it is stored. A membership,
    /// settings or sticky-removal change is applied only after that, while the actor handles
    /// nothing else ([`AtomicResponse`]): so the journal has it exactly in the actor's order.
    fn journaled(
        &self,
        record: Option<Record>,
    ) -> impl Future<Output = Result<(), StorageFailure>> + 'static {
        let submitted = match (&self.journal, record) {
            (Some(journal), Some(record)) => Some(
                journal
                    .storage
                    .submit(vec![record], true)
                    .map(|ticket| journal.storage.settled(ticket)),
            ),
            _ => None,
        };
        async move {
            match submitted {
                None => Ok(()),
                Some(Err(fault)) => Err(fault),
                Some(Ok(settled)) => settled.await,
            }
        }
    }
}

impl PoolActor {
    /// A batch whose records could not be stored: its new mappings are withdrawn, and every
    /// answer that named a pool number becomes a storage refusal.
    fn withdraw(
        &mut self,
        assigned: &[(Msisdn, Msisdn)],
        outcomes: Vec<Result<Pick, PickError>>,
        fault: &StorageFailure,
    ) -> Vec<Result<Pick, PickRefusal>> {
        for (to, sender) in assigned {
            self.state.sticky_forget(*to, *sender);
        }
        self.publish_sticky();
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(Pick {
                    sender: Sender::Number(_),
                    ..
                }) => Err(PickRefusal::Storage(fault.clone())),
                other => other.map_err(PickRefusal::Pick),
            })
            .collect()
    }
}

/// Applies a change after its record is stored, holding the actor's other messages back.
fn after_journal<T: 'static>(
    stored: impl Future<Output = Result<(), StorageFailure>> + 'static,
    apply: impl FnOnce(&mut PoolActor) -> T + 'static,
) -> AtomicResponse<PoolActor, Result<T, StorageFailure>> {
    AtomicResponse::new(Box::pin(fut::wrap_future::<_, PoolActor>(stored).map(
        move |stored, actor, _| {
            stored.map(|()| {
                let applied = apply(actor);
                actor.publish_sticky();
                applied
            })
        },
    )))
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
            actor.publish_sticky();
        });
    }
}

impl Handler<PickBatch> for PoolActor {
    type Result = ResponseActFuture<Self, Vec<Result<Pick, PickRefusal>>>;

    /// Picks at once; the answers go out once the batch's new mappings are stored as the
    /// policy says (and any mapping a hit relies on, too). If they cannot be, the mappings are
    /// withdrawn and those answers become storage refusals.
    fn handle(&mut self, batch: PickBatch, _: &mut Self::Context) -> Self::Result {
        // One clock read per batch: last-use stamps are coarse anyway, and throughput charges
        // of one batch share its instant.
        let now = Now::from_unix_micros(unix_now_micros());
        let outcomes: Vec<_> = batch
            .0
            .iter()
            .map(|job| pick(&mut self.state, &job.request(), now))
            .collect();
        let sticky_entries = self.state.sticky_len() as u64;
        self.counters.update(|stats| {
            for outcome in &outcomes {
                stats.count(outcome);
            }
            stats.sticky_entries = sticky_entries;
        });
        let Some(journal) = &self.journal else {
            let answers = outcomes.into_iter().map(|o| o.map_err(PickRefusal::Pick));
            return Box::pin(fut::ready(answers.collect()));
        };
        let mut assigned: Vec<(Msisdn, Msisdn)> = Vec::new();
        for (job, outcome) in batch.0.iter().zip(&outcomes) {
            if let Some(sender) = new_assignment(&self.state, outcome) {
                // Sized for the whole batch at the first new mapping: one allocation per
                // batch, none for a batch of sticky hits.
                if assigned.is_empty() {
                    assigned.reserve_exact(batch.0.len());
                }
                assigned.push((job.to, sender));
            }
        }
        let waits_for = if assigned.is_empty() {
            self.pending.map(Ok)
        } else {
            let records = assigned
                .iter()
                .map(|(to, sender)| Record::StickyAssign {
                    uid: journal.uid,
                    mapping: StickyImage {
                        to: to.get(),
                        sender: sender.get(),
                        since: now.secs(),
                        last_use: now.secs(),
                    },
                })
                .collect();
            let submitted = journal
                .storage
                .submit(records, journal.storage.fsyncs_assignments());
            match submitted {
                Ok(ticket) => {
                    self.pending = Some(ticket);
                    Some(Ok(ticket))
                }
                // Refused at once (a fault is in force): withdraw the mappings now, before
                // any later message (a snapshot's copy among them) can see them.
                Err(fault) => {
                    let answers = self.withdraw(&assigned, outcomes, &fault);
                    return Box::pin(fut::ready(answers));
                }
            }
        };
        let ticket = waits_for.as_ref().and_then(|w| w.as_ref().ok().copied());
        let stored = {
            let storage = journal.storage.clone();
            async move {
                match waits_for {
                    None => Ok(()),
                    Some(Err(fault)) => Err(fault),
                    Some(Ok(ticket)) => storage.settled(ticket).await,
                }
            }
        };
        Box::pin(
            fut::wrap_future::<_, Self>(stored).map(move |stored, actor, _| {
                if actor.pending.is_some() && actor.pending == ticket {
                    actor.pending = None;
                }
                match stored {
                    Ok(()) => outcomes
                        .into_iter()
                        .map(|o| o.map_err(PickRefusal::Pick))
                        .collect(),
                    Err(fault) => actor.withdraw(&assigned, outcomes, &fault),
                }
            }),
        )
    }
}

impl Handler<Upsert> for PoolActor {
    type Result = AtomicResponse<Self, Result<Vec<bool>, StorageFailure>>;

    fn handle(&mut self, msg: Upsert, _: &mut Self::Context) -> Self::Result {
        let numbers = msg.numbers;
        after_journal(self.journaled(msg.record), move |actor| {
            actor.state.upsert(numbers)
        })
    }
}

impl Handler<Remove> for PoolActor {
    type Result = AtomicResponse<Self, Result<Vec<bool>, StorageFailure>>;

    fn handle(&mut self, msg: Remove, _: &mut Self::Context) -> Self::Result {
        let numbers = msg.numbers;
        after_journal(self.journaled(msg.record), move |actor| {
            actor.state.remove(&numbers)
        })
    }
}

impl Handler<SetSettings> for PoolActor {
    type Result = AtomicResponse<Self, Result<(), StorageFailure>>;

    fn handle(&mut self, msg: SetSettings, _: &mut Self::Context) -> Self::Result {
        let settings = msg.settings;
        after_journal(self.journaled(msg.record), move |actor| {
            actor.state.set_settings(settings)
        })
    }
}

impl Handler<StickyGet> for PoolActor {
    type Result = Option<Conversation>;

    fn handle(&mut self, msg: StickyGet, _: &mut Self::Context) -> Self::Result {
        self.state.conversation(msg.0, unix_now_u32())
    }
}

impl Handler<Touch> for PoolActor {
    type Result = Option<Conversation>;

    /// Not journaled, like a sticky hit's refresh: last use is coarse, and the next snapshot
    /// carries it.
    fn handle(&mut self, msg: Touch, _: &mut Self::Context) -> Self::Result {
        self.state
            .touch_conversation(msg.to, msg.sender, unix_now_u32())
    }
}

impl Handler<ConversationSlice> for PoolActor {
    type Result = MessageResult<ConversationSlice>;

    fn handle(&mut self, msg: ConversationSlice, _: &mut Self::Context) -> Self::Result {
        let page = (msg.skip, msg.take);
        MessageResult(
            self.state
                .conversation_slice(msg.shard, msg.sender, page, unix_now_u32()),
        )
    }
}

impl Handler<Adopt> for PoolActor {
    type Result = bool;

    /// Adopts the mapping only if its sender would keep the conversation here: a sender
    /// suspended, unhealthy (in a pool that acts on it) or no member is not adopted, and the
    /// caller replaces the mapping instead.
    /// A mapping it holds already, on the same sender, keeps its last use: another sidecar's
    /// refresh of it is no use here, and counting it as one would make this sidecar refresh it
    /// in turn, and the key never expire.
    fn handle(&mut self, msg: Adopt, _: &mut Self::Context) -> Self::Result {
        let now = Now::from_unix_micros(unix_now_micros());
        let Conversation { to, sender, .. } = msg.0;
        self.state.keeps_on(sender, now)
            && (self.state.sticky_get(to, unix_now_u32()) == Some(sender)
                || self.state.restore_mapping(msg.0))
    }
}

impl Handler<Withdraw> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Withdraw, _: &mut Self::Context) -> Self::Result {
        self.state.sticky_forget(msg.to, msg.sender);
    }
}

impl Handler<StickyDel> for PoolActor {
    type Result = AtomicResponse<Self, Result<bool, StorageFailure>>;

    fn handle(&mut self, msg: StickyDel, _: &mut Self::Context) -> Self::Result {
        let to = msg.0;
        let live = self.state.sticky_get(to, unix_now_u32()).is_some();
        let record = self
            .journal
            .as_ref()
            .filter(|_| live)
            .map(|journal| Record::StickyRemove {
                uid: journal.uid,
                to: to.get(),
            });
        after_journal(self.journaled(record), move |actor| {
            actor.state.sticky_del(to, unix_now_u32())
        })
    }
}

impl Handler<SetOptOut> for PoolActor {
    type Result = AtomicResponse<Self, Result<Result<bool, OptOutsFull>, StorageFailure>>;

    fn handle(&mut self, msg: SetOptOut, _: &mut Self::Context) -> Self::Result {
        let SetOptOut {
            to,
            opt_out,
            only_if_mapped_to,
            max,
        } = msg;
        let held = self.state.opt_out_count();
        if opt_out.is_some() && held >= max && self.state.opted_out(to).is_none() {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(Err(OptOutsFull { held })))));
        }
        let applies = only_if_mapped_to
            .is_none_or(|sender| self.state.sticky_get(to, unix_now_u32()) == Some(sender));
        let record = self
            .journal
            .as_ref()
            .filter(|_| applies)
            .map(|journal| match &opt_out {
                Some(opt_out) => Record::OptOutPut {
                    uid: journal.uid,
                    opt_out: opt_out_image(to, opt_out),
                },
                None => Record::OptOutRemove {
                    uid: journal.uid,
                    to: to.get(),
                },
            });
        after_journal(self.journaled(record), move |actor| {
            Ok(applies
                && match opt_out {
                    Some(opt_out) => actor.state.opt_out(to, opt_out),
                    None => actor.state.opt_in(to),
                })
        })
    }
}

impl Handler<OptOutPage> for PoolActor {
    type Result = MessageResult<OptOutPage>;

    fn handle(&mut self, msg: OptOutPage, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.opt_out_page(msg.skip, msg.take))
    }
}

impl Handler<GetOptOut> for PoolActor {
    type Result = Option<numpool_core::model::OptOut>;

    fn handle(&mut self, msg: GetOptOut, _: &mut Self::Context) -> Self::Result {
        self.state.opted_out(msg.0)
    }
}

impl Handler<Conversations> for PoolActor {
    type Result = Vec<u32>;

    fn handle(&mut self, msg: Conversations, _: &mut Self::Context) -> Self::Result {
        msg.0
            .iter()
            .map(|&n| self.state.conversations(n).unwrap_or(0))
            .collect()
    }
}

impl Handler<Observe> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Observe, _: &mut Self::Context) {
        self.state
            .observe_receipt(msg.number, msg.class, &msg.figures, msg.now);
    }
}

impl Handler<Member> for PoolActor {
    type Result = Option<MemberView>;

    fn handle(&mut self, msg: Member, _: &mut Self::Context) -> Self::Result {
        let conversations = self.state.conversations(msg.0)?;
        let (health, since) = self.state.health(msg.0, unix_now())?;
        Some(MemberView {
            conversations,
            health,
            since,
        })
    }
}

impl Handler<CopyShard> for PoolActor {
    type Result = Vec<Conversation>;

    fn handle(&mut self, msg: CopyShard, _: &mut Self::Context) -> Self::Result {
        self.state.sticky_entries(msg.0).collect()
    }
}

/// The sender a pick newly recorded in the sticky table, if it did: a predictable pool's
/// choice of a pool number (sticky hits change nothing durable; custom_from is never recorded).
fn new_assignment(state: &PoolState, outcome: &Result<Pick, PickError>) -> Option<Msisdn> {
    match outcome {
        Ok(Pick {
            sender: Sender::Number(number),
            reason,
            ..
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
