//! One client connection's byte plumbing: read pipelined bursts as batches of
//! commands, and send a batch's replies back with one write.
//!
//! Batching is the point (DESIGN §3.3): a pipelined burst becomes one
//! [`Connection::read_batch_into`] result, which the server can hand to a pool
//! actor as one message, and whose replies are encoded into
//! [`Connection::out`] and sent by a single [`Connection::flush`].
//!
//! # Buffer cap
//!
//! After every read all complete commands are cut out, so what stays buffered
//! is at most one incomplete command, which the frame limits bound by
//! [`FrameLimits::max_frame_len`] (about 64.1 MiB with the defaults: 1,024
//! arguments of 64 KiB plus headers). One read adds at most [`READ_CHUNK`]
//! bytes, so the read buffer never exceeds `max_frame_len + READ_CHUNK`; that
//! is also checked explicitly. Oversized lengths are refused from their header,
//! so only a client that really sends a huge legal command reaches the cap,
//! and both buffers drop back to their small size once a big command or reply
//! has gone, so idle connections do not keep megabytes each.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::batch::Batch;
use super::budget::InputBudget;
use super::frame::{write_protocol_error, FrameLimits, ProtocolError};

/// How often a read refused by a spent [`InputBudget`] tries again.
const BUDGET_RETRY: Duration = Duration::from_millis(5);

/// How long a connection holding part of a command may go without reading while the budget is
/// spent, whether it waits for budget or for its client's next bytes while another waits for
/// budget. Those connections are what spends a budget (a complete command runs and gives its
/// bytes back), and none of them can finish without more: waiting for their idle timeouts would
/// stall every client for minutes. Closing them frees the budget within about this long.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// Most bytes taken from the socket per read. Large enough that a pipelined
/// burst of hundreds of `PICK`s arrives in one read, small enough to bound a
/// batch and the per-read growth of the buffer.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Buffer capacity above which an empty buffer is replaced by a fresh small
/// one, returning the memory of an occasional big command or reply.
const SHRINK_ABOVE: usize = 256 * 1024;

/// Why a connection can no longer be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The client broke the protocol; answer with
    /// [`Connection::close_with_protocol_error`].
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// No complete command arrived for the configured idle timeout (bytes that never make a
    /// command do not count: a client trickling them is as idle as a silent one).
    #[error("no complete command from the client for {0:?}")]
    IdleTimeout(Duration),
    /// The client did not authenticate before its deadline.
    #[error("not authenticated within {0:?} of connecting")]
    AuthDeadline(Duration),
    /// The client closed the connection in the middle of a command.
    #[error("connection closed in the middle of a command ({buffered} bytes buffered)")]
    UnexpectedEof {
        /// Bytes of the incomplete command that were dropped.
        buffered: usize,
    },
    /// The server-wide input budget stayed spent for [`BUDGET_WAIT`] while this connection held
    /// part of a command, waiting for budget or for its client while another waited for budget.
    #[error("input budget spent: {held} bytes of an unfinished command held for {waited:?}")]
    InputBudgetSpent {
        /// The bytes of the unfinished command (given back when the connection closes).
        held: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// The read buffer reached its cap. The frame limits make this
    /// unreachable; it is checked so that the cap holds even if they did not.
    #[error("read buffer full ({cap} bytes)")]
    ReadBufferFull {
        /// The cap that was reached.
        cap: usize,
    },
}

