//! A pool's counters as its actor publishes them: what `INFO` and `/metrics` read. Reading them
//! sends the actor no message and takes no admin lock, so polling `/metrics` never queues behind
//! an admin change nor delays one; the actor writes them once per message it handles.

use parking_lot::Mutex;

use numpool_core::select::PickStats;

/// One pool's published counters: picks by outcome and its sticky table's size.
#[derive(Debug, Default)]
pub(crate) struct PoolCounters {
    /// The counters; the lock is held for a copy or a batch's increments only, never across
    /// work or a wait.
    stats: Mutex<PickStats>,
}

impl PoolCounters {
    /// Changes the counters under their lock (the actor: once per batch or change).
    pub(crate) fn update(&self, change: impl FnOnce(&mut PickStats)) {
        change(&mut self.stats.lock());
    }

    /// Adds these counters into `totals`.
    pub(crate) fn add_to(&self, totals: &mut PickStats) {
        totals.absorb(&self.stats.lock());
    }
}
