//! Arbiter placement (DESIGN §3.3, §4): one arbiter (an event-loop thread) per worker, pool
//! actors spread over them round-robin so that busy pools use every core. The same arbiters
//! serve the RESP connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Arbiter, ArbiterHandle};

use super::{PoolActor, PoolCounters, PoolJournal};
use numpool_core::select::PoolState;

/// A started pool actor: where to send its messages, and the counters it publishes.
#[derive(Clone)]
pub(crate) struct PoolHandle {
    /// Its mailbox.
    pub(crate) addr: Addr<PoolActor>,
    /// Its counters, read without a message to it.
    pub(crate) counters: Arc<PoolCounters>,
}

/// The arbiters pool actors run on.
pub(crate) struct Placement {
    /// One arbiter per worker; kept so they can be stopped at shutdown.
    arbiters: Vec<Arbiter>,
    /// Round-robin cursor for the next pool.
    next: AtomicUsize,
}

impl Placement {
    /// Starts `threads` arbiters (at least one). Must run inside an actix `System`.
    pub(crate) fn start(threads: usize) -> Self {
        Placement {
            arbiters: (0..threads.max(1)).map(|_| Arbiter::new()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The arbiters' handles: the event loops the RESP server hands connections to, so that a
    /// connection whose pool runs on its own worker reaches it without leaving the thread.
    pub(crate) fn workers(&self) -> Vec<ArbiterHandle> {
        self.arbiters.iter().map(Arbiter::handle).collect()
    }

    /// Starts a pool actor owning `state` (journaling to `journal`) on the next arbiter.
    pub(crate) fn spawn(&self, state: PoolState, journal: Option<PoolJournal>) -> PoolHandle {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
        let counters = Arc::new(PoolCounters::default());
        let published = counters.clone();
        let addr = PoolActor::start_in_arbiter(&self.arbiters[at].handle(), move |_| {
            PoolActor::new(state, journal, published)
        });
        PoolHandle { addr, counters }
    }
}

impl Drop for Placement {
    /// Stops the arbiter threads (and every pool actor on them) with the engine.
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
