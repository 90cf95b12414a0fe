//! Error accounting: error replies are counted by their first word, a connection that drops fails
//! its in-flight requests as `io` and is re-established, bad credentials stop the run, and
//! `AUTH` goes out on every connection.

mod common;

use common::{config, fake_server, Action};
use numpool_loadgen::client::ClientError;
use numpool_loadgen::countries::parse_mix;
use numpool_loadgen::run::run;
use numpool_loadgen::schedule::Pace;
use numpool_loadgen::workload::{Mode, Workload};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn pick_workload() -> Arc<Workload> {
    let mix = parse_mix("GB,US,DE,FR").unwrap();
    Arc::new(Workload::new(&Mode::Pick { pool: "p".into() }, &mix, 1_000, 1.0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_by_kind() {
    let (addr, seen) = fake_server(b"+OK\r\n", |i, words| {
        assert_eq!(words[0], "PICK");
        assert_eq!(words[1], "p");
        match i % 10 {
            0 => Action::Reply(b"-REJECTED no number for country GB\r\n"),
            1 => Action::Reply(b"-NOPOOL pool 'p' not found\r\n"),
            2 => Action::Reply(b"-ERR invalid recipient '1'\r\n"),
            _ => Action::Reply(b"$12\r\n447701000000\r\n"),
        }
    })
    .await;
    let cfg = config(
        addr,
        Some(("abcd1234", "secret")),
        3,
        8,
        Pace::Max,
        Duration::ZERO,
        Duration::from_millis(300),
    );
    let out = run(&cfg, pick_workload()).await.unwrap();
    let n = seen.commands.load(Ordering::SeqCst) as u64;
    assert!(n > 100, "only {n} requests");
    assert_eq!(
        seen.auths.load(Ordering::SeqCst),
        3,
        "AUTH once per connection"
    );
    let c = &out.counts;
    assert_eq!(c.requests(), n);
    assert_eq!(c.sent, n);
    // Command i got error kind i % 10: exactly this many of each among 0..n.
    let of = |r: u64| (n + 9 - r) / 10;
    assert_eq!(c.errors.get("REJECTED"), Some(&of(0)), "{c:?}");
    assert_eq!(c.errors.get("NOPOOL"), Some(&of(1)), "{c:?}");
    assert_eq!(c.errors.get("ERR"), Some(&of(2)), "{c:?}");
    assert_eq!(c.errors.len(), 3, "{c:?}");
    assert_eq!(c.ok, n - of(0) - of(1) - of(2));
    // Error replies are still replies: they count for throughput and latency.
    assert_eq!(out.latency.len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_fails_in_flight_requests_and_reconnects() {
    let (addr, seen) = fake_server(b"+OK\r\n", |i, _| {
        if i == 100 {
            Action::Close
        } else {
            Action::Reply(b"+PONG\r\n")
        }
    })
    .await;
    let cfg = config(
        addr,
        None,
        1,
        8,
        Pace::Max,
        Duration::ZERO,
        Duration::from_millis(500),
    );
    let out = run(&cfg, pick_workload()).await.unwrap();
    let io = out.counts.errors.get("io").copied().unwrap_or(0);
    assert!((1..=8).contains(&io), "io failures {io}: {:?}", out.counts);
    assert_eq!(out.counts.errors.len(), 1, "{:?}", out.counts);
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        2,
        "one reconnection"
    );
    assert!(
        out.counts.ok > 100,
        "the run went on after reconnecting: {:?}",
        out.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_stop_the_run() {
    let (addr, seen) = fake_server(
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        |_, _| Action::Reply(b"+PONG\r\n"),
    )
    .await;
    let cfg = config(
        addr,
        Some(("abcd1234", "wrong")),
        2,
        1,
        Pace::Rate(100.0),
        Duration::ZERO,
        Duration::from_millis(200),
    );
    match run(&cfg, pick_workload()).await {
        Err(ClientError::Auth { code, .. }) => assert_eq!(code, "WRONGPASS"),
        other => panic!("expected an AUTH failure, got {other:?}"),
    }
    assert_eq!(seen.commands.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_times_out() {
    // Never answer request 5: the connection must be reset after the timeout, not hang.
    let (addr, _seen) = fake_server(b"+OK\r\n", |i, _| {
        if i == 5 {
            Action::Stall(Duration::from_secs(30), b"+PONG\r\n")
        } else {
            Action::Reply(b"+PONG\r\n")
        }
    })
    .await;
    let mut cfg = config(
        addr,
        None,
        1,
        1,
        Pace::Max,
        Duration::ZERO,
        Duration::from_millis(600),
    );
    cfg.conn.timeout = Duration::from_millis(200);
    let out = run(&cfg, pick_workload()).await.unwrap();
    assert_eq!(
        out.counts.errors.get("timeout"),
        Some(&1),
        "{:?}",
        out.counts
    );
    assert!(out.counts.ok > 5, "{:?}", out.counts);
}
