//! The sidecar's commands (DESIGN §4), one file each: how to parse its arguments and what it
//! does. [`Request::parse`] turns one request into a command or the error reply it deserves;
//! each command's `apply` sees the engine (and the account, for [`AccountCommand`]s) and the
//! output, and returns an [`Outcome`] for the session to act on.

mod auth;
mod client;
mod hello;
mod info;
pub(crate) mod pick;
mod ping;
mod quit;
mod sticky_del;
mod sticky_get;

use bytes::{Bytes, BytesMut};

pub(crate) use auth::Auth;
pub(crate) use client::Client;
pub(crate) use hello::Hello;
pub(crate) use info::Info;
pub(crate) use pick::Pick;
pub(crate) use ping::Ping;
pub(crate) use quit::Quit;
pub(crate) use sticky_del::StickyDel;
pub(crate) use sticky_get::StickyGet;

use super::frame::{write_bulk, write_error, write_error_fmt};
use super::parse::{ArgCursor, ParseError};
use crate::engine::{AccountHandle, Engine, EngineError};
use numpool_core::model::Msisdn;

/// A command allowed before `AUTH`: the handshake and liveness commands clients send first.
pub(crate) enum Handshake<'a> {
    /// `PING [msg]`.
    Ping(Ping<'a>),
    /// `AUTH <key> <secret>`.
    Auth(Auth<'a>),
    /// `HELLO [proto [AUTH key secret] [SETNAME name]]`.
    Hello(Hello<'a>),
    /// `CLIENT …`.
    Client(Client),
    /// `QUIT`.
    Quit(Quit),
}

/// A command that acts for the connection's account. `PICK` is not one of them: the session
/// batches consecutive picks ([`pick::apply_batch`]).
pub(crate) enum AccountCommand<'a> {
    /// `STICKY.GET <pool> <to>`.
    StickyGet(StickyGet<'a>),
    /// `STICKY.DEL <pool> <to>`.
    StickyDel(StickyDel<'a>),
    /// `INFO [section]`.
    Info(Info),
}

/// One parsed request of an authenticated connection.
pub(crate) enum Request<'a> {
    /// A handshake command.
    Handshake(Handshake<'a>),
    /// `PICK …`: the hot path, batched.
    Pick(Pick<'a>),
    /// Any other command.
    Account(AccountCommand<'a>),
}

/// What an account command runs with: the engine, and the account the connection acts for.
pub(crate) struct Ctx<'a> {
    /// The engine the command calls.
    pub(crate) engine: &'a Engine,
    /// The connection's account: every call the command makes is scoped to it.
    pub(crate) account: &'a AccountHandle,
}

/// What a command asks of its connection once its reply is written: the command returns it
/// and the session acts on it, so no command touches the session.
pub(crate) enum Outcome {
    /// Go on reading.
    Continue,
    /// From now on the connection acts for this account (`AUTH`, `HELLO … AUTH`).
    Bind(AccountHandle),
    /// Flush the replies and close (`QUIT`).
    Close,
}

/// A request that cannot run, with the reply that says why.
pub(crate) enum CommandError<'a> {
    /// Wrong arity, bad UTF-8, syntax.
    Parse(ParseError),
    /// No such command.
    Unknown(&'a [u8]),
    /// The recipient is not an E.164 number.
    InvalidRecipient(&'a str),
}

impl From<ParseError> for CommandError<'_> {
    fn from(err: ParseError) -> Self {
        CommandError::Parse(err)
    }
}

impl CommandError<'_> {
    /// Writes the error reply.
    pub(crate) fn write_reply(&self, out: &mut BytesMut) {
        match self {
            CommandError::Parse(err) => err.write_reply(out),
            CommandError::Unknown(name) => write_error_fmt(
                out,
                format_args!("ERR unknown command '{}'", String::from_utf8_lossy(name)),
            ),
            CommandError::InvalidRecipient(to) => write_invalid_recipient(out, to),
        }
    }
}

/// `-ERR invalid recipient '<to>'`, shared by every command that takes a recipient.
pub(crate) fn write_invalid_recipient(out: &mut BytesMut, to: &str) {
    write_error_fmt(out, format_args!("ERR invalid recipient '{to}'"));
}

/// A number as a bulk string, its digits formatted on the stack: no `String` per reply on the
/// hot path.
pub(crate) fn write_number(out: &mut BytesMut, number: Msisdn) {
    write_bulk(out, itoa::Buffer::new().format(number.get()).as_bytes());
}

/// `-NOPOOL pool '<id>' not found`.
pub(crate) fn write_no_pool(out: &mut BytesMut, pool: &str) {
    write_error_fmt(out, format_args!("NOPOOL pool '{pool}' not found"));
}

/// The reply to an engine call that failed: each failure its own error code.
pub(crate) fn write_engine_error(out: &mut BytesMut, err: &EngineError) {
    match err {
        EngineError::NoSuchPool(pool) => write_no_pool(out, pool),
        EngineError::Unavailable(_) => write_unavailable(out),
        EngineError::Storage(why) => write_error_fmt(out, format_args!("ERR STORAGE {why}")),
        other => write_error_fmt(out, format_args!("ERR {other}")),
    }
}

/// A pool whose actor did not answer (the engine is stopping): the client may retry.
pub(crate) fn write_unavailable(out: &mut BytesMut) {
    write_error(out, "ERR pool unavailable, retry");
}

/// The reply to anything but a [`Handshake`] command before `AUTH`: unknown commands included
/// (as in Redis, an unauthenticated client learns nothing).
pub(crate) fn write_noauth(out: &mut BytesMut) {
    write_error(out, "NOAUTH Authentication required.");
}

impl<'a> Handshake<'a> {
    /// Parses a handshake command; `None` when the request is some other command.
    pub(crate) fn parse(args: &'a [Bytes]) -> Option<Result<Self, CommandError<'a>>> {
        let mut cursor = ArgCursor::new(args);
        let parsed = match cursor.command_name() {
            "ping" => Ping::parse(&mut cursor).map(Handshake::Ping),
            "auth" => Auth::parse(&mut cursor).map(Handshake::Auth),
            "hello" => Hello::parse(&mut cursor).map(Handshake::Hello),
            "client" => Client::parse(&mut cursor).map(Handshake::Client),
            "quit" => Quit::parse(&mut cursor).map(Handshake::Quit),
            _ => return None,
        };
        Some(parsed.map_err(CommandError::from))
    }

    /// Runs the command; `AUTH` and `HELLO … AUTH` may bind an account, `QUIT` closes.
    pub(crate) fn apply(self, engine: &Engine, out: &mut BytesMut) -> Outcome {
        match self {
            Handshake::Ping(ping) => ping.apply(out),
            Handshake::Auth(auth) => auth.apply(engine, out),
            Handshake::Hello(hello) => hello.apply(engine, out),
            Handshake::Client(client) => client.apply(out),
            Handshake::Quit(quit) => quit.apply(out),
        }
    }
}

impl<'a> Request<'a> {
    /// Parses one request's arguments (the command name first).
    pub(crate) fn parse(args: &'a [Bytes]) -> Result<Self, CommandError<'a>> {
        if let Some(handshake) = Handshake::parse(args) {
            return handshake.map(Request::Handshake);
        }
        let mut cursor = ArgCursor::new(args);
        let command = match cursor.command_name() {
            "pick" => return Ok(Request::Pick(Pick::parse(&mut cursor)?)),
            "sticky.get" => {
                AccountCommand::StickyGet(StickyGet(PoolRecipient::parse(&mut cursor)?))
            }
            "sticky.del" => {
                AccountCommand::StickyDel(StickyDel(PoolRecipient::parse(&mut cursor)?))
            }
            "info" => AccountCommand::Info(Info::parse(&mut cursor)?),
            _ => return Err(CommandError::Unknown(cursor.raw_command_name())),
        };
        Ok(Request::Account(command))
    }
}

impl AccountCommand<'_> {
    /// Runs the command for `ctx`'s account.
    pub(crate) async fn apply(self, ctx: &Ctx<'_>, out: &mut BytesMut) -> Outcome {
        match self {
            AccountCommand::StickyGet(get) => get.apply(ctx, out).await,
            AccountCommand::StickyDel(del) => del.apply(ctx, out).await,
            AccountCommand::Info(info) => info.apply(ctx, out).await,
        }
    }
}

/// The `<pool_id> <to>` arguments shared by the sticky commands.
pub(crate) struct PoolRecipient<'a> {
    /// The pool.
    pub(crate) pool: &'a str,
    /// The recipient.
    pub(crate) to: Msisdn,
}

impl<'a> PoolRecipient<'a> {
    fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, CommandError<'a>> {
        let pool = cursor.next_str()?;
        let to_text = cursor.next_str()?;
        cursor.finish()?;
        let to = parse_recipient(to_text)?;
        Ok(PoolRecipient { pool, to })
    }
}

/// Parses a recipient argument, or the invalid-recipient error.
fn parse_recipient(text: &str) -> Result<Msisdn, CommandError<'_>> {
    Msisdn::parse(text).map_err(|_| CommandError::InvalidRecipient(text))
}
