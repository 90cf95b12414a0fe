//! Measurements the servers record and `INFO` / `/metrics` report: pick latency (as the servers
//! see it, from request parsed to answer ready), process-wide and per account, and open
//! connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Pick latency in microseconds, 3 significant digits.
pub(crate) struct PickLatency {
    /// The histogram: recorded once per batch under its lock, so pipelined picks pay for the
    /// lock once per burst.
    micros: Mutex<Histogram<u64>>,
}

impl Default for PickLatency {
    fn default() -> Self {
        PickLatency {
            micros: Mutex::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            ),
        }
    }
}

impl PickLatency {
    /// Records `count` picks answered `elapsed` after they were parsed.
    pub(crate) fn record(&self, elapsed: Duration, count: u64) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.micros.lock().saturating_record_n(micros, count);
    }

    /// A copy of the histogram (microseconds).
    pub(crate) fn snapshot(&self) -> Histogram<u64> {
        self.micros.lock().clone()
    }
}

/// Shared measurements.
pub(crate) struct Metrics {
    /// Every pick's latency, whatever its account: `/metrics`' histogram.
    pub(crate) pick_latency: PickLatency,
    /// Open RESP connections.
    connections: AtomicU64,
    /// When the process started, for `uptime`.
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            pick_latency: PickLatency::default(),
            connections: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Metrics {
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
