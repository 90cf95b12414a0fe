//! P1 (DESIGN §8): the in-process pick with no actor hop, on a pool of 1,000 numbers in 30
//! countries holding 1M sticky mappings. Targets: sticky hit ≤ 150 ns, new assignment ≤ 600 ns.
// `criterion_group!` defines a public, undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use numpool_benches::{assign, pool_in_30_countries, recipient};
use numpool_core::select::{pick, Now, PickRequest, Reason};

const MAPPINGS: u64 = 1_000_000;
const NOW: u32 = 1_800_000_000;

fn p1(c: &mut Criterion) {
    let mut state = pool_in_30_countries(1_000);
    assign(&mut state, MAPPINGS, NOW);
    let mut group = c.benchmark_group("p1_pick_1000_numbers_30_countries_1m_mappings");

    // Recipients visited in a scattered order (a stride coprime with 1M), so lookups miss the
    // cache as they would under real traffic instead of walking one hot shard.
    let mut i = 0u64;
    group.bench_function("sticky_hit", |b| {
        b.iter(|| {
            i = (i + 7_919) % MAPPINGS;
            let request = PickRequest {
                to: recipient(i),
                from: None,
                network: None,
                segments: 1,
            };
            let hit = pick(&mut state, &request, Now::from_unix_secs(NOW)).expect("mapped");
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
            let request = PickRequest {
                to: recipient(fresh),
                from: None,
                network: None,
                segments: 1,
            };
            pick(&mut state, &request, Now::from_unix_secs(NOW)).expect("pool covers every country")
        })
    });
    group.finish();
}

criterion_group!(benches, p1);
criterion_main!(benches);
