//! Workers (DESIGN §4): RESP connections are served on every worker's event loop, not on one
//! thread, and the connection cap stays one cap for the whole server.

mod support;

use std::io::{Read, Write};
use std::thread;

use numpool_loadgen::procstat::{self, ServerCpu};
use support::raw::{authed_as, command, connect, exchange, pongs, read_to_close};
use support::{Numpool, KEY, SECRET};

/// Pipelined `PING`s each connection sends per round, and the rounds.
const BURST: usize = 500;
const ROUNDS: usize = 400;

/// Sends `ROUNDS` bursts of `BURST` pipelined `PING`s and reads every `+PONG`.
fn ping_load(server: &Numpool) {
    let mut stream = authed_as(server.resp, KEY, SECRET);
    let burst = command(&["PING"]).repeat(BURST);
    let mut replies = vec![0; b"+PONG\r\n".len() * BURST];
    for _ in 0..ROUNDS {
        stream.write_all(&burst).unwrap();
        stream.read_exact(&mut replies).unwrap();
    }
    assert!(replies.starts_with(b"+PONG\r\n"));
}

/// The share of the server's CPU each of its worker threads (actix arbiters, named
/// `actix-rt|system:…|arbiter:…`, which `comm` cuts to `actix-rt|system`) took while four
/// connections sent `PING`s.
fn worker_shares(server: &Numpool) -> Vec<f64> {
    let pid = server.pid();
    let before = procstat::snapshot(pid).unwrap();
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| ping_load(server));
        }
    });
    let after = procstat::snapshot(pid).unwrap();
    let cpu = ServerCpu::between(
        pid,
        &before,
        &after,
        procstat::clock_ticks_per_second(),
        (4 * BURST * ROUNDS) as u64,
    );
    cpu.threads
        .iter()
        .filter(|thread| thread.name.starts_with("actix-rt|system"))
        .map(|thread| thread.share)
        .collect()
}

#[test]
fn connections_are_served_on_every_worker() {
    let server = Numpool::start(&["--workers", "2"]);
    let shares = worker_shares(&server);
    assert_eq!(shares.len(), 2, "both workers served PINGs: {shares:?}");
    // Four connections handed out in turn: two per worker, so neither does the bulk of the
    // work (the main thread only accepts, so the two share nearly all of it).
    for share in &shares {
        assert!(*share > 0.2, "each worker took a fair part: {shares:?}");
    }
}

#[test]
fn one_worker_serves_every_connection() {
    let server = Numpool::start(&["--workers", "1"]);
    let shares = worker_shares(&server);
    assert_eq!(shares.len(), 1, "one worker served every PING: {shares:?}");
    assert!(shares[0] > 0.5, "{shares:?}");
}

#[test]
fn the_connection_cap_is_one_cap_over_all_workers() {
    let server = Numpool::start_with_toml(
        "[limits]\nmax_connections = 3\n",
        &["--workers", "2", "--sidecar-account", KEY],
    );
    // Three connections, spread over both workers, fill the one cap…
    let mut inside: Vec<_> = (0..3).map(|_| connect(server.resp)).collect();
    for stream in &mut inside {
        exchange(stream, &command(&["PING"]), b"+PONG\r\n");
    }
    // …so a fourth is refused, whichever worker would have taken it.
    let mut refused = connect(server.resp);
    assert_eq!(
        read_to_close(&mut refused),
        b"-ERR max number of clients reached\r\n"
    );
    // A slot that frees up is free for the next connection.
    drop(inside.pop());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !pongs(server.resp) {
        assert!(
            std::time::Instant::now() < deadline,
            "a freed slot was reused"
        );
        thread::sleep(std::time::Duration::from_millis(20));
    }
}
