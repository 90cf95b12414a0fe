//! Wall-clock time: coarse for sticky last-use stamps and pool timestamps, in microseconds for
//! throughput.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is set before 1970). Sticky stamps are `u32`:
/// enough until 2106, and half the size of a `u64` in every mapping.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Microseconds since the Unix epoch (0 before 1970): a pick batch's one clock read, fine
/// enough for throughput (DESIGN §3.2 rule 6). Wall-clock, as daily allowances count UTC days;
/// a clock stepped back only makes numbers look busier for that long.
pub(crate) fn unix_now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// [`unix_now`] as the `u32` the sticky table stores.
pub(crate) fn unix_now_u32() -> u32 {
    u32::try_from(unix_now()).unwrap_or(u32::MAX)
}
