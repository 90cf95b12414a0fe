//! The sidecar's commands (DESIGN §4), one file each: how to parse its arguments and what it
//! does. [`Request::parse`] turns one request into a command or the error reply it deserves;
//! each command's `apply` sees the engine (and the account, for [`AccountCommand`]s) and the
//! output, and returns an [`Outcome`] for the session to act on.

mod auth;
mod client;
mod command;
mod echo;
mod hello;
mod info;
mod optout;
pub mod pick;
mod ping;
mod quit;
pub(crate) mod report;
mod resolve;
mod select;
mod sticky_del;
mod sticky_get;

use auth::Auth;
use client::Client;
use command::Command;
use echo::Echo;
use hello::Hello;
use info::Info;
use optout::{OptOutCommand, OptOutVerb};
pub(crate) use pick::Pick;
use ping::Ping;
use quit::Quit;
use report::Report;
use resolve::Resolve;
use select::Select;
use sticky_del::StickyDel;
use sticky_get::StickyGet;

use super::batch::Args;
use super::parse::{ArgCursor, ParseError};
use super::reply::Reply;
use crate::durability::StorageFailure;
use crate::engine::{AccountHandle, Engine, EngineError};
use crate::throttle::AuthThrottle;
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
    Client(Client<'a>),
    /// `QUIT`.
    Quit(Quit),
}

