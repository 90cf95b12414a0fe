//! One connection's state and the execution of a batch of requests in order. Consecutive
//! `PICK`s are collected into one engine call (one actor message per pool), which is what
//! makes pipelining pay (DESIGN §3.3).

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::cmd::{self, Command};
use crate::actors::messages::PickJob;
use crate::engine::Engine;
use numpool_core::model::AccountId;

/// Per-connection state.
pub(crate) struct Session {
    /// The account the connection acts for: set by `AUTH`, or fixed by `--sidecar-account`.
    pub(crate) account: Option<AccountId>,
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
    commands: Vec<cmd::Pick<'a>>,
    /// When the first was parsed: latency is measured from there.
    since: Instant,
}

impl Session {
    /// Runs `batch` (parsed requests in arrival order), writing one reply per request to `out`.
    pub async fn execute(
        &mut self,
        engine: &Engine,
        batch: &[Vec<Bytes>],
        out: &mut BytesMut,
    ) -> After {
        let mut pending: Option<PendingPicks<'_>> = None;
        for args in batch {
            if self.account.is_none() && cmd::needs_auth(args) {
                self.flush_picks(engine, pending.take(), out).await;
                cmd::write_noauth(out);
                continue;
            }
            let command = match Command::parse(args) {
                Ok(command) => command,
                Err(err) => {
                    self.flush_picks(engine, pending.take(), out).await;
                    err.write_reply(out);
                    continue;
                }
            };
            if let Command::Pick(pick) = command {
                pending
                    .get_or_insert_with(|| PendingPicks {
                        commands: Vec::new(),
                        since: Instant::now(),
                    })
                    .commands
                    .push(pick);
                continue;
            }
            self.flush_picks(engine, pending.take(), out).await;
            if self.run(engine, command, out).await == After::Close {
                return After::Close;
            }
        }
        self.flush_picks(engine, pending.take(), out).await;
        After::Continue
    }

    /// Sends the pending picks in one engine call and writes their replies in order.
    async fn flush_picks(
        &self,
        engine: &Engine,
        pending: Option<PendingPicks<'_>>,
        out: &mut BytesMut,
    ) {
        let (Some(pending), Some(account)) = (pending, &self.account) else {
            return;
        };
        let jobs: Vec<(&str, PickJob)> =
            pending.commands.iter().map(|p| (p.pool, p.job())).collect();
        match engine.pick_batch(account.as_str(), jobs).await {
            Ok(results) => {
                for (pick, result) in pending.commands.iter().zip(&results) {
                    pick.write_reply(result, out);
                }
            }
            // The account was authenticated, so it exists; this cannot happen, but a reply per
            // request is owed whatever happens.
            Err(err) => {
                for _ in &pending.commands {
                    crate::resp::frame::write_error_fmt(out, format_args!("ERR {err}"));
                }
            }
        }
        engine
            .metrics()
            .record_picks(pending.since.elapsed(), pending.commands.len() as u64);
    }

    /// Any command but a batched `PICK`. Commands that need an account only get here with one.
    async fn run(&mut self, engine: &Engine, command: Command<'_>, out: &mut BytesMut) -> After {
        let account = self.account.clone();
        match (command, account) {
            (Command::Ping(ping), _) => ping.apply(out),
            (Command::Auth(auth), _) => auth.apply(engine, self, out),
            (Command::Hello(hello), _) => hello.apply(engine, self, out),
            (Command::Client(client), _) => client.apply(out),
            (Command::Quit(quit), _) => {
                quit.apply(out);
                return After::Close;
            }
            (Command::StickyGet(get), Some(account)) => get.apply(engine, &account, out).await,
            (Command::StickyDel(del), Some(account)) => del.apply(engine, &account, out).await,
            (Command::Info(info), Some(_)) => info.apply(engine, out).await,
            // `execute` batches picks; a lone one is a batch of one.
            (Command::Pick(pick), Some(_)) => {
                let single = PendingPicks {
                    commands: vec![pick],
                    since: Instant::now(),
                };
                self.flush_picks(engine, Some(single), out).await
            }
            (
                Command::Pick(_) | Command::StickyGet(_) | Command::StickyDel(_) | Command::Info(_),
                None,
            ) => cmd::write_noauth(out),
        }
        After::Continue
    }
}
