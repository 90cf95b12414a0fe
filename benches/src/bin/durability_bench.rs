//! P5 and P6 (DESIGN §8): memory per sticky mapping at 10M mappings, and a snapshot of 10M
//! mappings (write time, load time, pick p99 during the write against a baseline). Prints one
//! table; `docs/benchmarks.md` records the figures.
//!
//! `cargo run --release -p numpool-benches --bin durability-bench [-- MAPPINGS]`

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use numpool::durability::image::StateImage;
use numpool::durability::replay::WorkingState;
use numpool::durability::FsyncPolicy;
use numpool::engine::{AccountLimits, Engine, SnapshotReport};
use numpool_benches::{dense_recipient, numbers_in_30_countries, pool_in_30_countries};
use numpool_core::model::{Account, AccountId, PoolId, PoolSettings};
use numpool_core::select::{pick, Now, PickRequest};

/// The DESIGN's table size.
const DEFAULT_MAPPINGS: u64 = 10_000_000;
const NUMBERS: u64 = 1_000;
const ACCOUNT: &str = "bench001";
const POOL: &str = "p6";
/// Picks per `pick_batch` while filling the table: big batches keep the fill quick.
const FILL_BATCH: u64 = 10_000;
/// How long the pick latency baseline is sampled.
const BASELINE: Duration = Duration::from_secs(3);
/// x86-64 Linux; `/proc/self/statm` counts pages.
const PAGE_BYTES: u64 = 4_096;

fn main() {
    let mappings = std::env::args().nth(1).map_or(DEFAULT_MAPPINGS, |a| {
        a.parse().expect("MAPPINGS is an integer")
    });
    let p5 = p5(mappings);
    let p6 = actix::System::new().block_on(p6(mappings));

    println!();
    println!("| id | measure | value | target |");
    println!("|---|---|---|---|");
    println!(
        "| P5 | RSS delta for {} mappings | {:.1} MiB = {:.1} bytes/mapping | ≤ 48 bytes/mapping |",
        p5.mappings,
        p5.rss_delta as f64 / (1 << 20) as f64,
        p5.rss_delta as f64 / p5.mappings as f64
    );
    println!(
        "| P6 | snapshot write ({} mappings, {:.0} MiB) | {:.2} s | ≤ 3 s |",
        p6.report.mappings,
        p6.report.bytes as f64 / (1 << 20) as f64,
        p6.write.as_secs_f64()
    );
    println!(
        "| P6 | load (Engine::open) | {:.2} s | ≤ 3 s |",
        p6.load.as_secs_f64()
    );
    let micros = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "| P6 | pick p99 baseline / during write | {:.1} µs / {:.1} µs = {:.2}× (p50 {:.1} / {:.1} µs; max {:.1} / {:.1} µs; {} / {} picks) | ≤ 2× |",
        micros(&p6.baseline, 0.99),
        micros(&p6.during, 0.99),
        micros(&p6.during, 0.99) / micros(&p6.baseline, 0.99),
        micros(&p6.baseline, 0.5),
        micros(&p6.during, 0.5),
        micros(&p6.baseline, 1.0),
        micros(&p6.during, 1.0),
        p6.baseline.len(),
        p6.during.len()
    );
}

/// Resident set size now.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let resident: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .expect("resident pages");
    resident * PAGE_BYTES
}

struct P5 {
    mappings: u64,
    rss_delta: u64,
}

/// A pool of 1,000 numbers in 30 countries, then `mappings` new assignments through `pick`:
/// the growth of the process's RSS per mapping (the table's own growth, reallocations and all).
fn p5(mappings: u64) -> P5 {
    let mut state = pool_in_30_countries(NUMBERS);
    // Build the classifier and the rings first, so the delta is the sticky table alone.
    let warm = PickRequest {
        to: dense_recipient(mappings),
        from: None,
        network: None,
        segments: 1,
    };
    pick(&mut state, &warm, Now::from_unix_secs(0)).expect("warm-up pick");
    let before = rss_bytes();
    for i in 0..mappings {
        let request = PickRequest {
            to: dense_recipient(i),
            from: None,
            network: None,
            segments: 1,
        };
        pick(&mut state, &request, Now::from_unix_secs(0)).expect("pool covers every country");
    }
    let rss_delta = rss_bytes().saturating_sub(before);
    assert_eq!(
        state.sticky_len() as u64,
        mappings + 1,
        "every recipient distinct"
    );
    eprintln!("P5: {mappings} mappings, RSS +{rss_delta} bytes");
    P5 {
        mappings,
        rss_delta,
    }
}

