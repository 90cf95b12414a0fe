//! Memory before and after AUTH: an unauthenticated client may send only small commands (the
//! CVE-2021-32675 class), and the server-wide budget for unexecuted input bounds what any
//! number of clients, each within its own limits, can make the server hold.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::raw::{command, connect, pongs, read_to_close, DEMO_AUTH};
use crate::support::Numpool;

/// Connections of the attacks (the figure).
const ATTACKERS: usize = 40;
/// The bulk size of the attacks' arguments: 60 KiB, within the default 64 KiB limit.
const BULK: usize = 60 * 1024;
/// Resident memory the attacks may add to an idle server: well above what an idle server and
/// its threads grow by under load, far below the 2.4 GB the unbounded server reached.
const RSS_GROWTH_BOUND: u64 = 160 * 1024 * 1024;

/// The start of a legal 1,024-argument command of 60 KiB arguments that never ends: as many of
/// its bytes as `stream` takes within `for_how_long`; what was written.
fn endless_command(stream: &mut TcpStream, for_how_long: Duration) -> usize {
    stream.set_write_timeout(Some(for_how_long)).unwrap();
    let mut written = 0;
    let mut out = b"*1024\r\n".to_vec();
    let bulk = vec![b'x'; BULK];
    for _ in 0..1023 {
        out.extend(format!("${BULK}\r\n").into_bytes());
        out.extend(&bulk);
        out.extend(b"\r\n");
        match stream.write(&out) {
            Ok(n) => written += n,
            Err(_) => break,
        }
        out.clear();
    }
    written
}

#[test]
fn before_auth_only_small_commands_are_taken() {
    let server = Numpool::start(&["--demo"]);
    let big = "x".repeat(16 * 1024 + 1);
    let cases = [
        (
            command(&["AUTH", "demo0001", &big]),
            "-ERR Protocol error: invalid bulk length: 16385 bytes exceed the limit of 16384\r\n",
        ),
        (
            command(&["HELLO", "3", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
            "-ERR Protocol error: invalid multibulk length: 11 arguments exceed the limit of 10\r\n",
        ),
    ];
    for (request, reply) in cases {
        let mut s = connect(server.resp);
        s.write_all(&request).unwrap();
        assert_eq!(String::from_utf8_lossy(&read_to_close(&mut s)), reply);
    }
    // The same big argument right after AUTH, in the same burst, is taken.
    let mut s = connect(server.resp);
    let mut burst = DEMO_AUTH.to_vec();
    burst.extend(command(&["ECHO", &big]));
    s.write_all(&burst).unwrap();
    let mut expected = b"+OK\r\n".to_vec();
    expected.extend(format!("${}\r\n{big}\r\n", big.len()).into_bytes());
    let mut got = vec![0; expected.len()];
    s.read_exact(&mut got).unwrap();
    assert!(got == expected);
}

#[test]
fn unauthenticated_big_commands_take_no_memory() {
    let server = Numpool::start(&["--demo"]);
    let before = server.rss_bytes();
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let addr = server.resp;
            std::thread::spawn(move || {
                let mut s = connect(addr);
                endless_command(&mut s, Duration::from_secs(2));
                read_to_close(&mut s)
            })
        })
        .collect();
    for attacker in attackers {
        // Refused from the header, before a byte of the arguments is buffered.
        assert_eq!(
            String::from_utf8_lossy(&attacker.join().unwrap()),
            "-ERR Protocol error: invalid multibulk length: 1024 arguments exceed the limit of 10\r\n"
        );
    }
    let grown = server.rss_bytes().saturating_sub(before);
    assert!(grown < RSS_GROWTH_BOUND, "RSS grew by {grown} bytes");
    assert!(pongs(server.resp));
}

#[test]
fn the_input_budget_bounds_what_authenticated_clients_make_it_hold() {
    // 40 clients × a 60 MiB command each would be 2.4 GB of buffered input; the budget is 32 MiB.
    let server = Numpool::start(&["--demo", "--max-buffered-input-bytes", "33554432"]);
    let before = server.rss_bytes();
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let addr = server.resp;
            std::thread::spawn(move || {
                let mut s = connect(addr);
                s.write_all(DEMO_AUTH).unwrap();
                let mut ok = [0u8; 5];
                s.read_exact(&mut ok).unwrap();
                assert_eq!(&ok, b"+OK\r\n");
                let written = endless_command(&mut s, Duration::from_secs(2));
                (s, written)
            })
        })
        .collect();
    let held: Vec<(TcpStream, usize)> = attackers.into_iter().map(|a| a.join().unwrap()).collect();
    let written: usize = held.iter().map(|(_, w)| w).sum();
    let grown = server.rss_bytes().saturating_sub(before);
    assert!(
        grown < RSS_GROWTH_BOUND,
        "RSS grew by {grown} bytes while {written} bytes were sent"
    );
    // Sent far more than the server holds: the rest waits in socket buffers, unread.
    assert!(written > 2 * 33_554_432, "only {written} bytes sent");
    // None of them can finish its command: each is closed once the budget has stayed spent for
    // a second (not after its idle timeout, 300 s), so a new client is served at once.
    assert!(pongs(server.resp));
    for (mut s, _) in held {
        // Closed one after another as the freed budget lets the next resume and stall again:
        // seconds each on a loaded machine, never the 300 s idle timeout.
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut rest = Vec::new();
        let closed = match s.read_to_end(&mut rest) {
            Ok(_) => true,
            // Closed with its unread input still queued: a reset, not a FIN.
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "an attacker is still connected");
    }
}
