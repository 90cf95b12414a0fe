//! Slow clients: one that never authenticates, a slowloris that sends a byte at a time and
//! never completes a command, and a stalled half-command that must delay no one else.

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::raw::{command, connect, exchange, read_to_close};
use crate::support::{self, Numpool};

#[test]
fn a_connection_that_does_not_authenticate_in_time_is_closed() {
    let server = Numpool::start_with_toml("[limits]\nauth_deadline_seconds = 1", &[]);
    // A client that keeps sending complete commands, never AUTH...
    let mut s = connect(server.resp);
    let started = std::time::Instant::now();
    let closed = loop {
        if s.write_all(&command(&["PING"])).is_err() {
            break true;
        }
        let mut reply = [0u8; 7];
        match s.read_exact(&mut reply) {
            Ok(()) => assert_eq!(&reply, b"+PONG\r\n"),
            Err(_) => break true,
        }
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_secs(5) {
            break false;
        }
    };
    // ...is closed at the deadline (1 s), long before the 5 s the test allows.
    assert!(closed, "still open after 5 s");
    // An authenticated one is not.
    let mut ok = connect(server.resp);
    exchange(
        &mut ok,
        &command(&["AUTH", support::KEY, support::SECRET]),
        b"+OK\r\n",
    );
    std::thread::sleep(Duration::from_millis(1500));
    exchange(&mut ok, &command(&["PING"]), b"+PONG\r\n");
}

#[test]
fn a_slowloris_is_closed_by_the_idle_timeout() {
    let server = Numpool::start_with_toml("[limits]\nidle_timeout_seconds = 1", &[]);
    let mut s = connect(server.resp);
    exchange(
        &mut s,
        &command(&["AUTH", support::KEY, support::SECRET]),
        b"+OK\r\n",
    );
    let started = std::time::Instant::now();
    // One byte of a command every 300 ms: bytes flow, no command ever completes.
    let mut closed = false;
    for byte in b"*2\r\n$4\r\nPING\r\n$40\r\n".iter().cycle().take(30) {
        std::thread::sleep(Duration::from_millis(300));
        if s.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        closed = read_to_close(&mut s).is_empty();
    }
    assert!(closed);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed by the idle timeout, not the end of the loop: {:?}",
        started.elapsed()
    );
}

#[test]
fn idle_connections_are_closed_and_stalled_clients_delay_no_one() {
    let server = Numpool::start_with_toml(
        "[limits]\nidle_timeout_seconds = 1\nmax_arg_bytes = 16",
        &[],
    );
    // A client that sends half a command and stalls...
    let mut stalled = connect(server.resp);
    stalled.write_all(b"*2\r\n$4\r\nPING\r\n$5\r\nhel").unwrap();
    // ...does not delay another.
    let mut other = connect(server.resp);
    exchange(&mut other, &command(&["PING"]), b"+PONG\r\n");
    // Configured argument limit.
    exchange(&mut other, &command(&["PING", "x"]), b"$1\r\nx\r\n");
    other
        .write_all(&command(&["PING", "seventeen-bytes!!"]))
        .unwrap();
    assert_eq!(
        read_to_close(&mut other),
        b"-ERR Protocol error: invalid bulk length: 17 bytes exceed the limit of 16\r\n"
    );
    // The stalled one is closed after the idle timeout, with nothing sent.
    assert!(read_to_close(&mut stalled).is_empty());
}
