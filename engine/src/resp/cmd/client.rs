//! `CLIENT <anything>`: accepted and ignored; clients send `CLIENT SETINFO` on connect.

use bytes::BytesMut;

use super::Outcome;
use crate::resp::frame::write_simple;
use crate::resp::parse::{ArgCursor, ParseError};

/// A parsed `CLIENT`.
pub(crate) struct Client;

impl Client {
    /// Takes any arguments, but at least a subcommand (as Redis does).
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        if cursor.remaining() == 0 {
            return Err(cursor.wrong_arity());
        }
        Ok(Client)
    }

    /// `+OK`.
    pub(crate) fn apply(self, out: &mut BytesMut) -> Outcome {
        write_simple(out, "OK");
        Outcome::Continue
    }
}
