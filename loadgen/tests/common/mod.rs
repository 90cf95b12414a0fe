//! A fake RESP server for tests: it decodes commands with loadgen's own decoder and answers each
//! as a closure decides, so tests can stall, fail or close on cue.
#![allow(dead_code)] // each test file uses a different part

use numpool_loadgen::client::ConnConfig;
use numpool_loadgen::resp::{Decoder, Reply};
use numpool_loadgen::run::RunConfig;
use numpool_loadgen::schedule::Pace;
use redis::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the fake server does with one command.
pub enum Action {
    /// Write these bytes.
    Reply(&'static [u8]),
    /// Wait, then write these bytes (the whole connection stalls meanwhile).
    Stall(Duration, &'static [u8]),
    /// Close the connection without answering.
    Close,
}

/// Counters the tests read back.
#[derive(Default)]
pub struct Seen {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// AUTH commands received.
    pub auths: AtomicUsize,
    /// Other commands received.
    pub commands: AtomicUsize,
}

/// Starts the server on a free loopback port. `decide` gets the global index of each non-AUTH
/// command (across connections) and the command's words; AUTH gets `auth_reply`.
pub async fn fake_server(
    auth_reply: &'static [u8],
    decide: impl Fn(usize, &[String]) -> Action + Send + Sync + 'static,
) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let decide = Arc::new(decide);
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            let (seen, decide) = (seen2.clone(), decide.clone());
            tokio::spawn(async move {
                let mut decoder = Decoder::new();
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let mut commands = Vec::new();
                    decoder
                        .feed(&buf[..n], |r| commands.push(words(r)))
                        .expect("client sent valid RESP");
                    let mut out = Vec::new();
                    for words in commands {
                        if words[0].eq_ignore_ascii_case("AUTH") {
                            seen.auths.fetch_add(1, Ordering::SeqCst);
                            out.extend_from_slice(auth_reply);
                            continue;
                        }
                        let i = seen.commands.fetch_add(1, Ordering::SeqCst);
                        match decide(i, &words) {
                            Action::Reply(bytes) => out.extend_from_slice(bytes),
                            Action::Stall(d, bytes) => {
                                // Replies decided before the stall go out first, as a real server
                                // that blocks on this command would have sent them.
                                if sock.write_all(&out).await.is_err() {
                                    return;
                                }
                                out.clear();
                                tokio::time::sleep(d).await;
                                out.extend_from_slice(bytes);
                            }
                            Action::Close => return,
                        }
                    }
                    if sock.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn words(reply: Reply) -> Vec<String> {
    match reply {
        Reply::Value(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => String::from_utf8(b).unwrap(),
                other => panic!("command word {other:?}"),
            })
            .collect(),
        other => panic!("command {other:?}"),
    }
}

/// A run config for tests: no progress line, 5 s timeout.
pub fn config(
    addr: SocketAddr,
    auth: Option<(&str, &str)>,
    connections: usize,
    pipeline: usize,
    pace: Pace,
    warmup: Duration,
    duration: Duration,
) -> RunConfig {
    RunConfig {
        conn: ConnConfig {
            addr: addr.to_string(),
            auth: auth.map(|(k, s)| (k.to_string(), s.to_string())),
            pipeline,
            timeout: Duration::from_secs(5),
        },
        addrs: vec![addr.to_string()],
        connections,
        duration,
        warmup,
        pace,
        rng_seed: 7,
        progress: false,
        server_pid: None,
    }
}
