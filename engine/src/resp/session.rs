//! One connection's state and the execution of a batch of requests in order. Consecutive
//! `PICK`s are collected into one engine call (one actor message per pool), which is what
//! makes pipelining pay (DESIGN §3.3); a `REPORT` among them runs at once and does not end
//! the run, so receipts pipelined with picks keep their batching. Every reply is written in
//! its request's place. Commands never see the session: each returns an [`Outcome`] and the
//! session acts on it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::batch::Batch;
use super::cmd::report::ReportAnswer;
use super::cmd::{self, AccountCtx, ClientInfo, Ctx, Handshake, Outcome, Pick, Request};
use super::reply::{Protocol, Reply};
use crate::engine::{AccountHandle, Engine};
use crate::throttle::AuthThrottle;

/// Connection ids: unique in the process, as `CLIENT ID` promises.
static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-connection state.
pub(crate) struct Session {
    /// The account the connection acts for: bound by `AUTH`/`HELLO … AUTH`, or fixed by
    /// `--sidecar-account`. Until then only [`Handshake`] commands run.
    account: Option<AccountHandle>,
    /// The protocol its replies are written in: RESP2 until `HELLO 3`.
    protocol: Protocol,
    /// Its id and name, which commands may read.
    client: ClientInfo,
    /// What a failed `AUTH` costs its client address.
    throttle: Arc<AuthThrottle>,
}

/// What the connection should do after a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Keep reading.
    Continue,
    /// Flush and close (`QUIT`).
    Close,
}

/// Picks waiting to be sent to the engine together.
struct PendingPicks<'a> {
    /// The parsed commands, for their replies.
    commands: Vec<Pick<'a>>,
    /// `REPORT`s read among them, already run, each with how many of the picks came before
    /// it: their replies go in between.
    reports: Vec<(usize, ReportAnswer<'a>)>,
    /// When the first was parsed: latency is measured from there.
    since: Instant,
}

impl Session {
    /// A new connection's session, acting for `account` from the start if the listener is
    /// bound to one; `AUTH`s go through `throttle`.
    pub(crate) fn new(
        account: Option<AccountHandle>,
        peer: SocketAddr,
        throttle: Arc<AuthThrottle>,
    ) -> Self {
        Session {
            account,
            protocol: Protocol::default(),
            client: ClientInfo {
                id: NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed),
                name: None,
                peer,
            },
            throttle,
        }
    }

    /// Whether the connection acts for an account.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.account.is_some()
    }

    /// Runs `batch` (parsed requests in arrival order), writing one reply per request to `out`.
    pub(crate) async fn execute(
        &mut self,
        engine: &Engine,
        batch: &Batch,
        out: &mut BytesMut,
    ) -> After {
        let mut out = Reply::new(out, self.protocol);
        let after = self.run(engine, batch, &mut out).await;
        self.protocol = out.protocol();
        after
    }

    async fn run(&mut self, engine: &Engine, batch: &Batch, out: &mut Reply<'_>) -> After {
        let mut pending: Option<PendingPicks<'_>> = None;
        for args in batch.iter() {
            let ctx = Ctx {
                engine,
                client: &self.client,
                throttle: &self.throttle,
            };
            let Some(account) = &self.account else {
                // Before AUTH only the handshake runs; anything else, unknown commands
                // included, learns nothing but NOAUTH.
                let outcome = match Handshake::parse(args) {
                    Some(Ok(handshake)) => handshake.apply(&ctx, out).await,
                    Some(Err(err)) => {
                        err.write_reply(out);
                        Outcome::Continue
                    }
                    None => {
                        cmd::write_noauth(out);
                        Outcome::Continue
                    }
                };
                if self.act_on(outcome) == After::Close {
                    return After::Close;
                }
                continue;
            };
            let account_ctx = AccountCtx { engine, account };
            let outcome = match Request::parse(args) {
                Ok(Request::Pick(pick)) => {
                    pending
                        .get_or_insert_with(|| PendingPicks {
                            // Sized for the rest of the burst: one allocation per run of
                            // picks, however long.
                            commands: Vec::with_capacity(batch.len()),
                            reports: Vec::new(),
                            since: Instant::now(),
                        })
                        .commands
                        .push(pick);
                    continue;
                }
                // A receipt runs now, before the picks read ahead of it are sent: they may see
                // it, as if it had come a moment earlier (docs/decisions.md).
                Ok(Request::Report(report)) => {
                    let answer = report.run(&account_ctx).await;
                    match &mut pending {
                        Some(run) => run.reports.push((run.commands.len(), answer)),
                        None => answer.write_reply(out),
                    }
                    continue;
                }
                // Anything else ends the run of picks: they are answered first, in order.
                Ok(Request::Handshake(handshake)) => {
                    flush_picks(&account_ctx, pending.take(), out).await;
                    handshake.apply(&ctx, out).await
                }
                Ok(Request::Account(command)) => {
                    flush_picks(&account_ctx, pending.take(), out).await;
                    command.apply(&account_ctx, out).await
                }
                Err(err) => {
                    flush_picks(&account_ctx, pending.take(), out).await;
                    err.write_reply(out);
                    Outcome::Continue
                }
            };
            if self.act_on(outcome) == After::Close {
                return After::Close;
            }
        }
        if let Some(account) = &self.account {
            flush_picks(&AccountCtx { engine, account }, pending.take(), out).await;
        }
        After::Continue
    }

    /// Applies a command's outcome to the connection.
    fn act_on(&mut self, outcome: Outcome) -> After {
        match outcome {
            Outcome::Continue => {}
            Outcome::Bind(account) => self.account = Some(account),
            Outcome::Name(name) => self.client.name = Some(name),
            Outcome::Hello { account, name } => {
                if account.is_some() {
                    self.account = account;
                }
                if name.is_some() {
                    self.client.name = name;
                }
            }
            Outcome::Close => return After::Close,
        }
        After::Continue
    }
}

/// Sends the pending picks in one engine call and writes their replies, and those of the
/// `REPORT`s among them, in order.
async fn flush_picks(ctx: &AccountCtx<'_>, pending: Option<PendingPicks<'_>>, out: &mut Reply<'_>) {
    let Some(pending) = pending else { return };
    let results = cmd::pick::run_batch(&pending.commands, pending.since, ctx).await;
    let mut reports = pending.reports.into_iter().peekable();
    for (i, (pick, result)) in pending.commands.iter().zip(&results).enumerate() {
        while let Some((_, answer)) = reports.next_if(|(before, _)| *before == i) {
            answer.write_reply(out);
        }
        pick.write_reply(result, out);
    }
    reports.for_each(|(_, answer)| answer.write_reply(out));
}
