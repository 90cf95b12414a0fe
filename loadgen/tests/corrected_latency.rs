//! Coordinated omission: a server that stalls 200 ms once, under an open-loop run with one
//! request in flight, holds back every request due during the stall. Counted from the intended
//! send time those requests are slow, and p99/max show it; counted from the actual send time (what
//! an uncorrected tool reports) only the one stalled request is slow and p99 looks fine. And a
//! server that cannot keep up still gets every scheduled request, late: the count stays the
//! schedule's while the achieved rate falls below the target.

mod common;

use common::{config, fake_server, Action};
use numpool_loadgen::countries::parse_mix;
use numpool_loadgen::run::run;
use numpool_loadgen::schedule::Pace;
use numpool_loadgen::workload::{Mode, Workload};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_stall_shows_in_corrected_p99_but_not_in_service_time() {
    const STALL_AT: usize = 300;
    let (addr, seen) = fake_server(b"+OK\r\n", |i, _| {
        if i == STALL_AT {
            Action::Stall(Duration::from_millis(200), b"$4\r\n4477\r\n")
        } else {
            Action::Reply(b"$4\r\n4477\r\n")
        }
    })
    .await;
    let mix = parse_mix("GB").unwrap();
    let workload =
        Arc::new(Workload::new(&Mode::Pick { pool: "p".into() }, &mix, 100, 1.0).unwrap());
    // 1,000/s for 1.5 s on one connection, one request in flight: the stall at request 300 blocks
    // the ~200 requests due in the next 200 ms.
    let cfg = config(
        addr,
        None,
        1,
        1,
        Pace::Rate(1_000.0),
        Duration::ZERO,
        Duration::from_millis(1_500),
    );
    let out = run(&cfg, workload).await.unwrap();

    // The schedule has exactly 1,500 slots in the window and all were sent once the stall ended.
    assert_eq!(out.counts.ok, 1_500, "{:?}", out.counts);
    assert_eq!(out.counts.error_total(), 0, "{:?}", out.counts);
    assert_eq!(
        seen.commands.load(std::sync::atomic::Ordering::SeqCst),
        1_500
    );

    let corrected = &out.latency;
    let service = &out.service;
    assert_eq!(corrected.len(), 1_500);
    // Requests due at stall start + x waited about 200 ms − x: some 100 of them waited ≥ 100 ms,
    // so well over 1% of the run, and the worst waited the whole stall.
    assert!(
        corrected.max() >= 195_000,
        "corrected max {}",
        corrected.max()
    );
    let slow = corrected.count_between(100_000, u64::MAX);
    assert!(slow >= 60, "only {slow} requests ≥ 100 ms corrected");
    assert!(
        corrected.value_at_quantile(0.99) >= 100_000,
        "corrected p99 {} µs",
        corrected.value_at_quantile(0.99)
    );
    // Uncorrected, the same run has one slow request: p99 stays far below the stall.
    assert!(
        service.max() >= 195_000,
        "the stalled request itself took the stall"
    );
    assert!(service.count_between(100_000, u64::MAX) <= 2);
    assert!(
        service.value_at_quantile(0.99) < 50_000,
        "service p99 {} µs",
        service.value_at_quantile(0.99)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_is_paced_but_not_recorded() {
    let (addr, seen) = fake_server(b"+OK\r\n", |_, _| Action::Reply(b"+PONG\r\n")).await;
    let workload = Arc::new(Workload::new(&Mode::Ping, &parse_mix("GB").unwrap(), 1, 1.0).unwrap());
    let cfg = config(
        addr,
        None,
        2,
        4,
        Pace::Rate(400.0),
        Duration::from_millis(500),
        Duration::from_millis(500),
    );
    let began = std::time::Instant::now();
    let out = run(&cfg, workload).await.unwrap();
    let after_warmup = began.elapsed() - cfg.warmup;
    // 400/s: 200 requests in warmup, 200 measured; the server saw both.
    assert_eq!(out.counts.ok, 200, "{:?}", out.counts);
    assert_eq!(out.latency.len(), 200);
    assert_eq!(seen.commands.load(std::sync::atomic::Ordering::SeqCst), 400);
    // The 200 replies count over the time after warmup: at most 200 / 0.5 s (the window), at
    // least 200 over all the run's wall time past the warmup (the last reply may come a little
    // after the window). Counted over the whole second the server was busy, warmup included, it
    // would be about 200/s.
    let rate = out.achieved_rate();
    let slowest = 200.0 / after_warmup.as_secs_f64();
    assert!(
        slowest <= rate && rate <= 400.0,
        "achieved rate {rate}, expected {slowest:.1}..=400"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_falls_behind_lowers_the_achieved_rate_not_the_count() {
    const STALL: Duration = Duration::from_millis(4);
    // Every command takes 4 ms: one connection with one request in flight gets at most 250
    // replies a second, half the 500/s asked for.
    let (addr, seen) = fake_server(b"+OK\r\n", |_, _| Action::Stall(STALL, b"+PONG\r\n")).await;
    let workload = Arc::new(Workload::new(&Mode::Ping, &parse_mix("GB").unwrap(), 1, 1.0).unwrap());
    let cfg = config(
        addr,
        None,
        1,
        1,
        Pace::Rate(500.0),
        Duration::ZERO,
        Duration::from_millis(400),
    );
    let began = std::time::Instant::now();
    let out = run(&cfg, workload).await.unwrap();
    let wall = began.elapsed();

    // The 200 requests scheduled in the 0.4 s window were all sent (late) and answered: the
    // count is the schedule's, whatever the server's speed.
    assert_eq!(out.counts.ok, 200, "{:?}", out.counts);
    assert_eq!(out.counts.error_total(), 0, "{:?}", out.counts);
    assert_eq!(seen.commands.load(std::sync::atomic::Ordering::SeqCst), 200);
    // The rate is not: answering them one after another took at least 200 × 4 ms, and at most
    // the wall time of the whole run (connecting included).
    let rate = out.achieved_rate();
    let fastest = 200.0 / (200.0 * STALL.as_secs_f64());
    let slowest = 200.0 / wall.as_secs_f64();
    assert!(
        slowest <= rate && rate <= fastest,
        "achieved rate {rate}, expected {slowest:.1}..={fastest:.1} (target 500)"
    );
    assert!(out.measured >= 200 * STALL, "measured {:?}", out.measured);
}
