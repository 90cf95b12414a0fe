//! `PING [msg]`: liveness, and the baseline of load tests.

use super::Outcome;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// A parsed `PING`.
pub(crate) struct Ping<'a> {
    /// The message to echo, if any.
    msg: Option<&'a [u8]>,
}

impl<'a> Ping<'a> {
    /// Parses `[msg]`.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        let msg = match cursor.remaining() {
            0 => None,
            _ => Some(cursor.next_bytes()?),
        };
        cursor.finish()?;
        Ok(Ping { msg })
    }

    /// `+PONG`, or the message as a bulk string (as Redis does).
    pub(crate) fn apply(self, out: &mut Reply<'_>) -> Outcome {
        match self.msg {
            None => out.simple("PONG"),
            Some(msg) => out.bulk(msg),
        }
        Outcome::Continue
    }
}
