//! Guessing costs (DESIGN §4, §5): after a failed authentication from a client address, that
//! address's next attempts wait a growing delay before they are judged, whatever they carry, so
//! a wrong secret costs time and a right one cannot be told apart by how fast it is refused.
//! The delay doubles per failure from `auth_failure_delay_ms` up to `auth_failure_max_delay_ms`;
//! a success forgets the address, and so does a quiet minute after its delay ran out.
//!
//! Attempts wait on a timer in their own task (a RESP connection, an HTTP request), never on a
//! shared thread, so other clients are not slowed. Each attempt admitted while its address is
//! penalized takes the next turn, one delay after the previous one, so parallel connections
//! from one address queue instead of all being judged when the delay ends. Failures are counted
//! per interface for `/metrics` and logged once per address, then at most one summary line per
//! address per [`SUMMARY_EVERY`]. The table is bounded ([`MAX_ADDRESSES`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::time::Instant;

/// How long after its delay ran out an address is forgiven: its next failure starts again
/// from the first delay. Longer than any sensible delay, so waiting to be forgiven is slower
/// than guessing at the longest delay.
const FORGIVE_AFTER: Duration = Duration::from_secs(60);
/// At most one summary log line per address this often.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// Addresses the table holds at most (about 64 bytes each): past it, forgiven addresses go,
/// then the half whose turn came longest ago.
pub(crate) const MAX_ADDRESSES: usize = 65_536;

/// Where an attempt came in: the label of `numpool_auth_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interface {
    /// `AUTH` or `HELLO … AUTH` on the RESP sidecar.
    Resp,
    /// HTTP Basic on the REST API, or the `/metrics` bearer token.
    Http,
}

impl Interface {
    /// Both, in the order `/metrics` lists them.
    pub(crate) const ALL: [Interface; 2] = [Interface::Resp, Interface::Http];

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Interface::Resp => "resp",
            Interface::Http => "http",
        }
    }

    /// Its name in log lines.
    fn log_name(self) -> &'static str {
        match self {
            Interface::Resp => "RESP",
            Interface::Http => "HTTP",
        }
    }
}

/// The delays, the per-address table and the failure counters, shared by both servers.
pub(crate) struct AuthThrottle {
    /// The delay after the first failure; each further one doubles it. Zero: no delay.
    first_delay: Duration,
    /// The longest delay.
    max_delay: Duration,
    /// Most addresses held.
    capacity: usize,
    /// Penalized addresses.
    table: Mutex<FxHashMap<IpAddr, Entry>>,
    /// Failed attempts since start, indexed like [`Interface::ALL`].
    failures: [AtomicU64; 2],
}

/// One penalized address.
#[derive(Debug)]
struct Entry {
    /// Failures since it last succeeded or was forgiven: its delay is `first × 2^(failures−1)`.
    failures: u32,
    /// When its next attempt may be judged. Each attempt admitted moves it on by one delay, so
    /// parallel attempts queue.
    next_turn: Instant,
    /// When a failure of it was last logged: the first one, then summaries.
    logged_at: Instant,
    /// Failures since then, for the next summary.
    unlogged: u64,
}

/// A log line owed after the table's lock is released.
enum LogLine {
    /// The address's first failure.
    First,
    /// `count` failures since the last line.
    Summary {
        /// Failures in the summary.
        count: u64,
        /// The delay the address's next attempt waits.
        delay: Duration,
    },
}

impl AuthThrottle {
    /// A throttle with these delays (milliseconds; a zero first delay turns delays off, and
    /// failures are still counted and logged).
    pub(crate) fn new(first_delay_ms: u64, max_delay_ms: u64) -> Self {
        AuthThrottle::with_capacity(first_delay_ms, max_delay_ms, MAX_ADDRESSES)
    }

