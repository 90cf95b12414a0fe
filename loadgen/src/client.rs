//! One connection's loop: write requests (paced or as fast as pipeline slots free up), read
//! replies, match them to requests in order (RESP replies come back in request order), and record
//! each one. A lost connection fails the requests in flight and is re-established; requests that
//! fell due meanwhile are sent late and charged with their full corrected latency.

use crate::resp::{Decoder, Reply};
use crate::schedule::Schedule;
use crate::stats::{lock, Shard};
use crate::workload::Workload;
use rand::rngs::StdRng;
use rand::SeedableRng;
use redis::Value;
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{sleep_until, timeout};

/// Why a connection could not be used.
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP connect failed or timed out.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Address dialled.
        addr: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The server refused `AUTH`.
    #[error("AUTH refused by {addr}: {code} {detail}")]
    Auth {
        /// Address dialled.
        addr: String,
        /// Error code of the reply (e.g. `WRONGPASS`).
        code: String,
        /// Rest of the reply.
        detail: String,
    },
    /// The connection failed while exchanging a setup command.
    #[error("setup with {addr} failed: {what}")]
    Setup {
        /// Address dialled.
        addr: String,
        /// What went wrong.
        what: String,
    },
}

/// Settings shared by all connections of a run.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// `host:port` of the RESP server.
    pub addr: String,
    /// `AUTH` key and secret, sent on every (re)connection.
    pub auth: Option<(String, String)>,
    /// Maximum requests in flight on the connection.
    pub pipeline: usize,
    /// A request with no reply after this long fails as `timeout` and the connection is reset.
    pub timeout: Duration,
}

/// The run's time window, the same for every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Start of the schedule (warmup begins).
    pub(crate) start: Instant,
    /// Start of the measured window (warmup ends).
    pub(crate) measure_from: Instant,
    /// End of the window: nothing is sent from then on, replies in flight are still awaited.
    pub(crate) end: Instant,
}

/// How one connection paces its requests.
#[derive(Debug, Clone)]
pub(crate) enum ConnPace {
    /// Open loop on this schedule, woken by the pacer through the `Notify`.
    Open(Schedule, Arc<Notify>),
    /// Closed loop.
    Closed,
}

/// An established, authenticated connection.
pub struct Conn {
    /// Reading half.
    rd: OwnedReadHalf,
    /// Writing half.
    wr: OwnedWriteHalf,
    /// Reply decoder for this stream.
    decoder: Decoder,
}

/// Connects, disables Nagle (pipelined small writes must not wait for ACKs), and sends `AUTH` if
/// configured.
pub async fn connect(cfg: &ConnConfig) -> Result<Conn, ClientError> {
    let err = |source| ClientError::Connect {
        addr: cfg.addr.clone(),
        source,
    };
    let stream = timeout(Duration::from_secs(5), TcpStream::connect(&cfg.addr))
        .await
        .map_err(|_| err(io::ErrorKind::TimedOut.into()))?
        .map_err(err)?;
    stream.set_nodelay(true).map_err(err)?;
    let (rd, wr) = stream.into_split();
    let mut conn = Conn {
        rd,
        wr,
        decoder: Decoder::new(),
    };
    if let Some((key, secret)) = &cfg.auth {
        let auth = redis::cmd("AUTH").arg(key).arg(secret).get_packed_command();
        match conn.request(&auth, cfg.timeout).await {
            Ok(Reply::Value(Value::Okay)) => {}
            Ok(Reply::Value(Value::SimpleString(s))) if s == "OK" => {}
            Ok(Reply::Error { code, detail }) => {
                return Err(ClientError::Auth {
                    addr: cfg.addr.clone(),
                    code,
                    detail: detail.unwrap_or_default(),
                })
            }
            Ok(other) => {
                return Err(ClientError::Setup {
                    addr: cfg.addr.clone(),
                    what: format!("unexpected AUTH reply {other:?}"),
                })
            }
            Err(what) => {
                return Err(ClientError::Setup {
                    addr: cfg.addr.clone(),
                    what,
                })
            }
        }
    }
    Ok(conn)
}

impl Conn {
    /// Sends one encoded command and waits for its reply (setup only, not the measured path).
    pub async fn request(&mut self, cmd: &[u8], wait: Duration) -> Result<Reply, String> {
        self.wr.write_all(cmd).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let n = tokio::time::timeout_at(deadline, self.rd.read(&mut buf))
                .await
                .map_err(|_| "timed out".to_string())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            let mut got = None;
            self.decoder
                .feed(&buf[..n], |r| {
                    got.get_or_insert(r);
                })
                .map_err(|e| e.to_string())?;
            if let Some(r) = got {
                return Ok(r);
            }
        }
    }
}

/// A request on the wire.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// When it should have been sent.
    intended: Instant,
    /// When it was written.
    sent: Instant,
}

