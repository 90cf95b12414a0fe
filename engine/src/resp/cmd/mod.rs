//! The sidecar's commands (DESIGN §4), one file each: how to parse its arguments and what it
//! does. [`Command::parse`] turns one request into a command or the error reply it deserves.

mod auth;
mod client;
mod hello;
mod info;
mod pick;
mod ping;
mod quit;
mod sticky_del;
mod sticky_get;

use bytes::{Bytes, BytesMut};

pub(crate) use auth::Auth;
pub(crate) use client::Client;
pub(crate) use hello::Hello;
pub(crate) use info::Info;
pub use pick::Pick;
pub(crate) use ping::Ping;
pub(crate) use quit::Quit;
pub(crate) use sticky_del::StickyDel;
pub(crate) use sticky_get::StickyGet;

use super::frame::{write_bulk, write_error, write_error_fmt};
use super::parse::{ArgCursor, ParseError};
use numpool_core::model::Msisdn;

/// One parsed request.
pub enum Command<'a> {
    /// `PING [msg]`.
    Ping(Ping<'a>),
    /// `AUTH <key> <secret>`.
    Auth(Auth<'a>),
    /// `HELLO [proto [AUTH key secret] [SETNAME name]]`.
    Hello(Hello<'a>),
    /// `PICK …`: the hot path.
    Pick(Pick<'a>),
    /// `STICKY.GET <pool> <to>`.
    StickyGet(StickyGet<'a>),
    /// `STICKY.DEL <pool> <to>`.
    StickyDel(StickyDel<'a>),
    /// `INFO [section]`.
    Info(Info),
    /// `CLIENT …`.
    Client(Client),
    /// `QUIT`.
    Quit(Quit),
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

/// The reply to anything but PING/AUTH/HELLO/CLIENT/QUIT before `AUTH`.
pub(crate) fn write_noauth(out: &mut BytesMut) {
    write_error(out, "NOAUTH Authentication required.");
}

impl<'a> Command<'a> {
    /// Parses one request's arguments (the command name first).
    pub fn parse(args: &'a [Bytes]) -> Result<Command<'a>, CommandError<'a>> {
        let mut cursor = ArgCursor::new(args);
        let command = match cursor.command_name() {
            "ping" => Command::Ping(Ping::parse(&mut cursor)?),
            "auth" => Command::Auth(Auth::parse(&mut cursor)?),
            "hello" => Command::Hello(Hello::parse(&mut cursor)?),
            "pick" => Command::Pick(Pick::parse(&mut cursor)?),
            "sticky.get" => Command::StickyGet(StickyGet(PoolRecipient::parse(&mut cursor)?)),
            "sticky.del" => Command::StickyDel(StickyDel(PoolRecipient::parse(&mut cursor)?)),
            "info" => Command::Info(Info::parse(&mut cursor)?),
            "client" => Command::Client(Client::parse(&mut cursor)?),
            "quit" => Command::Quit(Quit::parse(&mut cursor)?),
            _ => return Err(CommandError::Unknown(cursor.raw_command_name())),
        };
        Ok(command)
    }
}

/// Whether a request needs an authenticated connection: everything but the handshake
/// commands, unknown ones included (as in Redis, an unauthenticated client learns nothing).
pub(crate) fn needs_auth(args: &[Bytes]) -> bool {
    let cursor = ArgCursor::new(args);
    !matches!(
        cursor.command_name(),
        "ping" | "auth" | "hello" | "client" | "quit"
    )
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