    fn with_capacity(first_delay_ms: u64, max_delay_ms: u64, capacity: usize) -> Self {
        let first_delay = Duration::from_millis(first_delay_ms);
        AuthThrottle {
            first_delay,
            max_delay: Duration::from_millis(max_delay_ms).max(first_delay),
            capacity,
            table: Mutex::new(FxHashMap::default()),
            failures: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// Waits for `peer`'s turn, then runs `check` (the credentials' verdict): a failure makes
    /// the address's next attempt wait longer, a success forgets it. `key` is what the client
    /// gave as its key, for the log; never a secret. `peer` is logged whole; its address is
    /// what the delay is kept for.
    pub(crate) async fn judge<T>(
        &self,
        peer: SocketAddr,
        interface: Interface,
        key: &str,
        check: impl FnOnce() -> Option<T>,
    ) -> Option<T> {
        let address = address_key(peer.ip());
        if let Some(turn) = self.turn(address, Instant::now()) {
            tokio::time::sleep_until(turn).await;
        }
        let verdict = check();
        match verdict {
            Some(_) => self.succeeded(address),
            None => {
                self.failures[interface as usize].fetch_add(1, Ordering::Relaxed);
                if let Some(line) = self.failed(address, Instant::now()) {
                    log(line, peer, interface, key);
                }
            }
        }
        verdict
    }

    /// Failed attempts on `interface` since start.
    pub(crate) fn failures(&self, interface: Interface) -> u64 {
        self.failures[interface as usize].load(Ordering::Relaxed)
    }

    /// Addresses held now (penalized, or not yet forgiven).
    pub(crate) fn addresses(&self) -> usize {
        self.table.lock().len()
    }

    /// The delay after `failures` failures.
    fn delay(&self, failures: u32) -> Duration {
        match failures {
            0 => Duration::ZERO,
            n => self
                .first_delay
                .saturating_mul(1 << (n - 1).min(30))
                .min(self.max_delay),
        }
    }

    /// When an attempt from `peer` arriving at `now` may be judged: `None` for at once. Takes
    /// the turn, so the next attempt's comes one delay later.
    fn turn(&self, peer: IpAddr, now: Instant) -> Option<Instant> {
        let mut table = self.table.lock();
        let entry = table.get_mut(&peer)?;
        if now >= entry.next_turn + FORGIVE_AFTER {
            table.remove(&peer);
            return None;
        }
        let turn = entry.next_turn.max(now);
        entry.next_turn = turn + self.delay(entry.failures);
        (turn > now).then_some(turn)
    }

    /// Records a failure at `now`; the log line it owes, if any.
    fn failed(&self, peer: IpAddr, now: Instant) -> Option<LogLine> {
        let mut table = self.table.lock();
        if !table.contains_key(&peer) && table.len() >= self.capacity {
            evict(&mut table, now, self.capacity);
        }
        let mut line = None;
        let entry = table.entry(peer).or_insert_with(|| {
            line = Some(LogLine::First);
            Entry {
                failures: 0,
                next_turn: now,
                logged_at: now,
                unlogged: 0,
            }
        });
        entry.failures = entry.failures.saturating_add(1);
        let delay = self.delay(entry.failures);
        entry.next_turn = entry.next_turn.max(now + delay);
        if line.is_none() {
            entry.unlogged += 1;
            if now >= entry.logged_at + SUMMARY_EVERY {
                line = Some(LogLine::Summary {
                    count: std::mem::take(&mut entry.unlogged),
                    delay,
                });
                entry.logged_at = now;
            }
        }
        line
    }

    /// Forgets `peer` after a success.
    fn succeeded(&self, peer: IpAddr) {
        self.table.lock().remove(&peer);
    }
}

/// Makes room in a full table: forgiven addresses go first; if that is not enough, the half
/// whose next turn is earliest (the least recently penalized) goes too.
fn evict(table: &mut FxHashMap<IpAddr, Entry>, now: Instant, capacity: usize) {
    table.retain(|_, entry| now < entry.next_turn + FORGIVE_AFTER);
    if table.len() < capacity {
        return;
    }
    let mut turns: Vec<Instant> = table.values().map(|entry| entry.next_turn).collect();
    let middle = turns.len() / 2;
    let (_, median, _) = turns.select_nth_unstable(middle);
    let median = *median;
    table.retain(|_, entry| entry.next_turn > median);
}

/// The table's key for a client: its IPv4 address, or its IPv6 /64 (one subscriber's usual
/// allocation, which one client can cycle through at will).
fn address_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

fn log(line: LogLine, peer: SocketAddr, interface: Interface, key: &str) {
    let name = interface.log_name();
    let interface = interface.as_str();
    match line {
        LogLine::First => tracing::warn!(
            %peer,
            interface,
            key = ?key,
            "{name} authentication failed; this address's next attempts are delayed"
        ),
        LogLine::Summary { count, delay } => tracing::warn!(
            %peer,
            interface,
            failures = count,
            next_delay_ms = delay.as_millis() as u64,
            "{name} authentication failures from one address since its last log line"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The wait of an attempt from `peer` at `now`, and its failure right after its turn.
    fn fail(throttle: &AuthThrottle, peer: IpAddr, now: Instant) -> (Duration, Instant) {
        let turn = throttle.turn(peer, now).unwrap_or(now);
        throttle.failed(peer, turn);
        (turn - now, turn)
    }

    #[test]
    fn each_failure_doubles_the_next_wait_up_to_the_cap() {
        let throttle = AuthThrottle::new(10, 80);
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..7 {
            let (wait, judged) = fail(&throttle, A, now);
            waits.push(wait);
            now = judged + ms(1);
        }
        // Each attempt comes 1 ms after the previous verdict.
        assert_eq!(
            waits,
            [ms(0), ms(9), ms(19), ms(39), ms(79), ms(79), ms(79)]
        );
    }

    #[test]
    fn other_addresses_never_wait() {
        let throttle = AuthThrottle::new(10, 5_000);
        let now = Instant::now();
        for _ in 0..10 {
            fail(&throttle, A, now);
        }
        assert_eq!(throttle.turn(B, now), None);
        assert!(throttle.turn(A, now).is_some());
    }

    #[test]
    fn parallel_attempts_from_one_address_queue() {
        let throttle = AuthThrottle::new(10, 5_000);
        let now = Instant::now();
        throttle.failed(A, now);
        throttle.failed(A, now);
        // Delay 20 ms; three attempts arriving together are judged 20 ms apart.
        let turns: Vec<Duration> = (0..3)
            .map(|_| throttle.turn(A, now).unwrap() - now)
            .collect();
        assert_eq!(turns, [ms(20), ms(40), ms(60)]);
    }

    #[test]
    fn a_success_or_a_quiet_period_forgets_the_address() {
        let throttle = AuthThrottle::new(10, 5_000);
        let now = Instant::now();
        for _ in 0..5 {
            throttle.failed(A, now);
        }
        // The success still waited for its turn (judged then, not at once).
        assert!(throttle.turn(A, now).is_some());
        throttle.succeeded(A);
        assert_eq!(throttle.turn(A, now), None);
        assert_eq!(throttle.addresses(), 0);

        for _ in 0..5 {
            throttle.failed(A, now);
        }
        // Its turn came 160 ms later; a minute after that it is still remembered: its next
        // failure is its sixth.
        let soon = now + ms(160) + FORGIVE_AFTER - ms(1);
        assert_eq!(throttle.turn(A, soon), None);
        throttle.failed(A, soon);
        assert_eq!(throttle.turn(A, soon), Some(soon + ms(320)));
        // An hour later it is forgiven: the next failure starts from the first delay again.
        let later = now + ms(3_600_000);
        assert_eq!(throttle.turn(A, later), None);
        assert_eq!(throttle.addresses(), 0);
        throttle.failed(A, later);
        assert_eq!(throttle.turn(A, later), Some(later + ms(10)));
    }

    #[test]
    fn the_table_stays_bounded() {
        let throttle = AuthThrottle::with_capacity(10, 5_000, 64);
        let now = Instant::now();
        for i in 0..1_000u32 {
            let peer = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            throttle.failed(peer, now + ms(u64::from(i)));
            assert!(throttle.addresses() <= 64);
        }
        // The most recent offender is still held.
        let last = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + 999));
        assert!(throttle.turn(last, now + ms(999)).is_some());
    }

    #[test]
    fn logs_the_first_failure_then_one_summary_a_minute() {
        let throttle = AuthThrottle::new(10, 5_000);
        let now = Instant::now();
        assert!(matches!(throttle.failed(A, now), Some(LogLine::First)));
        for i in 1..100 {
            assert!(throttle.failed(A, now + ms(i)).is_none());
        }
        match throttle.failed(A, now + SUMMARY_EVERY) {
            Some(LogLine::Summary { count, .. }) => assert_eq!(count, 100),
            _ => panic!("a summary is due"),
        }
        assert!(throttle.failed(A, now + SUMMARY_EVERY + ms(1)).is_none());
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(one), address_key(other));
        assert_ne!(address_key(one), address_key(elsewhere));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), A);
    }

    #[tokio::test(start_paused = true)]
    async fn judge_waits_on_a_timer_and_a_right_secret_still_opens() {
        let throttle = AuthThrottle::new(100, 5_000);
        // Another port of the same address is the same client.
        let a = |port| SocketAddr::new(A, port);
        for _ in 0..3 {
            assert_eq!(
                throttle
                    .judge(a(1), Interface::Resp, "k", || None::<()>)
                    .await,
                None
            );
        }
        assert_eq!(throttle.failures(Interface::Resp), 3);
        assert_eq!(throttle.failures(Interface::Http), 0);
        let started = Instant::now();
        assert_eq!(
            throttle.judge(a(2), Interface::Http, "k", || Some(7)).await,
            Some(7)
        );
        // The third failure's delay (400 ms) before this verdict.
        assert_eq!(started.elapsed(), ms(400));
        let started = Instant::now();
        throttle
            .judge(a(3), Interface::Http, "k", || Some(()))
            .await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
