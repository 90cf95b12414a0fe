//! A number's throughput limits (DESIGN §3.1, §3.4): how fast it may send and how many new
//! conversations it may start a day. Set by the operator; numpool applies none by itself.

use serde::Serialize;

use super::InvalidInput;

/// Largest `mps` accepted: far above any carrier's published limit, and it keeps the emission
/// interval at 10 µs or more, so the interval never rounds to nothing.
pub const MAX_MPS: f64 = 100_000.0;

/// Microseconds in a second: the throughput clock's unit.
const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// Messages per second, a finite decimal in `(0, MAX_MPS]`.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(into = "f64")]
pub struct Mps {
    /// The rate as given.
    rate: f64,
    /// Its emission interval, worked out once: every charge of a limited number needs it, and
    /// a division and a rounding per pick showed in P1.
    interval_us: u64,
}

impl Mps {
    /// Checks a rate a caller supplies.
    pub fn new(mps: f64) -> Result<Self, InvalidInput> {
        if mps.is_finite() && mps > 0.0 && mps <= MAX_MPS {
            Ok(Mps {
                rate: mps,
                interval_us: (MICROS_PER_SECOND / mps).round() as u64,
            })
        } else {
            Err(InvalidInput::Mps(mps.to_string()))
        }
    }

    /// The rate as given.
    pub fn get(self) -> f64 {
        self.rate
    }

    /// The generic cell rate algorithm's emission interval `T = 1 / mps`, in microseconds,
    /// rounded to the nearest (at least 10, by [`MAX_MPS`]).
    pub fn interval_us(self) -> u64 {
        self.interval_us
    }
}

/// Two rates are equal when they are the same decimal (the interval follows from it);
/// validation excludes NaN, so equality is total.
impl PartialEq for Mps {
    fn eq(&self, other: &Self) -> bool {
        self.rate.to_bits() == other.rate.to_bits()
    }
}

impl Eq for Mps {}

impl From<Mps> for f64 {
    fn from(mps: Mps) -> f64 {
        mps.rate
    }
}

/// What an owned number may carry besides its status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
    /// Messages per second; `None` is unlimited, and costs a pick one branch.
    pub mps: Option<Mps>,
    /// Messages that may go at once (the algorithm's tolerance), at least 1; only matters with
    /// `mps`.
    pub burst: u32,
    /// New conversations the number may start per UTC day; `None` is unlimited.
    pub daily_new_conversations: Option<u32>,
}

impl Default for Limits {
    /// No limit: unlimited rate, a burst of 1, no daily allowance.
    fn default() -> Self {
        Limits {
            mps: None,
            burst: 1,
            daily_new_conversations: None,
        }
    }
}

impl Limits {
    /// Checks a burst a caller supplies (at least 1).
    pub fn check_burst(burst: u32) -> Result<u32, InvalidInput> {
        if burst >= 1 {
            Ok(burst)
        } else {
            Err(InvalidInput::Burst(burst))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_MPS * 2.0] {
            assert!(Mps::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Mps::new(1.0).unwrap().interval_us(), 1_000_000);
        assert_eq!(Mps::new(3.0).unwrap().interval_us(), 333_333);
        assert_eq!(Mps::new(MAX_MPS).unwrap().interval_us(), 10);
        assert_eq!(Limits::check_burst(0), Err(InvalidInput::Burst(0)));
        assert_eq!(Limits::default().burst, 1);
    }
}
