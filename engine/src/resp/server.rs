//! The sidecar's listener (DESIGN §4): accept loop, connection cap, per-connection tasks and
//! graceful shutdown. One acceptor hands each connection, round-robin, to a worker: one of the
//! event loops the pool actors run on, so connections are served on every core and a
//! connection whose pool shares its worker reaches it without a thread hop. Each connection is
//! its own task, so a slow or stalled client holds only its own task and buffers, never another
//! connection's progress.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::batch::Batch;
use super::budget::InputBudget;
use super::connection::{ConnError, Connection};
use super::frame::{write_error, FrameLimits};
use super::session::{After, Session};
use crate::config::Config;
use crate::engine::{AccountHandle, Engine};
use crate::throttle::AuthThrottle;

/// How long shutdown waits for connections to finish what they are doing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection may send before it authenticates: Redis's limits for unauthenticated
/// clients (since CVE-2021-32675), enough for `AUTH`, `HELLO … AUTH … SETNAME` and `CLIENT
/// SETINFO`, too little to make a stranger's connection cost memory.
const PRE_AUTH_LIMITS: FrameLimits = FrameLimits {
    max_bulk_len: 16 * 1024,
    max_args: 10,
    max_inline_len: 16 * 1024,
};

/// The RESP server.
pub(crate) struct Server {
    /// The engine commands run against.
    engine: Engine,
    /// Frame limits per request.
    limits: FrameLimits,
    /// Most simultaneous connections.
    max_connections: usize,
    /// Close a connection silent this long.
    idle_timeout: Option<Duration>,
    /// The account every connection is bound to, for a private sidecar.
    sidecar_account: Option<AccountHandle>,
    /// How long a connection may stay unauthenticated.
    auth_deadline: Duration,
    /// The server-wide budget for received, unexecuted input.
    budget: Arc<InputBudget>,
    /// What failed `AUTH`s cost their client address (shared with the REST API).
    throttle: Arc<AuthThrottle>,
}

impl Server {
    /// A server for `engine` with `config`'s limits and sidecar account, failed `AUTH`s
    /// delayed by `throttle`.
    pub(crate) fn new(engine: Engine, config: &Config, throttle: Arc<AuthThrottle>) -> Self {
        let limits = &config.limits;
        Server {
            sidecar_account: config
                .sidecar_account
                .as_deref()
                .and_then(|id| engine.account(id)),
            engine,
            limits: FrameLimits {
                max_bulk_len: limits.max_arg_bytes,
                max_args: limits.max_args,
                ..FrameLimits::default()
            },
            max_connections: limits.max_connections,
            idle_timeout: (limits.idle_timeout_seconds > 0)
                .then(|| Duration::from_secs(limits.idle_timeout_seconds)),
            auth_deadline: Duration::from_secs(limits.auth_deadline_seconds),
            budget: Arc::new(InputBudget::new(limits.max_buffered_input_bytes)),
            throttle,
        }
    }

    /// Serves `listener` until `shutdown` completes; then stops accepting, lets every
    /// connection finish the batch it is running (up to [`DRAIN_TIMEOUT`]) and returns.
    pub(crate) async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let server = Arc::new(self);
        let workers = server.engine.workers();
        let mut next_worker = 0usize;
        let slots = Arc::new(Semaphore::new(server.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of descriptors or a reset before accept: keep serving the others.
                    Err(err) => {
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tokio::spawn(refuse(stream));
                continue;
            };
            // The socket leaves this thread's reactor for its worker's.
            let stream = match stream.into_std() {
                Ok(stream) => stream,
                Err(err) => {
                    tracing::warn!(%err, "could not hand a connection to a worker");
                    continue;
                }
            };
            let worker = &workers[next_worker % workers.len()];
            next_worker = next_worker.wrapping_add(1);
            let server = server.clone();
            let stop = stop_rx.clone();
            // A stopped worker drops the future, and the permit with it.
            worker.spawn(async move {
                match TcpStream::from_std(stream) {
                    Ok(stream) => server.serve_connection(stream, peer, stop).await,
                    Err(err) => tracing::warn!(%err, "a worker could not take a connection"),
                }
                drop(permit);
            });
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let all = u32::try_from(server.max_connections).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all)).await;
        Ok(())
    }

    async fn serve_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        mut stop: watch::Receiver<bool>,
    ) {
        let _counted = self.engine.metrics().connection_opened();
        let mut connection = Connection::new(stream, self.limits, self.idle_timeout)
            .with_budget(self.budget.clone());
        if self.sidecar_account.is_none() {
            let limits = FrameLimits {
                max_bulk_len: PRE_AUTH_LIMITS.max_bulk_len.min(self.limits.max_bulk_len),
                max_args: PRE_AUTH_LIMITS.max_args.min(self.limits.max_args),
                max_inline_len: PRE_AUTH_LIMITS
                    .max_inline_len
                    .min(self.limits.max_inline_len),
            };
            connection = connection.unauthenticated(limits, self.auth_deadline);
        }
        let mut session = Session::new(self.sidecar_account.clone(), peer, self.throttle.clone());
        let mut batch = Batch::default();
        loop {
            let read = tokio::select! {
                read = connection.read_batch_into(&mut batch) => read,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match read {
                Ok(true) => {}
                Ok(false) => return,
                Err(ConnError::Protocol(err)) => {
                    let _ = connection.close_with_protocol_error(&err).await;
                    return;
                }
                Err(ConnError::IdleTimeout(_) | ConnError::AuthDeadline(_)) => {
                    let _ = connection.close().await;
                    return;
                }
                Err(err @ ConnError::InputBudgetSpent { .. }) => {
                    tracing::debug!(error = %err, "closing a connection the input budget stalled");
                    write_error(connection.out(), BUDGET_SPENT);
                    let _ = connection.close().await;
                    return;
                }
                Err(_) => return,
            }
            let after = session
                .execute(&self.engine, &batch, connection.out())
                .await;
            if session.is_authenticated() {
                connection.authenticated(self.limits);
            }
            if connection.flush().await.is_err() {
                return;
            }
            if after == After::Close {
                let _ = connection.close().await;
                return;
            }
        }
    }
}

/// What a connection the input budget stalled is told before it is closed.
const BUDGET_SPENT: &str =
    "ERR server input budget spent: closing a connection holding an unfinished command";

/// Tells a client over the connection cap why it is being closed (Redis's wording).
async fn refuse(mut stream: TcpStream) {
    let mut out = BytesMut::new();
    write_error(&mut out, "ERR max number of clients reached");
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}
