//! Throughput per number (DESIGN §3.2 rule 6, §3.4): the generic cell rate algorithm that
//! spaces a number's messages by `1 / mps` with `burst` messages of tolerance, and the count of
//! new conversations against its daily allowance. One [`Meter`] per member per pool; not
//! durable (a crash forgets them, DESIGN §6).

use crate::model::Limits;

/// Microseconds in a millisecond.
const MICROS_PER_MS: u64 = 1_000;
/// Microseconds in a second.
const MICROS_PER_SECOND: u64 = 1_000_000;
/// Microseconds in a UTC day: days start at 00:00 UTC, as Unix time has no leap seconds.
const MICROS_PER_DAY: u64 = 86_400 * MICROS_PER_SECOND;

/// A pick's time: one clock reading (a batch's), in microseconds since the Unix epoch. Sticky
/// stamps use its seconds, throughput its microseconds, daily allowances its UTC day.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Now {
    /// Microseconds since the Unix epoch.
    unix_us: u64,
}

impl Now {
    /// The time `unix_us` microseconds after the Unix epoch.
    pub fn from_unix_micros(unix_us: u64) -> Self {
        Now { unix_us }
    }

    /// The time `secs` seconds after the Unix epoch (tests and benches that need no finer).
    pub fn from_unix_secs(secs: u32) -> Self {
        Now::from_unix_micros(u64::from(secs) * MICROS_PER_SECOND)
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> u64 {
        self.unix_us
    }

    /// Whole seconds since the Unix epoch, as the sticky table stamps them.
    pub fn secs(self) -> u32 {
        u32::try_from(self.unix_us / MICROS_PER_SECOND).unwrap_or(u32::MAX)
    }

    /// The UTC day (days since the Unix epoch).
    pub(crate) fn day(self) -> u32 {
        u32::try_from(self.unix_us / MICROS_PER_DAY).unwrap_or(u32::MAX)
    }
}

/// One member's throughput state in one pool.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Meter {
    /// The theoretical arrival time, µs since the epoch: when the number's booked messages will
    /// all have gone at its rate. A charge is allowed once it is within `burst` intervals.
    tat_us: u64,
    /// The UTC day `new_today` counts for; an older day means none yet today.
    day: u32,
    /// New conversations started on `day`.
    new_today: u32,
}

impl Meter {
    /// How long, in µs, a charge of `segments` messages would wait now; charges nothing. An
    /// unlimited number never waits: one branch.
    pub(crate) fn wait_us(&self, limits: &Limits, segments: u32, now: Now) -> u64 {
        match limits.mps {
            None => 0,
            Some(mps) => {
                self.booked(mps.interval_us(), limits.burst, segments, now)
                    .1
            }
        }
    }

    /// Charges `segments` messages (a reservation: the slot is booked even when it waits);
    /// returns the wait in µs.
    pub(crate) fn charge(&mut self, limits: &Limits, segments: u32, now: Now) -> u64 {
        let Some(mps) = limits.mps else { return 0 };
        let (tat_us, wait_us) = self.booked(mps.interval_us(), limits.burst, segments, now);
        self.tat_us = tat_us;
        wait_us
    }

    /// The algorithm: the new TAT is `max(TAT, now) + segments × T`, and the charge may go once
    /// that is no more than `burst × T` ahead. Returns the new TAT and the wait.
    fn booked(&self, interval_us: u64, burst: u32, segments: u32, now: Now) -> (u64, u64) {
        let now_us = now.unix_micros();
        let tat_us = self
            .tat_us
            .max(now_us)
            .saturating_add(interval_us.saturating_mul(u64::from(segments)));
        let sends_at = tat_us.saturating_sub(interval_us.saturating_mul(u64::from(burst)));
        (tat_us, sends_at.saturating_sub(now_us))
    }

    /// Counts a new conversation started on `now`'s day; whether that brought the number to
    /// its allowance.
    pub(crate) fn count_new(&mut self, limits: &Limits, now: Now) -> bool {
        let Some(allowance) = limits.daily_new_conversations else {
            return false;
        };
        let day = now.day();
        if self.day != day {
            self.day = day;
            self.new_today = 0;
        }
        self.new_today = self.new_today.saturating_add(1);
        self.new_today >= allowance
    }

    /// Whether the number has used its allowance of new conversations for `day`.
    pub(crate) fn at_allowance(&self, limits: &Limits, day: u32) -> bool {
        limits.daily_new_conversations.is_some_and(|allowance| {
            let used = if self.day == day { self.new_today } else { 0 };
            used >= allowance
        })
    }
}

/// A wait in µs as the milliseconds a reply gives, rounded up: a caller that waits the answer
/// never sends early.
pub(crate) fn wait_ms(wait_us: u64) -> u32 {
    u32::try_from(wait_us.div_ceil(MICROS_PER_MS)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mps;

    fn limits(mps: f64, burst: u32) -> Limits {
        Limits {
            mps: Some(Mps::new(mps).unwrap()),
            burst,
            daily_new_conversations: None,
        }
    }

    const T0: u64 = 1_800_000_000 * MICROS_PER_SECOND;

    #[test]
    fn a_burst_goes_at_once_then_messages_are_spaced_by_the_interval() {
        let l = limits(2.0, 3);
        let mut meter = Meter::default();
        let now = Now::from_unix_micros(T0);
        let waits: Vec<u64> = (0..5).map(|_| meter.charge(&l, 1, now)).collect();
        assert_eq!(waits, [0, 0, 0, 500_000, 1_000_000]);
        // Idle for the whole burst's worth: the tolerance is back.
        let later = Now::from_unix_micros(T0 + 4_000_000);
        assert_eq!(meter.wait_us(&l, 3, later), 0);
    }

    #[test]
    fn an_unlimited_number_never_waits() {
        let mut meter = Meter::default();
        let now = Now::from_unix_micros(T0);
        assert!((0..1_000).all(|_| meter.charge(&Limits::default(), 5, now) == 0));
    }

    #[test]
    fn waits_round_up_to_the_millisecond() {
        assert_eq!(wait_ms(0), 0);
        assert_eq!(wait_ms(1), 1);
        assert_eq!(wait_ms(333_333), 334);
    }

    #[test]
    fn the_day_boundary_is_midnight_utc() {
        let before = Now::from_unix_micros(T0 - T0 % MICROS_PER_DAY - 1);
        let after = Now::from_unix_micros(T0 - T0 % MICROS_PER_DAY);
        assert_eq!(before.day() + 1, after.day());
    }
}