/// A command that acts for the connection's account. `PICK` is not one of them: the session
/// batches consecutive picks ([`pick::run_batch`]), and runs `REPORT`s among them.
pub(crate) enum AccountCommand<'a> {
    /// `STICKY.GET <pool> <to>`.
    StickyGet(StickyGet<'a>),
    /// `STICKY.DEL <pool> <to>`.
    StickyDel(StickyDel<'a>),
    /// `INFO [section …]`.
    Info(Info),
    /// `ECHO <msg>`.
    Echo(Echo<'a>),
    /// `SELECT <db>`.
    Select(Select),
    /// `COMMAND …`.
    Command(Command<'a>),
    /// `RESOLVE <our_number> <their_number>`.
    Resolve(Resolve),
    /// `OPTOUT.ADD|DEL|GET <pool> <to>`.
    OptOut(OptOutCommand<'a>),
}

/// One parsed request of an authenticated connection.
pub(crate) enum Request<'a> {
    /// A handshake command.
    Handshake(Handshake<'a>),
    /// `PICK …`: the hot path, batched.
    Pick(Pick<'a>),
    /// `REPORT <sender> <to> <outcome> [ERRCODE <n>]`: run at once, even among pending picks,
    /// and answered in its place.
    Report(Report<'a>),
    /// Any other command.
    Account(AccountCommand<'a>),
}

/// What commands may know of their connection: facts the session keeps, read-only here.
#[derive(Debug)]
pub(crate) struct ClientInfo {
    /// The connection's id, unique in the process (`CLIENT ID`, `HELLO`).
    pub(crate) id: u64,
    /// The name `CLIENT SETNAME` or `HELLO … SETNAME` gave it.
    pub(crate) name: Option<String>,
    /// Where it comes from: what a failed `AUTH` is logged with and delays.
    pub(crate) peer: std::net::SocketAddr,
}

/// What a handshake command runs with.
pub(crate) struct Ctx<'a> {
    /// The engine, for credentials.
    pub(crate) engine: &'a Engine,
    /// The connection it runs on.
    pub(crate) client: &'a ClientInfo,
    /// What a failed `AUTH` costs the connection's address: its next attempt waits its turn.
    pub(crate) throttle: &'a AuthThrottle,
}

/// What every other command runs with: the engine and the account the connection acts for.
pub(crate) struct AccountCtx<'a> {
    /// The engine the command calls.
    pub(crate) engine: &'a Engine,
    /// The connection's account: every call the command makes is scoped to it.
    pub(crate) account: &'a AccountHandle,
}

/// What a command asks of its connection once its reply is written: the command returns it
/// and the session acts on it, so no command touches the session. (The protocol version is
/// the reply encoder's: `HELLO` switches it as it writes its reply.)
pub(crate) enum Outcome {
    /// Go on reading.
    Continue,
    /// From now on the connection acts for this account (`AUTH`).
    Bind(AccountHandle),
    /// The connection's new name (`CLIENT SETNAME`).
    Name(String),
    /// `HELLO`'s changes: an account from its `AUTH`, a name from its `SETNAME`.
    Hello {
        /// The account to act for, if `AUTH` was given.
        account: Option<AccountHandle>,
        /// The new name, if `SETNAME` was given.
        name: Option<String>,
    },
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
    /// One of the account's numbers, as a command names it, is not an E.164 number.
    InvalidSender(&'a str),
}

impl From<ParseError> for CommandError<'_> {
    fn from(err: ParseError) -> Self {
        CommandError::Parse(err)
    }
}

impl CommandError<'_> {
    /// Writes the error reply.
    pub(crate) fn write_reply(&self, out: &mut Reply<'_>) {
        match self {
            CommandError::Parse(err) => err.write_reply(out),
            CommandError::Unknown(name) => out.error_fmt(format_args!(
                "ERR unknown command '{}'",
                String::from_utf8_lossy(name)
            )),
            CommandError::InvalidRecipient(to) => write_invalid_recipient(out, to),
            CommandError::InvalidSender(sender) => {
                out.error_fmt(format_args!("ERR invalid sender '{sender}'"))
            }
        }
    }
}

/// `-ERR invalid recipient '<to>'`, shared by every command that takes a recipient.
pub(crate) fn write_invalid_recipient(out: &mut Reply<'_>, to: &str) {
    out.error_fmt(format_args!("ERR invalid recipient '{to}'"));
}

/// A number as a bulk string, its digits formatted on the stack: no `String` per reply on the
/// hot path.
pub(crate) fn write_number(out: &mut Reply<'_>, number: Msisdn) {
    out.bulk(itoa::Buffer::new().format(number.get()).as_bytes());
}

/// `-NOPOOL pool '<id>' not found`.
pub(crate) fn write_no_pool(out: &mut Reply<'_>, pool: &str) {
    out.error_fmt(format_args!("NOPOOL pool '{pool}' not found"));
}

/// The reply to an engine call that failed: each failure its own error code.
pub(crate) fn write_engine_error(out: &mut Reply<'_>, err: &EngineError) {
    match err {
        EngineError::NoSuchPool(pool) => write_no_pool(out, pool),
        EngineError::Unavailable(_) => write_unavailable(out),
        EngineError::Storage(why) => write_storage(out, why),
        EngineError::ClusterUnavailable => write_try_again(out),
        EngineError::Conflict => {
            out.error("CONFLICT a concurrent change to the account came first, retry")
        }
        other => out.error_fmt(format_args!("ERR {other}")),
    }
}

/// `-ERR STORAGE <why>`: the change (or the pick's new mapping) could not be stored, so it was
/// not made (DESIGN §6).
pub(crate) fn write_storage(out: &mut Reply<'_>, why: &StorageFailure) {
    out.error_fmt(format_args!("ERR STORAGE {}", why.reason()));
}

/// `-TRYAGAIN` (Redis Cluster's code for "retry later"): cluster mode, and JetStream did not
/// answer, so nothing was made (DESIGN §10).
pub(crate) fn write_try_again(out: &mut Reply<'_>) {
    out.error("TRYAGAIN the cluster is unavailable, retry");
}

/// A pool whose actor did not answer (the engine is stopping): the client may retry.
pub(crate) fn write_unavailable(out: &mut Reply<'_>) {
    out.error("ERR pool unavailable, retry");
}

/// The reply to anything but a [`Handshake`] command before `AUTH`: unknown commands included
/// (as in Redis, an unauthenticated client learns nothing).
pub(crate) fn write_noauth(out: &mut Reply<'_>) {
    out.error("NOAUTH Authentication required.");
}

impl<'a> Handshake<'a> {
    /// Parses a handshake command; `None` when the request is some other command.
    pub(crate) fn parse(args: Args<'a>) -> Option<Result<Self, CommandError<'a>>> {
        Handshake::parse_at(&mut ArgCursor::new(args))
    }

    /// [`Handshake::parse`] on a cursor already made, so a request's name is read once.
    fn parse_at(cursor: &mut ArgCursor<'a>) -> Option<Result<Self, CommandError<'a>>> {
        let parsed = match cursor.command_name() {
            "ping" => Ping::parse(cursor).map(Handshake::Ping),
            "auth" => Auth::parse(cursor).map(Handshake::Auth),
            "hello" => Hello::parse(cursor).map(Handshake::Hello),
            "client" => Client::parse(cursor).map(Handshake::Client),
            "quit" => Quit::parse(cursor).map(Handshake::Quit),
            _ => return None,
        };
        Some(parsed.map_err(CommandError::from))
    }

    /// Runs the command; `AUTH` and `HELLO … AUTH` may bind an account (after the address's
    /// turn, if an earlier attempt failed), `QUIT` closes.
    pub(crate) async fn apply(self, ctx: &Ctx<'_>, out: &mut Reply<'_>) -> Outcome {
        match self {
            Handshake::Ping(ping) => ping.apply(out),
            Handshake::Auth(auth) => auth.apply(ctx, out).await,
            Handshake::Hello(hello) => hello.apply(ctx, out).await,
            Handshake::Client(client) => client.apply(ctx, out),
            Handshake::Quit(quit) => quit.apply(out),
        }
    }
}

impl<'a> Request<'a> {
    /// Parses one request's arguments (the command name first).
    pub(crate) fn parse(args: Args<'a>) -> Result<Self, CommandError<'a>> {
        let mut cursor = ArgCursor::new(args);
        // The hot path first: one name comparison before a PICK is parsed.
        if cursor.command_name() == "pick" {
            return Ok(Request::Pick(Pick::parse(&mut cursor)?));
        }
        if cursor.command_name() == "report" {
            return Ok(Request::Report(Report::parse(&mut cursor)?));
        }
        if let Some(handshake) = Handshake::parse_at(&mut cursor) {
            return handshake.map(Request::Handshake);
        }
        let command = match cursor.command_name() {
            "sticky.get" => {
                AccountCommand::StickyGet(StickyGet(PoolRecipient::parse(&mut cursor)?))
            }
            "sticky.del" => {
                AccountCommand::StickyDel(StickyDel(PoolRecipient::parse(&mut cursor)?))
            }
            "info" => AccountCommand::Info(Info::parse(&mut cursor)?),
            "echo" => AccountCommand::Echo(Echo::parse(&mut cursor)?),
            "select" => AccountCommand::Select(Select::parse(&mut cursor)?),
            "command" => AccountCommand::Command(Command::parse(&mut cursor)?),
            "resolve" => AccountCommand::Resolve(Resolve::parse(&mut cursor)?),
            name @ ("optout.add" | "optout.del" | "optout.get") => {
                let verb = match name {
                    "optout.add" => OptOutVerb::Add,
                    "optout.del" => OptOutVerb::Del,
                    _ => OptOutVerb::Get,
                };
                let target = PoolRecipient::parse(&mut cursor)?;
                AccountCommand::OptOut(OptOutCommand { verb, target })
            }
            _ => return Err(CommandError::Unknown(cursor.raw_command_name())),
        };
        Ok(Request::Account(command))
    }
}

impl AccountCommand<'_> {
    /// Runs the command for `ctx`'s account.
    pub(crate) async fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        match self {
            AccountCommand::StickyGet(get) => get.apply(ctx, out).await,
            AccountCommand::StickyDel(del) => del.apply(ctx, out).await,
            AccountCommand::Info(info) => info.apply(ctx, out),
            AccountCommand::Echo(echo) => echo.apply(out),
            AccountCommand::Select(select) => select.apply(out),
            AccountCommand::Command(command) => command.apply(out),
            AccountCommand::Resolve(resolve) => resolve.apply(ctx, out).await,
            AccountCommand::OptOut(command) => command.apply(ctx, out).await,
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