/// Drives one connection through the window, recording into `shard`. Returns only when the window
/// is over and every request has been answered or failed; errors only if a reconnection is refused
/// outright (bad credentials).
pub(crate) async fn run_connection(
    conn: Conn,
    cfg: Arc<ConnConfig>,
    workload: Arc<Workload>,
    pace: ConnPace,
    window: Window,
    shard: Arc<Mutex<Shard>>,
    rng_seed: u64,
) -> Result<(), ClientError> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let mut conn = Some(conn);
    let mut inflight: VecDeque<InFlight> = VecDeque::with_capacity(cfg.pipeline);
    let mut wbuf = Vec::with_capacity(cfg.pipeline * 64);
    let mut rbuf = vec![0u8; 64 * 1024];
    // Open loop: index of the next scheduled request of this connection.
    let mut next_i = 0u64;
    let measured = |t: Instant| t >= window.measure_from && t < window.end;
    // All connections begin together at the window's start (the closed loop would otherwise start
    // as soon as its task is spawned).
    sleep_until(tokio::time::Instant::from_std(window.start)).await;

    loop {
        let now = Instant::now();
        let Some(c) = conn.as_mut() else {
            // Reconnect, but give up once the window is over: nothing is in flight then.
            if now >= window.end {
                break;
            }
            match connect(&cfg).await {
                Ok(fresh) => conn = Some(fresh),
                Err(e @ ClientError::Auth { .. }) => return Err(e),
                Err(e) => {
                    tracing::debug!("reconnect failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            continue;
        };

        // Fill free pipeline slots with what is due. An open loop keeps sending requests whose
        // intended time fell inside the window even after it ended (they are late, and charged
        // for it), for at most one timeout; what is still unsent then counts as `unsent`.
        let issuing = match &pace {
            ConnPace::Open(..) => now < window.end + cfg.timeout,
            ConnPace::Closed => now < window.end,
        };
        if issuing {
            let mut sent_measured = 0;
            while inflight.len() < cfg.pipeline {
                let intended = match &pace {
                    ConnPace::Open(s, _) => {
                        let t = s.at(next_i);
                        if t > now || t >= window.end {
                            break;
                        }
                        next_i += 1;
                        t
                    }
                    ConnPace::Closed => now,
                };
                workload.append_next(&mut rng, &mut wbuf);
                inflight.push_back(InFlight {
                    intended,
                    sent: now,
                });
                sent_measured += u64::from(measured(intended));
            }
            if sent_measured > 0 {
                lock(&shard).record_sent(sent_measured);
            }
        }
        if !wbuf.is_empty() {
            let written = c.wr.write_all(&wbuf).await;
            wbuf.clear();
            if written.is_err() {
                fail_all(&mut inflight, &shard, measured, "io");
                conn = None;
                continue;
            }
        }
        let backlog = match &pace {
            ConnPace::Open(s, _) => issuing && s.at(next_i) < window.end,
            ConnPace::Closed => false,
        };
        if now >= window.end && inflight.is_empty() && !backlog {
            break;
        }

        // Wait for replies, the next slot, or the oldest request's timeout.
        let wake = match &pace {
            ConnPace::Open(_, notify) if inflight.len() < cfg.pipeline && now < window.end => {
                Some(notify.clone())
            }
            _ => None,
        };
        let timeout_at = inflight
            .front()
            .map(|f| tokio::time::Instant::from_std(f.sent + cfg.timeout));
        tokio::select! {
            biased;
            read = c.rd.read(&mut rbuf) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        fail_all(&mut inflight, &shard, measured, "io");
                        conn = None;
                        continue;
                    }
                    Ok(n) => n,
                };
                let replied = Instant::now();
                let mut s = lock(&shard);
                let mut stray = false;
                let fed = c.decoder.feed(&rbuf[..n], |reply| {
                    let Some(req) = inflight.pop_front() else {
                        stray = true;
                        return;
                    };
                    let code = match &reply {
                        Reply::Error { code, .. } => Some(code.as_str()),
                        Reply::Value(_) => None,
                    };
                    s.record_reply(measured(req.intended), req.intended, req.sent, replied, code);
                });
                drop(s);
                if fed.is_err() || stray {
                    // Replies can no longer be matched to requests: start over on a new connection.
                    fail_all(&mut inflight, &shard, measured, "protocol");
                    conn = None;
                }
            }
            _ = async { wake.as_ref().expect("guarded").notified().await }, if wake.is_some() => {}
            // The pacer stops at the end of the window; wake up then to drain and finish.
            _ = sleep_until(tokio::time::Instant::from_std(window.end)), if now < window.end => {}
            _ = sleep_until(timeout_at.unwrap_or_else(tokio::time::Instant::now)), if timeout_at.is_some() => {
                fail_all(&mut inflight, &shard, measured, "timeout");
                conn = None;
            }
        }
    }

    // Open loop: requests scheduled inside the measured window that never went out.
    if let ConnPace::Open(s, _) = &pace {
        let scheduled_end = s.count_before(window.end);
        let first_measured = s.count_before(window.measure_from);
        let unsent = scheduled_end.saturating_sub(next_i.max(first_measured));
        if unsent > 0 {
            lock(&shard).record_failures(unsent, 0, "unsent");
        }
    }
    Ok(())
}

/// Fails every request in flight with `kind`.
fn fail_all(
    inflight: &mut VecDeque<InFlight>,
    shard: &Mutex<Shard>,
    measured: impl Fn(Instant) -> bool,
    kind: &str,
) {
    let m = inflight.iter().filter(|r| measured(r.intended)).count() as u64;
    let other = inflight.len() as u64 - m;
    inflight.clear();
    lock(shard).record_failures(m, other, kind);
}
