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
    // None of them can finish its command. One that waits for budget while holding part of its
    // command is closed a second after its last read, and so is one that holds part and waits
    // for bytes while another waits for budget: a new client is served at once, and one that
    // needs half the budget gets it within seconds, not after the attackers' 300 s idle timeout.
    assert!(pongs(server.resp));
    let mut client = connect(server.resp);
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    client.write_all(DEMO_AUTH).unwrap();
    client
        .write_all(&unknown_command(16 * 1024 * 1024))
        .unwrap();
    let mut got = vec![0; UNKNOWN_REPLY.len()];
    client.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(UNKNOWN_REPLY)
    );
    drop(held);
}

/// What an authenticated client is told for [`unknown_command`].
const UNKNOWN_REPLY: &[u8] = b"+OK\r\n-ERR unknown command 'NOSUCHCOMMAND'\r\n";

/// A complete command of about `bytes` (64 KiB arguments) that the server must buffer whole
/// before it can answer that it does not know it.
fn unknown_command(bytes: usize) -> Vec<u8> {
    let arg = "y".repeat(64 * 1024);
    let args: Vec<&str> = std::iter::once("NOSUCHCOMMAND")
        .chain(std::iter::repeat_n(arg.as_str(), bytes / arg.len()))
        .collect();
    command(&args)
}

#[test]
fn clients_that_hold_the_budget_and_go_silent_are_closed_for_one_that_needs_it() {
    // Three clients send 1.2 MiB each of a command they never finish and go silent: 3.6 of the
    // 4 MiB budget. Their sockets are empty, so they wait for bytes, not for budget.
    let budget = 4 * 1024 * 1024;
    let server = Numpool::start(&["--demo", "--max-buffered-input-bytes", &budget.to_string()]);
    let silent: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = connect(server.resp);
            s.write_all(DEMO_AUTH).unwrap();
            let mut ok = [0u8; 5];
            s.read_exact(&mut ok).unwrap();
            let mut half = b"*1024\r\n".to_vec();
            for _ in 0..20 {
                half.extend(format!("${BULK}\r\n").into_bytes());
                half.extend(vec![b'x'; BULK]);
                half.extend(b"\r\n");
            }
            s.write_all(&half).unwrap();
            s
        })
        .collect();
    // Silent for longer than a stalled client waits.
    std::thread::sleep(Duration::from_millis(1500));
    // A client whose whole 2 MiB command needs more than is left: it is answered, because the
    // silent holders are closed (not after their 300 s idle timeout) and free their share.
    let mut client = connect(server.resp);
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    client.write_all(DEMO_AUTH).unwrap();
    client.write_all(&unknown_command(2 * 1024 * 1024)).unwrap();
    let mut got = vec![0; UNKNOWN_REPLY.len()];
    client.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(UNKNOWN_REPLY)
    );
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let said = read_to_close(&mut s);
        assert!(
            String::from_utf8_lossy(&said).starts_with("-ERR server input budget spent"),
            "{}",
            String::from_utf8_lossy(&said)
        );
    }
}