/// A client connection over any byte stream (a `TcpStream`, or a
/// `tokio::io::duplex` end in tests).
#[derive(Debug)]
pub(crate) struct Connection<S> {
    /// The socket.
    stream: S,
    /// Bytes received and not yet parsed: at most one incomplete command
    /// between calls to `read_batch`.
    read_buf: BytesMut,
    /// Replies encoded for the current batch, sent by `flush`.
    write_buf: BytesMut,
    /// Request size limits, checked as headers arrive.
    limits: FrameLimits,
    /// Hard cap on `read_buf`: `limits.max_frame_len() + READ_CHUNK`.
    read_cap: usize,
    /// Longest wait for the next complete command; `None` waits forever.
    idle_timeout: Option<Duration>,
    /// When the last complete command arrived (or the connection opened): the idle timeout
    /// counts from here.
    last_command: Instant,
    /// Until authenticated: the deadline, and how long it was.
    auth_deadline: Option<(Instant, Duration)>,
    /// Until authenticated, one command per batch, so that the full limits apply from the
    /// command right after a successful `AUTH`.
    one_at_a_time: bool,
    /// The server-wide budget for unexecuted input, and how much of it this connection holds.
    budget: Option<(Arc<InputBudget>, usize)>,
    /// A protocol error found after some complete commands: those are
    /// returned first (as Redis executes them), the error on the next call.
    pending_error: Option<ProtocolError>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps `stream`. `idle_timeout` closes connections that send nothing
    /// for that long (DESIGN §4 "idle timeout").
    pub(crate) fn new(stream: S, limits: FrameLimits, idle_timeout: Option<Duration>) -> Self {
        Connection {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: BytesMut::with_capacity(READ_CHUNK),
            limits,
            read_cap: limits.max_frame_len().saturating_add(READ_CHUNK),
            idle_timeout,
            last_command: Instant::now(),
            auth_deadline: None,
            one_at_a_time: false,
            budget: None,
            pending_error: None,
        }
    }

    /// Takes every read's bytes from `budget` first, and gives them back once the commands
    /// they held have run.
    pub(crate) fn with_budget(mut self, budget: Arc<InputBudget>) -> Self {
        self.budget = Some((budget, 0));
        self
    }

    /// Until [`Connection::authenticated`]: only commands within `limits` (small ones, DESIGN
    /// §4), one at a time, and a close `deadline` after now.
    pub(crate) fn unauthenticated(mut self, limits: FrameLimits, deadline: Duration) -> Self {
        self.set_limits(limits);
        self.one_at_a_time = true;
        self.auth_deadline = Some((Instant::now() + deadline, deadline));
        self
    }

    /// The client authenticated: the full `limits` apply and the deadline is gone.
    pub(crate) fn authenticated(&mut self, limits: FrameLimits) {
        if self.auth_deadline.take().is_some() {
            self.set_limits(limits);
            self.one_at_a_time = false;
        }
    }

    fn set_limits(&mut self, limits: FrameLimits) {
        self.limits = limits;
        self.read_cap = limits.max_frame_len().saturating_add(READ_CHUNK);
    }

    /// Waits for at least one complete command and puts every complete
    /// command buffered into `batch`, in order: a pipelined burst comes back
    /// as one batch. `batch` is cleared first, so a server loop can reuse one.
    ///
    /// Returns `false` on a clean close (EOF between commands). After an `Err`
    /// the connection is finished; on [`ConnError::Protocol`] send the reply
    /// with [`close_with_protocol_error`](Self::close_with_protocol_error).
    pub(crate) async fn read_batch_into(&mut self, batch: &mut Batch) -> Result<bool, ConnError> {
        batch.clear();
        self.release_executed();
        loop {
            if let Some(err) = &self.pending_error {
                return Err(err.clone().into());
            }
            self.parse_buffered(batch);
            if !batch.is_empty() {
                return Ok(true);
            }
            if let Some(err) = &self.pending_error {
                return Err(err.clone().into());
            }
            if self.read_once().await? == 0 {
                return if self.read_buf.is_empty() {
                    Ok(false)
                } else {
                    Err(ConnError::UnexpectedEof {
                        buffered: self.read_buf.len(),
                    })
                };
            }
        }
    }

