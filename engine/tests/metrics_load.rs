//! A measurement, not a check (issue 13 item 4): admin latency over 5,000 pools with and without
//! eight clients polling `/metrics`. Ignored by default; run it in release and read its output:
//!
//! ```sh
//! cargo test --release -p numpool --test metrics_load -- --ignored --nocapture
//! ```
//!
//! Polling `/metrics` must not slow admin calls: computing the figures holds no lock an admin
//! call needs. The figures of a run are in docs/benchmarks.md.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Numpool, KEY, SECRET};

/// Pools the account holds while admin latency is measured.
const POOLS: usize = 5_000;
/// Clients polling `/metrics` in the second phase.
const POLLERS: usize = 8;
/// Admin calls timed per phase (each an add then a remove of one pool member)…
const ROUNDS: usize = 150;
/// …or fewer, when a phase has run this long (before the fix, with pollers, a call took
/// seconds).
const PHASE_LIMIT: Duration = Duration::from_secs(90);

/// `POST …/pools/p0/numbers` then `POST …/pools/p0/numbers/delete`, `ROUNDS` times or for
/// `PHASE_LIMIT`: each call's latency in microseconds, sorted.
async fn admin_latencies(client: &reqwest::Client, base: &str) -> Vec<u64> {
    let pool = format!("{base}/v2/numberpools/accounts/{KEY}/pools/p0/numbers");
    let body = json!({ "numbers": ["447700900001"] });
    let mut micros = Vec::with_capacity(2 * ROUNDS);
    let phase = Instant::now();
    for _ in 0..ROUNDS {
        if phase.elapsed() > PHASE_LIMIT {
            break;
        }
        for url in [pool.clone(), format!("{pool}/delete")] {
            let started = Instant::now();
            let status = client
                .post(&url)
                .basic_auth(KEY, Some(SECRET))
                .json(&body)
                .send()
                .await
                .expect("admin call")
                .status();
            micros.push(started.elapsed().as_micros() as u64);
            assert!(status.is_success(), "{url}: {status}");
        }
    }
    micros.sort_unstable();
    micros
}

fn report(phase: &str, micros: &[u64]) {
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    println!(
        "{phase}: {} admin calls: p50 {} µs, p90 {} µs, p99 {} µs, max {} µs",
        micros.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        micros[micros.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn admin_latency_with_and_without_metrics_pollers() {
    let server = Numpool::start(&["--in-memory"]);
    let base = server.base_url();
    let client = reqwest::Client::new();
    let accounts = format!("{base}/v2/numberpools/accounts/{KEY}");
    client
        .post(format!("{accounts}/numbers"))
        .basic_auth(KEY, Some(SECRET))
        .json(&json!({ "numbers": [{ "number": "447700900001" }] }))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let creators: Vec<_> = (0..8)
        .map(|worker| {
            let (client, url) = (client.clone(), format!("{accounts}/pools"));
            tokio::spawn(async move {
                for i in (worker..POOLS).step_by(8) {
                    let body = json!({
                        "pool_id": format!("p{i}"),
                        "fallback": "Pool",
                        "localized_sender_preferred": true,
                        "predictable_sender_preferred": true,
                    });
                    let reply = client
                        .post(&url)
                        .basic_auth(KEY, Some(SECRET))
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let status = reply.status();
                    assert_eq!(status, 201, "{}", reply.text().await.unwrap());
                }
            })
        })
        .collect();
    for creator in creators {
        creator.await.unwrap();
    }
    println!("{POOLS} pools created in {:?}", started.elapsed());

    // Warm up connections and the pool's actor.
    admin_latencies(&client, &base).await;
    report("without pollers", &admin_latencies(&client, &base).await);

    // Pollers as fast as answers come, then each pausing 100 ms between polls (a busy
    // scraper, still far more often than Prometheus's usual 15 s).
    for pause in [None, Some(Duration::from_millis(100))] {
        let (with, rate) = with_pollers(&client, &base, pause).await;
        let how = pause.map_or("back to back".to_owned(), |p| format!("{p:?} apart"));
        report(
            &format!("with {POLLERS} pollers, {how} ({rate:.0} polls/s)"),
            &with,
        );
    }
}

/// Admin latencies while `POLLERS` clients poll `/metrics`, each pausing `pause` between polls;
/// and the polls per second they made.
async fn with_pollers(
    client: &reqwest::Client,
    base: &str,
    pause: Option<Duration>,
) -> (Vec<u64>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicU64::new(0));
    let pollers: Vec<_> = (0..POLLERS)
        .map(|_| {
            let (client, url) = (reqwest::Client::new(), format!("{base}/metrics"));
            let (stop, polls) = (stop.clone(), polls.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let text = client.get(&url).send().await.unwrap().text().await.unwrap();
                    assert!(text.contains(&format!("numpool_pools {POOLS}")), "{text}");
                    polls.fetch_add(1, Ordering::Relaxed);
                    if let Some(pause) = pause {
                        tokio::time::sleep(pause).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, started) = (polls.load(Ordering::Relaxed), Instant::now());
    let with = admin_latencies(client, base).await;
    let rate = (polls.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.await.unwrap();
    }
    (with, rate)
}
