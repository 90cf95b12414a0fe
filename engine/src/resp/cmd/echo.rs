//! `ECHO <msg>`: the message back, as Redis answers it.

use super::Outcome;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;

/// A parsed `ECHO`.
pub(crate) struct Echo<'a>(&'a [u8]);

impl<'a> Echo<'a> {
    /// Takes exactly one argument.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, ParseError> {
        if cursor.remaining() != 1 {
            return Err(cursor.wrong_arity());
        }
        Ok(Echo(cursor.next_bytes()?))
    }

    /// The message as a bulk string.
    pub(crate) fn apply(self, out: &mut Reply<'_>) -> Outcome {
        out.bulk(self.0);
        Outcome::Continue
    }
}
