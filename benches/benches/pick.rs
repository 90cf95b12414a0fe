//! P1 (DESIGN §8): the in-process pick with no actor hop, on a pool of 1,000 numbers in 30
//! countries holding 1M sticky mappings. Targets: sticky hit ≤ 150 ns, new assignment ≤ 600 ns.
//! The same with throughput limits on every number (issue 14 item 8): target ≤ +10% over P1.
// `criterion_group!` defines a public, undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use numpool_benches::{assign, limited_pool_in_30_countries, pool_in_30_countries, recipient};
use numpool_core::select::PoolState;
use numpool_core::select::{pick, Now, PickRequest, Reason};

const MAPPINGS: u64 = 1_000_000;
const NOW: u32 = 1_800_000_000;

fn p1(c: &mut Criterion) {
    let state = pool_in_30_countries(1_000);
    p1_group(
        c,
        "p1_pick_1000_numbers_30_countries_1m_mappings",
        state,
        0,
        0,
    );
}

/// P1 with 10 mps, a burst of 10 and a daily allowance on every number. The fixture's 1M
/// assignments come 1 ms apart (each number about once a second, well under its rate); the
/// bench's clock moves 200 µs per pick (5,000 picks a second against the pool's 10,000
/// messages a second), so most hashed choices are free and some are busy, as under real load.
fn p1_with_limits(c: &mut Criterion) {
    let state = limited_pool_in_30_countries(1_000);
    p1_group(c, "p1_with_limits_10mps_burst_10", state, 1_000, 200);
}

/// The two P1 cases on `state`: the fixture's assignments `fixture_step_us` apart, then the
/// bench's clock moving `step_us` per pick (0: fixed, as P1 always measured).
fn p1_group(
    c: &mut Criterion,
    name: &str,
    mut state: PoolState,
    fixture_step_us: u64,
    step_us: u64,
) {
    let start = Now::from_unix_secs(NOW);
    let mut now_us = assign(&mut state, MAPPINGS, start, fixture_step_us).unix_micros();
    let mut group = c.benchmark_group(name);
    let mut tick = move || {
        now_us += step_us;
        Now::from_unix_micros(now_us)
    };

    // Recipients visited in a scattered order (a stride coprime with 1M), so lookups miss the
    // cache as they would under real traffic instead of walking one hot shard.
    let mut i = 0u64;
    group.bench_function("sticky_hit", |b| {
        b.iter(|| {
            i = (i + 7_919) % MAPPINGS;
            let request = PickRequest::to(recipient(i));
            let hit = pick(&mut state, &request, tick()).expect("mapped");
            // A miss would be a new assignment, and this would time the wrong path.
            assert_eq!(hit.reason, Reason::Sticky, "recipient {i} has a mapping");
            hit
        })
    });

    // Recipients never seen before: classification, tier lookup, ring search, and recording.
    let mut fresh = MAPPINGS;
    group.bench_function("new_assignment", |b| {
        b.iter(|| {
            fresh += 1;
            let request = PickRequest::to(recipient(fresh));
            pick(&mut state, &request, tick()).expect("pool covers every country")
        })
    });
    group.finish();
}

criterion_group!(benches, p1, p1_with_limits);
criterion_main!(benches);