    /// Moves every complete buffered command into `batch`; a protocol error
    /// is parked in `pending_error`.
    fn parse_buffered(&mut self, batch: &mut Batch) {
        let most = if self.one_at_a_time { 1 } else { usize::MAX };
        let (moved, outcome) = batch.take_from(&mut self.read_buf, &self.limits, most);
        if moved > 0 {
            self.last_command = Instant::now();
        }
        if let Err(err) = outcome {
            self.pending_error = Some(err);
            return;
        }
        if self.read_buf.is_empty() && self.read_buf.capacity() > SHRINK_ABOVE {
            self.read_buf = BytesMut::with_capacity(READ_CHUNK);
        }
    }

    /// One read of at most [`READ_CHUNK`] bytes, under the idle timeout.
    /// Returns the number of bytes read (0 at EOF).
    async fn read_once(&mut self) -> Result<usize, ConnError> {
        let room = self.read_cap.saturating_sub(self.read_buf.len());
        if room == 0 {
            return Err(ConnError::ReadBufferFull { cap: self.read_cap });
        }
        let (deadline, expired) = self.deadline();
        let since = Instant::now();
        let read = async {
            let want = self.take_budget(room.min(READ_CHUNK), since).await?;
            // Holding part of a command while others wait for budget is what `BUDGET_WAIT`
            // bounds, whether this connection waits for budget or, its socket drained, for
            // its client's next bytes.
            let holder = match &self.budget {
                Some((budget, held)) if !self.read_buf.is_empty() => Some((budget.clone(), *held)),
                _ => None,
            };
            self.read_buf.reserve(want);
            // `limit` stops one read from filling more than `want` even when the
            // buffer has more spare capacity.
            let mut limited = (&mut self.read_buf).limit(want);
            let Some((budget, held)) = holder else {
                return Ok::<_, ConnError>((want, self.stream.read_buf(&mut limited).await?));
            };
            loop {
                tokio::select! {
                    n = self.stream.read_buf(&mut limited) => return Ok((want, n?)),
                    () = budget.starved() => {
                        let waited = since.elapsed();
                        if waited >= BUDGET_WAIT {
                            return Err(ConnError::InputBudgetSpent { held, waited });
                        }
                    }
                }
            }
        };
        let (want, n) = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, read)
                .await
                .map_err(|_| expired)??,
            None => read.await?,
        };
        if let Some((budget, held)) = &mut self.budget {
            // What the read did not fill goes back at once.
            budget.give(want - n);
            *held -= want - n;
        }
        Ok(n)
    }

    /// The earlier of the idle deadline and the authentication deadline, and the error its
    /// expiry is.
    fn deadline(&self) -> (Option<Instant>, ConnError) {
        let idle = self
            .idle_timeout
            .map(|idle| (self.last_command + idle, ConnError::IdleTimeout(idle)));
        let auth = self
            .auth_deadline
            .map(|(at, after)| (at, ConnError::AuthDeadline(after)));
        match (idle, auth) {
            (Some(i), Some(a)) => {
                let (at, err) = if a.0 <= i.0 { a } else { i };
                (Some(at), err)
            }
            (Some((at, err)), None) | (None, Some((at, err))) => (Some(at), err),
            (None, None) => (None, ConnError::IdleTimeout(Duration::ZERO)),
        }
    }

    /// Takes up to `bytes` from the server's budget, waiting while it is spent: the connection
    /// reads nothing more until others give some back. One that holds part of a command gives
    /// up [`BUDGET_WAIT`] after `since`, its last read (closing it frees its share); one that
    /// holds nothing waits (its deadlines still run). How many it may read.
    async fn take_budget(&mut self, bytes: usize, since: Instant) -> Result<usize, ConnError> {
        let Some((budget, held)) = &mut self.budget else {
            return Ok(bytes);
        };
        loop {
            let taken = budget.take_up_to(bytes);
            if taken > 0 {
                *held += taken;
                return Ok(taken);
            }
            let waited = since.elapsed();
            if *held > 0 && waited >= BUDGET_WAIT {
                return Err(ConnError::InputBudgetSpent {
                    held: *held,
                    waited,
                });
            }
            tokio::time::sleep(BUDGET_RETRY).await;
        }
    }

    /// Gives back what the last batch's commands held: they have run.
    fn release_executed(&mut self) {
        if let Some((budget, held)) = &mut self.budget {
            let still = self.read_buf.len().min(*held);
            budget.give(*held - still);
            *held = still;
        }
    }

    /// The output buffer: encode the batch's replies here with the
    /// `frame::write_*` functions, then call [`flush`](Self::flush).
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.write_buf
    }

    /// Sends everything in the output buffer with one write and empties it.
    pub(crate) async fn flush(&mut self) -> Result<(), ConnError> {
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf).await?;
            self.write_buf.clear();
            if self.write_buf.capacity() > SHRINK_ABOVE {
                self.write_buf = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        self.stream.flush().await?;
        Ok(())
    }

    /// Appends `-ERR Protocol error: <err>` after any replies already in the
    /// output buffer, sends them, and shuts the write side down: what a
    /// server does on a [`ConnError::Protocol`] (DESIGN §4).
    pub(crate) async fn close_with_protocol_error(
        &mut self,
        err: &ProtocolError,
    ) -> Result<(), ConnError> {
        write_protocol_error(&mut self.write_buf, err);
        self.flush().await?;
        self.stream.shutdown().await?;
        Ok(())
    }

    /// Sends pending replies and shuts the write side down (e.g. `QUIT`).
    pub(crate) async fn close(&mut self) -> Result<(), ConnError> {
        self.flush().await?;
        self.stream.shutdown().await?;
        Ok(())
    }
}