struct P6 {
    report: SnapshotReport,
    write: Duration,
    load: Duration,
    baseline: Histogram<u64>,
    during: Histogram<u64>,
}

fn accounts() -> Vec<Account> {
    vec![Account::with_secret(
        AccountId::new(ACCOUNT).expect("id"),
        "secret",
    )]
}

/// A durable engine (`fsync = no`: the fill's journal is not what is measured) with one pool of
/// 1,000 numbers holding `mappings` mappings; a snapshot while a task picks, then a reopen.
async fn p6(mappings: u64) -> P6 {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(
        accounts(),
        AccountLimits::default(),
        dir.path(),
        FsyncPolicy::No,
        2,
    )
    .expect("open");
    let account = engine.account(ACCOUNT).expect("configured account");
    let numbers = numbers_in_30_countries(NUMBERS);
    let members: Vec<_> = numbers.iter().map(|n| n.number).collect();
    engine
        .upsert_numbers(&account, numbers)
        .await
        .expect("upsert");
    let pool = PoolId::new(POOL).expect("pool id");
    engine
        .create_pool(&account, pool, PoolSettings::default())
        .await
        .expect("create pool");
    engine
        .add_numbers(&account, POOL, &members)
        .await
        .expect("add numbers");

    let filling = Instant::now();
    for start in (0..mappings).step_by(FILL_BATCH as usize) {
        let requests: Vec<_> = (start..(start + FILL_BATCH).min(mappings))
            .map(|i| (POOL, PickRequest::to(dense_recipient(i))))
            .collect();
        for result in engine.pick_batch(&account, &requests).await {
            result.expect("pick");
        }
    }
    eprintln!(
        "P6: filled {mappings} mappings in {:.1?}",
        filling.elapsed()
    );

    let baseline = picks_while(&engine, mappings, tokio::time::sleep(BASELINE))
        .await
        .0;
    let started = Instant::now();
    let (during, report) = picks_while(&engine, mappings, async {
        let report = engine.snapshot().await.expect("snapshot").expect("durable");
        (report, started.elapsed())
    })
    .await;
    let (report, write) = report;
    eprintln!("P6: {report:?} in {write:.2?}");
    drop(engine);
    // Let the old engine's actors stop and free their tables before the reopen is timed.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Where a load's time goes: the first two steps of recovery, redone on their own.
    let reading = Instant::now();
    let path = numpool_snapshots::snapshot_path(dir.path(), report.seq);
    let image = numpool_snapshots::read_snapshot::<StateImage>(&path).expect("snapshot");
    let read = reading.elapsed();
    let working = WorkingState::from_image(image.state);
    let index = reading.elapsed() - read;
    drop(working);

    let opening = Instant::now();
    let reopened = Engine::open(
        accounts(),
        AccountLimits::default(),
        dir.path(),
        FsyncPolicy::No,
        2,
    )
    .expect("reopen");
    let load = opening.elapsed();
    let restored = reopened.stats().pool_totals.sticky_entries;
    assert_eq!(
        restored, report.mappings,
        "the reopened engine holds every mapping"
    );
    eprintln!(
        "P6: reopened with {restored} mappings in {load:.2?} (on their own: read and decode \
         {read:.2?}, index for replay {index:.2?}; the rest restores the pools)"
    );
    P6 {
        report,
        write,
        load,
        baseline,
        during,
    }
}

/// Single picks of existing recipients (sticky hits), one at a time, until `work` completes;
/// their latencies in nanoseconds, and what `work` returned.
async fn picks_while<T>(
    engine: &Engine,
    mappings: u64,
    work: impl std::future::Future<Output = T>,
) -> (Histogram<u64>, T) {
    let account = engine.account(ACCOUNT).expect("configured account");
    let mut latencies = Histogram::<u64>::new(3).expect("histogram");
    let mut work = std::pin::pin!(work);
    let mut i = 0u64;
    loop {
        // A stride coprime with the table size scatters the picks over its shards.
        i = (i + 7_919) % mappings;
        let sent = Instant::now();
        let pick = engine.pick(&account, POOL, PickRequest::to(dense_recipient(i)));
        tokio::select! {
            biased;
            result = &mut work => return (latencies, result),
            answer = pick => {
                answer.expect("pick");
                latencies
                    .record(sent.elapsed().as_nanos() as u64)
                    .expect("latency in range");
            }
        }
    }
}
