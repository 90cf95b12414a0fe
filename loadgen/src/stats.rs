//! What the connections record, and the once-a-second progress line built from it. Each
//! connection owns one `Shard` behind a mutex that it locks once per batch of replies, so the
//! progress printer can read it without a channel message per reply.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Highest latency a histogram holds: one hour in microseconds. Larger values are clamped.
pub(crate) const HIST_MAX_MICROS: u64 = 3_600_000_000;

/// An empty histogram of microseconds with 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_MICROS, 3).expect("constant bounds are valid")
}

/// Request outcomes inside the measured window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests written to the socket.
    pub sent: u64,
    /// Replies that were not errors.
    pub ok: u64,
    /// Failures by kind: an error reply's first word (`REJECTED`, `NOPOOL`, `ERR`, …), or `io`
    /// (connection lost with the request in flight), `timeout`, `protocol` (unparseable reply), and
    /// `unsent` (open loop: scheduled in the window but never sent, the client was blocked).
    pub errors: BTreeMap<String, u64>,
}

impl Counts {
    /// All failures together.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Requests that came to an end: successes plus failures.
    pub fn requests(&self) -> u64 {
        self.ok + self.error_total()
    }

    /// Replies received, error replies included (what throughput counts).
    pub(crate) fn replies(&self) -> u64 {
        let no_reply: u64 = ["io", "timeout", "protocol", "unsent"]
            .iter()
            .filter_map(|k| self.errors.get(*k))
            .sum();
        self.requests() - no_reply
    }

    /// Adds `other` into `self`.
    pub(crate) fn merge(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    fn error(&mut self, kind: &str, n: u64) {
        if n > 0 {
            *self.errors.entry(kind.to_string()).or_default() += n;
        }
    }
}

/// One connection's records.
#[derive(Debug)]
pub(crate) struct Shard {
    /// Latency from intended send time (corrected), measured window only.
    pub(crate) latency: Histogram<u64>,
    /// Latency from actual send time (service time, uncorrected), measured window only.
    pub(crate) service: Histogram<u64>,
    /// Outcomes in the measured window.
    pub(crate) counts: Counts,
    /// Corrected latency of every reply since the progress printer last looked, warmup included.
    pub(crate) recent: Histogram<u64>,
    /// Replies since the progress printer last looked.
    pub(crate) recent_replies: u64,
    /// Failures since the progress printer last looked.
    pub(crate) recent_errors: u64,
    /// When the latest reply to a request of the measured window arrived.
    pub(crate) last_measured_reply: Option<Instant>,
}

impl Default for Shard {
    fn default() -> Self {
        Self {
            latency: new_histogram(),
            service: new_histogram(),
            counts: Counts::default(),
            recent: new_histogram(),
            recent_replies: 0,
            recent_errors: 0,
            last_measured_reply: None,
        }
    }
}

impl Shard {
    /// A shard ready to be shared between a connection and the progress printer.
    pub(crate) fn shared() -> Arc<Mutex<Shard>> {
        Arc::new(Mutex::new(Shard::default()))
    }

    /// Counts `n` requests of the measured window written to the socket.
    pub(crate) fn record_sent(&mut self, n: u64) {
        self.counts.sent += n;
    }

    /// A reply (`error` is its error code, if it was an error) to a request intended at `intended`,
    /// actually sent at `sent` and answered at `replied`. Error replies are timed too: the server
    /// did answer them.
    pub(crate) fn record_reply(
        &mut self,
        measured: bool,
        intended: Instant,
        sent: Instant,
        replied: Instant,
        error: Option<&str>,
    ) {
        let corrected = crate::schedule::latency_micros(intended, replied);
        self.recent.saturating_record(corrected);
        self.recent_replies += 1;
        if error.is_some() {
            self.recent_errors += 1;
        }
        if measured {
            self.last_measured_reply = self.last_measured_reply.max(Some(replied));
            self.latency.saturating_record(corrected);
            self.service
                .saturating_record(crate::schedule::latency_micros(sent, replied));
            match error {
                None => self.counts.ok += 1,
                Some(code) => self.counts.error(code, 1),
            }
        }
    }