impl<S> Drop for Connection<S> {
    fn drop(&mut self) {
        if let Some((budget, held)) = &self.budget {
            budget.give(*held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{write_bulk, write_simple};
    use super::*;
    use tokio::io::{duplex, DuplexStream};

    fn conn(server: DuplexStream) -> Connection<DuplexStream> {
        Connection::new(server, FrameLimits::default(), None)
    }

    fn words(batch: &[Vec<Vec<u8>>]) -> Vec<Vec<&[u8]>> {
        batch
            .iter()
            .map(|c| c.iter().map(Vec::as_slice).collect())
            .collect()
    }

    /// One batch from `c` as owned arguments, `None` at a clean close.
    async fn read_batch<S: AsyncRead + AsyncWrite + Unpin>(
        c: &mut Connection<S>,
    ) -> Result<Option<Vec<Vec<Vec<u8>>>>, ConnError> {
        let mut batch = Batch::default();
        let more = c.read_batch_into(&mut batch).await?;
        let owned = batch
            .iter()
            .map(|args| args.iter().map(<[u8]>::to_vec).collect())
            .collect();
        Ok(more.then_some(owned))
    }

    #[tokio::test]
    async fn pipelined_burst_is_one_batch_and_replies_one_write() {
        let (mut client, server) = duplex(64 * 1024);
        let mut c = conn(server);
        let mut pipe = redis::pipe();
        pipe.cmd("PING")
            .cmd("PICK")
            .arg("p")
            .arg("447700900123")
            .cmd("ECHO")
            .arg("hi");
        client.write_all(&pipe.get_packed_pipeline()).await.unwrap();

        let batch = read_batch(&mut c).await.unwrap().unwrap();
        assert_eq!(
            words(&batch),
            vec![
                vec![&b"PING"[..]],
                vec![b"PICK", b"p", b"447700900123"],
                vec![b"ECHO", b"hi"],
            ]
        );
        write_simple(c.out(), "PONG");
        write_bulk(c.out(), b"447700900001");
        write_bulk(c.out(), b"hi");
        c.flush().await.unwrap();
        assert!(c.out().is_empty());

        let expected = b"+PONG\r\n$12\r\n447700900001\r\n$2\r\nhi\r\n";
        let mut got = vec![0u8; expected.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..], expected);
    }

    #[tokio::test]
    async fn waits_for_a_complete_command_across_writes() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        let reader = tokio::spawn(async move {
            let batch = read_batch(&mut c).await.unwrap().unwrap();
            (words(&batch).iter().map(|c| c.len()).collect::<Vec<_>>(), c)
        });
        for piece in [&b"*2\r\n$4\r"[..], b"\nECHO\r\n$5\r\nhel", b"lo\r\nPING"] {
            client.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (lens, mut c) = reader.await.unwrap();
        assert_eq!(lens, vec![2]);
        // The partial inline `PING` stays buffered until its newline.
        client.write_all(b"\r\n").await.unwrap();
        let batch = read_batch(&mut c).await.unwrap().unwrap();
        assert_eq!(words(&batch), vec![vec![&b"PING"[..]]]);
    }

    #[tokio::test]
    async fn clean_eof_is_none() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        client.write_all(b"PING\r\n").await.unwrap();
        drop(client);
        assert_eq!(read_batch(&mut c).await.unwrap().unwrap().len(), 1);
        assert!(read_batch(&mut c).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn eof_mid_command_is_an_error() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        client.write_all(b"*2\r\n$4\r\nECHO\r\n").await.unwrap();
        drop(client);
        match read_batch(&mut c).await {
            Err(ConnError::UnexpectedEof { buffered: 14 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn idle_timeout_fires_without_bytes() {
        let (_client, server) = duplex(1024);
        let mut c = Connection::new(
            server,
            FrameLimits::default(),
            Some(Duration::from_millis(30)),
        );
        match read_batch(&mut c).await {
            Err(ConnError::IdleTimeout(d)) => assert_eq!(d, Duration::from_millis(30)),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The idle timeout counts complete commands, not bytes (DESIGN §4): a client that trickles
    /// one command's bytes, each piece well within the timeout, is closed once the timeout has
    /// passed with no command complete (a slowloris). Time is paused, so timing is exact.
    #[tokio::test(start_paused = true)]
    async fn idle_timeout_counts_complete_commands_not_bytes() {
        let idle = Duration::from_millis(200);
        let (mut client, server) = duplex(1024);
        let mut c = Connection::new(server, FrameLimits::default(), Some(idle));
        let writer = tokio::spawn(async move {
            for piece in [&b"*2\r\n"[..], b"$4\r\nECHO", b"\r\n$2\r", b"\nhi\r\n"] {
                tokio::time::sleep(idle * 3 / 4).await;
                if client.write_all(piece).await.is_err() {
                    break;
                }
            }
        });
        let started = tokio::time::Instant::now();
        assert!(matches!(
            read_batch(&mut c).await,
            Err(ConnError::IdleTimeout(_))
        ));
        assert_eq!(
            started.elapsed(),
            idle,
            "closed one timeout after the last command"
        );
        drop(c);
        writer.await.unwrap();
    }

    /// Complete commands, each within the timeout, keep a connection open however long.
    #[tokio::test(start_paused = true)]
    async fn commands_within_the_idle_timeout_keep_the_connection() {
        let idle = Duration::from_millis(200);
        let (mut client, server) = duplex(1024);
        let mut c = Connection::new(server, FrameLimits::default(), Some(idle));
        for _ in 0..5 {
            tokio::time::sleep(idle * 3 / 4).await;
            client.write_all(b"PING\r\n").await.unwrap();
            assert_eq!(read_batch(&mut c).await.unwrap().unwrap().len(), 1);
        }
    }

    /// Until authenticated: one small command at a time, then the full limits; and the
    /// connection closes at its deadline whatever it sends.
    #[tokio::test(start_paused = true)]
    async fn before_auth_only_small_commands_until_the_deadline() {
        let small = FrameLimits {
            max_bulk_len: 4,
            max_args: 3,
            max_inline_len: 16,
        };
        let deadline = Duration::from_secs(1);
        let (mut client, server) = duplex(4096);
        let mut c = conn(server).unauthenticated(small, deadline);
        client
            .write_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$8\r\nbig-word\r\n")
            .await
            .unwrap();
        // One at a time: the second command is not yet judged...
        assert_eq!(
            words(&read_batch(&mut c).await.unwrap().unwrap()),
            vec![vec![&b"PING"[..]]]
        );
        // ...so that, once authenticated, the full limits apply to it.
        c.authenticated(FrameLimits::default());
        assert_eq!(
            words(&read_batch(&mut c).await.unwrap().unwrap()),
            vec![vec![&b"ECHO"[..], b"big-word"]]
        );

        let (mut client, server) = duplex(4096);
        let mut c = conn(server).unauthenticated(small, deadline);
        client
            .write_all(b"*2\r\n$4\r\nECHO\r\n$8\r\nbig-word\r\n")
            .await
            .unwrap();
        assert!(matches!(
            read_batch(&mut c).await,
            Err(ConnError::Protocol(_))
        ));

        let (mut client, server) = duplex(4096);
        let mut c = conn(server).unauthenticated(small, deadline);
        let started = tokio::time::Instant::now();
        let pinger = tokio::spawn(async move {
            while client.write_all(b"PING\r\n").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let closed = loop {
            match read_batch(&mut c).await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(closed, Err(ConnError::AuthDeadline(_))),
            "{closed:?}"
        );
        assert_eq!(started.elapsed(), deadline);
        drop(c);
        pinger.await.unwrap();
    }

    /// A spent budget holds a connection's reads back until another gives some back; the
    /// connection holding an unfinished command is closed after `BUDGET_WAIT`, which frees it.
    #[tokio::test(start_paused = true)]
    async fn a_spent_input_budget_waits_for_bytes_to_come_back() {
        let partial = b"*2\r\n$4\r\nECHO\r\n$5\r\nhel";
        let budget = Arc::new(InputBudget::new(partial.len()));
        let (mut first_client, first) = duplex(64 * 1024);
        let mut first = conn(first).with_budget(budget.clone());
        // Half a command: the first connection holds the whole budget.
        first_client.write_all(partial).await.unwrap();
        let started = Instant::now();
        let held = tokio::spawn(async move { (read_batch(&mut first).await, first) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(budget.left(), 0);
        let (mut second_client, second) = duplex(64 * 1024);
        let mut second = conn(second).with_budget(budget.clone());
        second_client.write_all(b"PING\r\n").await.unwrap();
        let waiting =
            tokio::time::timeout(Duration::from_millis(500), read_batch(&mut second)).await;
        assert!(
            waiting.is_err(),
            "no budget left: the second connection waits"
        );
        // The holder cannot finish its command without more budget: it gives up after
        // BUDGET_WAIT (it has no idle timeout here), and its bytes come back to the others.
        let (result, first) = held.await.unwrap();
        assert!(
            matches!(result, Err(ConnError::InputBudgetSpent { held, .. }) if held == partial.len()),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(first);
        assert_eq!(read_batch(&mut second).await.unwrap().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn commands_before_a_protocol_error_come_first() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        client
            .write_all(b"PING\r\nECHO a\r\n*1\r\n$x\r\nPING\r\n")
            .await
            .unwrap();
        let batch = read_batch(&mut c).await.unwrap().unwrap();
        assert_eq!(words(&batch), vec![vec![&b"PING"[..]], vec![b"ECHO", b"a"]]);
        write_simple(c.out(), "PONG");
        write_bulk(c.out(), b"a");
        let err = match read_batch(&mut c).await {
            Err(ConnError::Protocol(e)) => e,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(err, ProtocolError::InvalidBulkLength);
        // The error stays: the stream cannot be resynchronised.
        assert!(matches!(
            read_batch(&mut c).await,
            Err(ConnError::Protocol(_))
        ));

        c.close_with_protocol_error(&err).await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            &got[..],
            b"+PONG\r\n$1\r\na\r\n-ERR Protocol error: invalid bulk length\r\n"
        );
    }

    #[tokio::test]
    async fn oversized_bulk_is_refused_from_its_header() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        // The client announces 1 GB and sends nothing more: no waiting.
        client
            .write_all(b"*2\r\n$3\r\nSET\r\n$1073741824\r\n")
            .await
            .unwrap();
        match read_batch(&mut c).await {
            Err(ConnError::Protocol(ProtocolError::BulkTooLong { len, .. })) => {
                assert_eq!(len, 1 << 30)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(c.read_buf.len() < 64);
    }

    #[tokio::test]
    async fn too_many_args_is_refused_from_its_header() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        client.write_all(b"*100000\r\n").await.unwrap();
        assert!(matches!(
            read_batch(&mut c).await,
            Err(ConnError::Protocol(ProtocolError::TooManyArgs { .. }))
        ));
    }

    #[tokio::test]
    async fn largest_legal_command_fits_and_buffer_shrinks_after() {
        let limits = FrameLimits {
            max_bulk_len: 64 * 1024,
            max_args: 8,
            max_inline_len: 1024,
        };
        let (mut client, server) = duplex(256 * 1024);
        let mut c = Connection::new(server, limits, None);
        let big = vec![b'x'; 64 * 1024];
        let mut cmd = redis::cmd("SET");
        for _ in 0..7 {
            cmd.arg(&big[..]);
        }
        let packed = cmd.get_packed_command();
        assert!(packed.len() <= limits.max_frame_len());
        let writer = tokio::spawn(async move {
            client.write_all(&packed).await.unwrap();
            client
        });
        let batch = read_batch(&mut c).await.unwrap().unwrap();
        assert_eq!(batch[0].len(), 8);
        assert!(batch[0][1..].iter().all(|a| a.len() == 64 * 1024));
        assert!(c.read_buf.len() <= c.read_cap);
        drop(batch);
        let mut client = writer.await.unwrap();
        client.write_all(b"PING\r\n").await.unwrap();
        read_batch(&mut c).await.unwrap().unwrap();
        assert!(c.read_buf.capacity() <= SHRINK_ABOVE);
    }

    #[tokio::test]
    async fn read_batch_into_clears_the_batch_it_is_given() {
        let (mut client, server) = duplex(1024);
        let mut c = conn(server);
        let mut batch = Batch::default();
        client.write_all(b"PING\r\nPING\r\n").await.unwrap();
        assert!(c.read_batch_into(&mut batch).await.unwrap());
        assert_eq!(batch.len(), 2);
        client.write_all(b"PING\r\n").await.unwrap();
        assert!(c.read_batch_into(&mut batch).await.unwrap());
        assert_eq!(batch.len(), 1);
        drop(client);
        assert!(!c.read_batch_into(&mut batch).await.unwrap());
        assert!(batch.is_empty());
    }

    /// A real `redis` client against a minimal server built on `Connection`.
    #[tokio::test]
    async fn real_redis_client_round_trip() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let mut c =
                Connection::new(sock, FrameLimits::default(), Some(Duration::from_secs(10)));
            let mut batch = Batch::default();
            while c.read_batch_into(&mut batch).await.unwrap() {
                for cmd in batch.iter() {
                    let name = super::super::parse::ArgCursor::new(cmd);
                    match name.command_name() {
                        "ping" => write_simple(c.out(), "PONG"),
                        "echo" => write_bulk(c.out(), cmd.get(1).unwrap()),
                        "client" => write_simple(c.out(), "OK"),
                        _ => super::super::frame::write_error(c.out(), "ERR unknown command"),
                    }
                }
                c.flush().await.unwrap();
            }
        });

        let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
        let (a, b, c): (String, String, String) = redis::pipe()
            .cmd("ECHO")
            .arg("a")
            .cmd("ECHO")
            .arg("b\r\nc")
            .cmd("ECHO")
            .arg("")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!((a.as_str(), b.as_str(), c.as_str()), ("a", "b\r\nc", ""));
        drop(con);
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
    }
}
