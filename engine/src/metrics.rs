//! Process-wide measurements the servers record and `INFO` / `/metrics` report: pick latency
//! (as the servers see it, from request parsed to answer ready) and open connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Shared measurements.
pub(crate) struct Metrics {
    /// Pick latency in microseconds, 3 significant digits. Recorded once per batch under one
    /// lock, so pipelined picks pay for the lock once per burst.
    pick_latency_us: Mutex<Histogram<u64>>,
    /// Open RESP connections.
    connections: AtomicU64,
    /// When the process started, for `uptime`.
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            pick_latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            ),
            connections: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// Records `count` picks answered `elapsed` after they were parsed.
    pub(crate) fn record_picks(&self, elapsed: Duration, count: u64) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.pick_latency_us
            .lock()
            .saturating_record_n(micros, count);
    }

    /// A copy of the latency histogram (microseconds).
    pub(crate) fn pick_latency(&self) -> Histogram<u64> {
        self.pick_latency_us.lock().clone()
    }

    /// Counts a connection opened; the guard counts it closed when dropped.
    pub(crate) fn connection_opened(&self) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self)
    }

    /// Open connections.
    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Time since start.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Decrements the open-connection count when the connection ends, however it ends.
pub(crate) struct ConnectionGuard<'a>(&'a Metrics);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