    /// `n` requests that got no reply, of failure `kind` (`io`, `timeout`, `protocol`, `unsent`).
    pub(crate) fn record_failures(&mut self, measured_n: u64, unmeasured_n: u64, kind: &str) {
        self.recent_errors += measured_n + unmeasured_n;
        self.counts.error(kind, measured_n);
    }
}

/// Locks a shard; a poisoned lock (a panicked connection task) still holds valid counts.
pub(crate) fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds the progress line from the shards, once a second.
pub(crate) struct Progress {
    /// The connections' shards.
    shards: Vec<Arc<Mutex<Shard>>>,
    /// When the schedule started.
    start: Instant,
    /// When the measured window starts (end of warmup).
    measure_from: Instant,
    /// Warmup plus measured time, shown after the elapsed time.
    total: Duration,
    /// When the previous line was made.
    last: Instant,
    /// Failures since the start, warmup included.
    errors: u64,
}

impl Progress {
    /// A printer over `shards` for a run that starts at `start`, measures from `measure_from` and
    /// stops sending at `end`.
    pub(crate) fn new(
        shards: Vec<Arc<Mutex<Shard>>>,
        start: Instant,
        measure_from: Instant,
        end: Instant,
    ) -> Self {
        Self {
            shards,
            start,
            measure_from,
            total: end.saturating_duration_since(start),
            last: start,
            errors: 0,
        }
    }

    /// Takes what happened since the previous call and formats it as one line.
    pub(crate) fn line(&mut self, now: Instant) -> String {
        let mut recent = new_histogram();
        let mut replies = 0;
        for shard in &self.shards {
            let mut s = lock(shard);
            // Both histograms come from `new_histogram`, so their bounds agree and `add` can't fail.
            let _ = recent.add(&s.recent);
            s.recent.reset();
            replies += std::mem::take(&mut s.recent_replies);
            self.errors += std::mem::take(&mut s.recent_errors);
        }
        let span = now
            .saturating_duration_since(self.last)
            .max(Duration::from_millis(1));
        self.last = now;
        let phase = if now < self.measure_from {
            " warmup"
        } else {
            ""
        };
        let p99 = if recent.is_empty() {
            "-".to_string()
        } else {
            format_micros(recent.value_at_quantile(0.99))
        };
        format!(
            "[{:6.1}s / {:.1}s]{phase} rate {:.0}/s  errors {}  p99 {p99} (last {:.1}s)",
            now.saturating_duration_since(self.start).as_secs_f64(),
            self.total.as_secs_f64(),
            replies as f64 / span.as_secs_f64(),
            self.errors,
            span.as_secs_f64(),
        )
    }
}

/// Microseconds for people: `850µs`, `1.25ms`, `2.100s`.
pub(crate) fn format_micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.3}s", us as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_replies_are_not_measured_but_show_in_progress() {
        let shard = Shard::shared();
        let t0 = Instant::now();
        {
            let mut s = lock(&shard);
            s.record_reply(false, t0, t0, t0 + Duration::from_millis(5), None);
            s.record_reply(
                true,
                t0,
                t0,
                t0 + Duration::from_micros(300),
                Some("REJECTED"),
            );
            s.record_reply(true, t0, t0, t0 + Duration::from_micros(200), None);
            s.record_failures(2, 1, "timeout");
        }
        let s = lock(&shard);
        assert_eq!(s.latency.len(), 2);
        assert_eq!(s.counts.ok, 1);
        assert_eq!(s.counts.errors["REJECTED"], 1);
        assert_eq!(s.counts.errors["timeout"], 2);
        assert_eq!(s.counts.requests(), 4);
        assert_eq!(s.counts.replies(), 2);
        assert_eq!(s.recent.len(), 3);
        assert_eq!(s.recent_errors, 4);
        // The latest measured reply, not the later warmup one nor the last one recorded.
        assert_eq!(s.last_measured_reply, Some(t0 + Duration::from_micros(300)));
        drop(s);

        let mut p = Progress::new(
            vec![shard.clone()],
            t0,
            t0 + Duration::from_secs(10),
            t0 + Duration::from_secs(40),
        );
        let line = p.line(t0 + Duration::from_secs(1));
        assert!(line.starts_with("[   1.0s / 40.0s] warmup"), "{line}");
        assert!(line.contains("rate 3/s"), "{line}");
        assert!(line.contains("errors 4"), "{line}");
        assert!(line.contains("p99 5.00ms"), "{line}");
        // The window was drained: the next second shows nothing new.
        let line = p.line(t0 + Duration::from_secs(2));
        assert!(
            line.contains("rate 0/s") && line.contains("p99 -"),
            "{line}"
        );
    }

    #[test]
    fn micros_format() {
        assert_eq!(format_micros(850), "850µs");
        assert_eq!(format_micros(1_250), "1.25ms");
        assert_eq!(format_micros(2_100_000), "2.100s");
    }
}
