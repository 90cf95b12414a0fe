//! Raw RESP over a blocking socket: what the protocol tests write byte for byte, and what the
//! hostile-client suite sends that no well-behaved client would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `AUTH` for the `--demo` account, as bytes.
pub const DEMO_AUTH: &[u8] = b"*3\r\n$4\r\nAUTH\r\n$8\r\ndemo0001\r\n$11\r\ndemo-secret\r\n";

/// A raw connection with a read timeout, so a missing reply fails the test instead of hanging.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Encodes a command as a RESP array of bulk strings.
pub fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n{arg}\r\n", arg.len()).into_bytes());
    }
    out
}

/// Sends `request` and asserts the reply bytes are exactly `expected`.
#[track_caller]
pub fn exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).unwrap();
    let mut reply = vec![0; expected.len()];
    stream
        .read_exact(&mut reply)
        .unwrap_or_else(|e| panic!("reading {:?}: {e}", String::from_utf8_lossy(expected)));
    assert_eq!(
        String::from_utf8_lossy(&reply),
        String::from_utf8_lossy(expected)
    );
}

/// Reads until the server closes; what it sent.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("server closes the connection");
    rest
}

/// A connection authenticated as `key`/`secret`.
pub fn authed_as(addr: SocketAddr, key: &str, secret: &str) -> TcpStream {
    let mut stream = connect(addr);
    exchange(&mut stream, &command(&["AUTH", key, secret]), b"+OK\r\n");
    stream
}

/// Whether a fresh connection gets `PONG`: the server is alive and serving.
pub fn pongs(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = [0u8; 7];
    s.write_all(&command(&["PING"])).is_ok()
        && s.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
