//! One connection's state and the execution of a batch of requests in order. Consecutive
//! `PICK`s are collected into one engine call (one actor message per pool), which is what
//! makes pipelining pay (DESIGN §3.3). Commands never see the session: each returns an
//! [`Outcome`] and the session acts on it.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::cmd::{self, Ctx, Handshake, Outcome, Pick, Request};
use crate::engine::{AccountHandle, Engine};

/// Per-connection state.
pub(crate) struct Session {
    /// The account the connection acts for: bound by `AUTH`/`HELLO … AUTH`, or fixed by
    /// `--sidecar-account`. Until then only [`Handshake`] commands run.
    pub(crate) account: Option<AccountHandle>,
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
    /// When the first was parsed: latency is measured from there.
    since: Instant,
}

impl Session {
    /// Runs `batch` (parsed requests in arrival order), writing one reply per request to `out`.
    pub(crate) async fn execute(
        &mut self,
        engine: &Engine,
        batch: &[Vec<Bytes>],
        out: &mut BytesMut,
    ) -> After {
        let mut pending: Option<PendingPicks<'_>> = None;
        for args in batch {
            let Some(account) = &self.account else {
                // Before AUTH only the handshake runs; anything else, unknown commands
                // included, learns nothing but NOAUTH.
                match Handshake::parse(args) {
                    Some(Ok(handshake)) => {
                        let outcome = handshake.apply(engine, out);
                        if self.act_on(outcome) == After::Close {
                            return After::Close;
                        }
                    }
                    Some(Err(err)) => err.write_reply(out),
                    None => cmd::write_noauth(out),
                }
                continue;
            };
            let ctx = Ctx { engine, account };
            let outcome = match Request::parse(args) {
                Ok(Request::Pick(pick)) => {
                    pending
                        .get_or_insert_with(|| PendingPicks {
                            commands: Vec::new(),
                            since: Instant::now(),
                        })
                        .commands
                        .push(pick);
                    continue;
                }
                // Anything else ends the run of picks: they are answered first, in order.
                Ok(Request::Handshake(handshake)) => {
                    flush_picks(&ctx, pending.take(), out).await;
                    handshake.apply(engine, out)
                }
                Ok(Request::Account(command)) => {
                    flush_picks(&ctx, pending.take(), out).await;
                    command.apply(&ctx, out).await
                }
                Err(err) => {
                    flush_picks(&ctx, pending.take(), out).await;
                    err.write_reply(out);
                    Outcome::Continue
                }
            };
            if self.act_on(outcome) == After::Close {
                return After::Close;
            }
        }
        if let Some(account) = &self.account {
            flush_picks(&Ctx { engine, account }, pending.take(), out).await;
        }
        After::Continue
    }

    /// Applies a command's outcome to the connection.
    fn act_on(&mut self, outcome: Outcome) -> After {
        match outcome {
            Outcome::Continue => After::Continue,
            Outcome::Bind(account) => {
                self.account = Some(account);
                After::Continue
            }
            Outcome::Close => After::Close,
        }
    }
}

/// Sends the pending picks in one engine call and writes their replies in order.
async fn flush_picks(ctx: &Ctx<'_>, pending: Option<PendingPicks<'_>>, out: &mut BytesMut) {
    if let Some(pending) = pending {
        cmd::pick::apply_batch(&pending.commands, pending.since, ctx, out).await;
    }
}
