//! The open-loop schedule. Every request has an intended send time fixed in advance; latency is
//! measured from that time, not from when the request actually left, so a server stall that stops
//! the client from sending is charged to every request that should have been sent meanwhile
//! (coordinated omission, as corrected by wrk2).

use std::time::{Duration, Instant};

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Open loop: this many requests per second in total, over all connections.
    Rate(f64),
    /// Closed loop: a new request whenever a pipeline slot frees up.
    Max,
}

/// One connection's share of an open-loop schedule: connection `conn` of `connections` owns the
/// global slots `conn, conn + connections, …`, and global slot `j` is at `start + j / rate`. So
/// connections together send at an even `1 / rate` spacing instead of in bursts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Time of global slot 0.
    start: Instant,
    /// Requests per second over all connections.
    rate: f64,
    /// This connection's index.
    conn: u64,
    /// Number of connections sharing the rate.
    connections: u64,
}

impl Schedule {
    /// Connection `conn` of `connections` sharing `rate` requests per second.
    pub(crate) fn new(start: Instant, rate: f64, connections: usize, conn: usize) -> Self {
        Self {
            start,
            rate,
            conn: conn as u64,
            connections: connections as u64,
        }
    }

    /// Intended send time of this connection's `i`-th request.
    pub(crate) fn at(&self, i: u64) -> Instant {
        // Computed from the slot number each time rather than by adding a rounded interval: a
        // nanosecond-rounded spacing would drift (at 84,000/s, 9 requests short in 5 s).
        let slot = self.conn + i * self.connections;
        self.start + Duration::from_secs_f64(slot as f64 / self.rate)
    }

    /// How many of this connection's requests are intended strictly before `t`.
    pub(crate) fn count_before(&self, t: Instant) -> u64 {
        let span = t.saturating_duration_since(self.start).as_secs_f64() * self.rate;
        let estimate = ((span - self.conn as f64) / self.connections as f64)
            .ceil()
            .max(0.0) as u64;
        // Settle float rounding at the boundary against `at`, which is what requests use.
        let mut k = estimate;
        while k > 0 && self.at(k - 1) >= t {
            k -= 1;
        }
        while self.at(k) < t {
            k += 1;
        }
        k
    }
}

/// Latency of one reply as the report counts it: from the intended send time (open loop) or the
/// actual send time (closed loop, where the two are the same), in whole microseconds.
pub(crate) fn latency_micros(intended: Instant, replied: Instant) -> u64 {
    replied.saturating_duration_since(intended).as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_interleave_into_an_even_global_rate() {
        let start = Instant::now();
        let (rate, conns) = (1_000.0, 4);
        let mut all: Vec<Instant> = (0..conns)
            .flat_map(|c| {
                let s = Schedule::new(start, rate, conns, c);
                (0..250).map(move |i| s.at(i))
            })
            .collect();
        all.sort();
        for pair in all.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= Duration::from_micros(999) && gap <= Duration::from_micros(1_001),
                "{gap:?}"
            );
        }
        assert_eq!(
            all.last().copied().unwrap() - start,
            Duration::from_millis(999)
        );
    }

    #[test]
    fn no_drift_from_rounding() {
        // 1/84000 s is not a whole number of nanoseconds; 5 s must still hold exactly 420,000.
        let start = Instant::now();
        let (from, to) = (
            start + Duration::from_secs(1),
            start + Duration::from_secs(6),
        );
        let total: u64 = (0..4)
            .map(|c| {
                let s = Schedule::new(start, 84_000.0, 4, c);
                s.count_before(to) - s.count_before(from)
            })
            .sum();
        assert_eq!(total, 420_000);
    }

    #[test]
    fn count_before_matches_at() {
        let start = Instant::now();
        let s = Schedule::new(start, 300.0, 3, 2);
        assert_eq!(s.count_before(start), 0);
        assert_eq!(s.count_before(s.at(0)), 0);
        assert_eq!(s.count_before(s.at(0) + Duration::from_nanos(1)), 1);
        assert_eq!(s.count_before(s.at(10)), 10);
        // 300/s over 3 connections is 100/s each: 100 requests in one second.
        assert_eq!(s.count_before(start + Duration::from_secs(1)), 100);
    }

    #[test]
    fn latency_counts_from_intended_time() {
        let intended = Instant::now();
        // A request that could only leave 200 ms late and was answered 50 µs after it left.
        let sent = intended + Duration::from_millis(200);
        let replied = sent + Duration::from_micros(50);
        assert_eq!(latency_micros(intended, replied), 200_050);
        assert_eq!(latency_micros(sent, replied), 50);
        // A reply can never be negative even if clocks are read out of order.
        assert_eq!(latency_micros(replied, intended), 0);
    }
}
