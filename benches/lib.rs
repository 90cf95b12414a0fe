//! Fixtures shared by numpool's benches (DESIGN §8): the P1 pool of 1,000 numbers in 30
//! countries, and recipients in the same countries.

use numpool_core::model::{Limits, Mps, Msisdn, NumberSpec, OwnedNumber, PoolSettings};
use numpool_core::select::{pick, Now, PickRequest, PoolState};

/// 30 countries by calling code, each followed by enough digits to make a plausible mobile
/// number: the P1 country mix.
pub(crate) const COUNTRY_PREFIXES: [u64; 30] = [
    4477, 49151, 336, 346, 39347, 316, 32470, 4176, 43664, 4520, 4670, 4790, 48500, 35191, 35385,
    35840, 30690, 3620, 40721, 420601, 61412, 6421, 658, 8190, 8210, 9198, 5511, 5255, 2782, 1212,
];

/// The number with `prefix` followed by `suffix` padded to make 12 digits in total.
pub(crate) fn number(prefix: u64, suffix: u64) -> Msisdn {
    let digits = prefix.ilog10() + 1;
    let value = prefix * 10u64.pow(12 - digits) + suffix % 10u64.pow(12 - digits);
    Msisdn::from_u64(value).expect("12 digits")
}

/// `count` owned numbers spread evenly over the 30 countries.
pub fn numbers_in_30_countries(count: u64) -> Vec<OwnedNumber> {
    (0..count)
        .map(|i| {
            let prefix = COUNTRY_PREFIXES[(i % 30) as usize];
            OwnedNumber::from_spec(&NumberSpec {
                number: number(prefix, 1_000 + i).to_string(),
                ..NumberSpec::default()
            })
            .expect("valid bench number")
        })
        .collect()
}

/// A localized, predictable pool of `count` numbers spread evenly over the 30 countries.
pub fn pool_in_30_countries(count: u64) -> PoolState {
    let mut state = PoolState::new(PoolSettings::default());
    state.upsert(numbers_in_30_countries(count));
    state
}

/// [`pool_in_30_countries`] with throughput limits on every number: 10 messages per second
/// (most countries' common limit), a burst of 10, and a daily allowance of new conversations
/// that the P1 fixture's 1M mappings (1,000 per number) stay below, so each pick pays for the
/// rate check, the charge and the daily count.
pub fn limited_pool_in_30_countries(count: u64) -> PoolState {
    let limits = Limits {
        mps: Some(Mps::new(10.0).expect("valid rate")),
        burst: 10,
        daily_new_conversations: Some(1_000_000),
    };
    let mut state = PoolState::new(PoolSettings::default());
    state.upsert(
        numbers_in_30_countries(count)
            .into_iter()
            .map(|mut number| {
                number.limits = limits;
                number
            }),
    );
    state
}

/// The `i`-th recipient: countries in turn, distinct for every `i`.
pub fn recipient(i: u64) -> Msisdn {
    number(COUNTRY_PREFIXES[(i % 30) as usize], 5_000_000 + i)
}

/// The `i`-th recipient of a large table: countries in turn, distinct for every `i` below 30M
/// (`recipient` wraps past 1M in the country whose prefix leaves only 6 digits).
pub fn dense_recipient(i: u64) -> Msisdn {
    number(COUNTRY_PREFIXES[(i % 30) as usize], i / 30)
}

/// Records a mapping for recipients `0..count` (new assignments), as the P1 fixture's 1M, the
/// clock starting at `start` and moving `step_us` per pick (so limited numbers stay free);
/// returns the clock after the last.
pub fn assign(state: &mut PoolState, count: u64, start: Now, step_us: u64) -> Now {
    let mut now_us = start.unix_micros();
    for i in 0..count {
        let request = PickRequest::to(recipient(i));
        pick(state, &request, Now::from_unix_micros(now_us)).expect("pool covers every country");
        now_us += step_us;
    }
    Now::from_unix_micros(now_us)
}
